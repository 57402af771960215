// The parts of node-red-node-test-helper the tests use (the package ships no types).
declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';

  interface TestNode extends EventEmitter {
    id: string;
    type: string;
    receive(msg: Record<string, unknown>): void;
    [key: string]: unknown;
  }

  interface Helper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    startServer(done: () => void): void;
    stopServer(done: () => void): void;
    load(nodes: unknown, flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    clearFlows(): Promise<void>;
    setFlows(flow: unknown[], type: 'full' | 'flows' | 'nodes', credentials?: Record<string, unknown>): Promise<void>;
    request(): {
      post(path: string): { send(body: unknown): Promise<{ status: number; body: unknown }> };
      get(path: string): Promise<{ status: number; body: unknown }>;
    };
    log(): { args: unknown[][]; getCalls(): Array<{ args: unknown[] }> };
    settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
  }

  const helper: Helper;
  export = helper;
}

declare module '@node-red/util' {
  import type { EventEmitter } from 'node:events';
  export const events: EventEmitter;
  /** Every runtime log record (any level) is emitted as 'log' on each handler. */
  export const log: { addHandler(handler: EventEmitter): void; removeHandler(handler: EventEmitter): void };
}
