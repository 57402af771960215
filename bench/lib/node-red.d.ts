// The parts of Node-RED's embedding API the benchmarks use (the package ships no types).
declare module 'node-red' {
  import type { Server } from 'node:http';

  type Message = Record<string, unknown>;

  interface RuntimeNode {
    id: string;
    type: string;
    on(event: 'input', handler: (msg: Message, send: (msg: Message) => void, done: (err?: Error) => void) => void): void;
    receive(msg: Message): void;
    [property: string]: unknown;
  }

  const RED: {
    events: import('node:events').EventEmitter;
    init(server: Server, settings: Record<string, unknown>): void;
    /** The HTTP nodes' express app. */
    httpNode: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
    start(): Promise<void>;
    stop(): Promise<void>;
    nodes: { getNode(id: string): RuntimeNode | null };
    runtime: {
      flows: {
        setFlows(opts: { flows: { flows: unknown[]; credentials?: Record<string, unknown> } }): Promise<{ rev: string }>;
      };
    };
  };
  export = RED;
}
