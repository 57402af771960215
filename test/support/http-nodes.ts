/**
 * Routes of HTTP nodes (`http in`, era-webhook) live on the runtime's node app, which the test
 * helper's own server does not serve: a front server of the test's makes them reachable.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let nodeApp: Handler | undefined;

/** Given to helper.load() as a node module: it only keeps the runtime's HTTP-node app. */
export function captureNodeApp(RED: { httpNode: Handler }): void {
  nodeApp = RED.httpNode;
}

/** The runtime is stopping: its app must not answer any more. */
export function forgetNodeApp(): void {
  nodeApp = undefined;
}

export interface NodeFront {
  /** `http://127.0.0.1:<port>`, where the HTTP nodes' paths answer. */
  base: string;
  close(): Promise<void>;
}

/** A server that hands every request to the captured node app (503 while there is none). */
export async function startNodeFront(): Promise<NodeFront> {
  const server = http.createServer((req, res) => (nodeApp ? nodeApp(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
