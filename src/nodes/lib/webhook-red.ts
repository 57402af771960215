/**
 * The part of Node-RED's runtime an era-webhook touches beyond what every node uses (red.ts):
 * the HTTP nodes' express app as the core `http in` node uses it, the settings that shape how
 * HTTP nodes are served, the runtime's `flows:started` event and the deployed flow's definitions.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeDef, RedApi } from './red';

/** A request as express hands it on: body parsers mark one they read with `_body` and leave the result in `body`. */
export interface HttpRequest extends IncomingMessage {
  _body?: boolean;
  body?: unknown;
}

export type Next = (err?: unknown) => void;
export type Middleware = (req: HttpRequest, res: ServerResponse, next: Next) => void;
export type ErrorMiddleware = (err: unknown, req: HttpRequest, res: ServerResponse, next: Next) => void;

/** One layer of an express router's stack: a route (with its handlers) or a middleware. */
export interface RouterLayer {
  handle?: unknown;
  route?: { path: unknown; methods: Record<string, boolean | undefined>; stack: Array<{ handle: unknown }> };
  /** Whether the layer's path pattern matches a path (express 4 and 5). */
  match?(path: string): boolean;
}

/** An express application: Node-RED's HTTP-nodes app, or the root app it is mounted on. */
export interface ExpressApp {
  post(path: string, ...handlers: Array<Middleware | ErrorMiddleware>): unknown;
  use(handler: Middleware): unknown;
  /** The path the app is mounted at, through its parents ('' for a root app). */
  path?(): string;
  parent?: ExpressApp;
  /** express 4. */
  _router?: { stack: RouterLayer[] };
  /** express 5 (a getter that express 4 makes throw). */
  router?: { stack: RouterLayer[] };
}

export type WebhookRed = RedApi & {
  httpNode: ExpressApp;
  /** The editor's admin app, where nodes add their editor endpoints; mounted (a `parent`) only when Node-RED serves it. */
  httpAdmin: ExpressApp;
  settings: { readonly httpNodeRoot?: unknown; readonly httpNodeMiddleware?: unknown };
  events: {
    /** `flows:started` and `flows:stopping` carry the active configuration (a new object at every deploy). */
    on(event: 'flows:started' | 'flows:stopping', listener: (event?: { config?: unknown }) => void): void;
    removeListener(event: 'flows:started', listener: () => void): void;
  };
  nodes: {
    /** Every node of the deployed flows — during a deploy's stop, already the new ones. */
    eachNode(callback: (def: NodeDef) => void): void;
  };
};

/** The same runtime API, seen with the members red.ts leaves out (Node-RED has them all). */
export function webhookRed(RED: RedApi): WebhookRed {
  return RED as WebhookRed;
}
