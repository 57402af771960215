/** Helpers of the fault tests: waiting for a flow to go quiet, counting TCP connections. */
import net from 'node:net';
import type { Inbox } from '../support/red';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `inbox` has received nothing new for `quietMs` (rejects after `timeoutMs`). */
export async function quiet(inbox: Inbox, quietMs: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = inbox.messages.length;
    await sleep(quietMs);
    if (inbox.messages.length === seen) return;
    if (Date.now() > deadline) throw new Error(`the flow did not go quiet within ${timeoutMs} ms`);
  }
}

/** A TCP relay in front of a server that counts the connections open through it. */
export class CountingRelay {
  private readonly server = net.createServer((client) => this.relay(client));
  private readonly open = new Set<net.Socket>();
  url = '';

  constructor(private readonly targetPort: number) {}

  /** Connections from the client side still open. */
  get connections(): number {
    return this.open.size;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    this.open.add(client);
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => {
      this.open.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
