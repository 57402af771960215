// The slice of Node-RED's runtime API these nodes use. Written here rather than taken from
// @types/node-red, which pulls express and a dozen other type packages into the build.

export type NodeMessage = Record<string, unknown> & { _msgid?: string };

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFn = (msg: NodeMessage | null | Array<NodeMessage | null>) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [property: string]: unknown;
}

export interface RedNode {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', handler: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  send: SendFn;
  status(status: NodeStatus): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
  debug(message: unknown): void;
  trace(message: unknown): void;
}

export interface HttpRequest {
  body: unknown;
}

export interface HttpResponse {
  json(body: unknown): void;
  status(code: number): HttpResponse;
}

type Handler = (req: HttpRequest, res: HttpResponse, next: () => void) => void;

export interface RedApi {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(
      type: string,
      ctor: Function,
      options?: { credentials?: Record<string, { type: 'text' | 'password' }> },
    ): void;
    getNode(id: string): unknown;
    getCredentials?(id: string): Record<string, string | undefined> | undefined;
  };
  util: {
    /** With a callback: answers through it (a context store may answer later). Without: returns the value, or throws. */
    evaluateNodeProperty(
      value: unknown,
      type: string,
      node: RedNode,
      msg: NodeMessage,
      callback: (err: Error | null, result: unknown) => void,
    ): void;
    evaluateNodeProperty(value: unknown, type: string, node: RedNode, msg: NodeMessage): unknown;
  };
  httpAdmin: { post(path: string, ...handlers: Handler[]): void };
  /** The runtime's settings (settings.js); only what these nodes read. */
  settings: { readonly fileWorkingDirectory?: unknown; readonly httpNodeRoot?: unknown };
  auth: { needsPermission(permission: string): Handler };
  /** The runtime's events; `runtime-event` says when flows stopped, and whether for a deploy. */
  events: { on(event: 'runtime-event', listener: (event: RuntimeEvent) => void): void };
  _(key: string, substitutions?: Record<string, unknown>): string;
}

export interface RuntimeEvent {
  id?: string;
  payload?: { state?: string; deploy?: boolean };
}
