/**
 * A TCP proxy in front of a real server, for faults the server itself cannot make: every chunk
 * held for a while (a slow link), everything held until released (a server that stopped
 * answering, then answers late), or the port closed and every connection cut (a network
 * outage) until restored.
 */
import net from 'node:net';

export interface ProxyOptions {
  /** Each chunk, either way, is passed on this many ms after it arrived (order kept). */
  delayMs?: number;
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Chunks held by hold(), in order, until release(). */
  private held: Array<() => void> | undefined;

  /** The port it listens on (the same after a cut and restore). */
  port = 0;

  private constructor(
    private readonly targetPort: number,
    private readonly options: ProxyOptions,
  ) {}

  static async start(targetPort: number, options: ProxyOptions = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, options);
    proxy.port = await proxy.listen(0);
    return proxy;
  }

  /** Passes nothing on (connections stay open) until release(). */
  hold(): void {
    this.held ??= [];
  }

  /** Passes on what was held, in order, and everything after it. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const write of held) write();
  }

  /** Closes the port and cuts every connection, as a network outage would. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Opens the port again after a cut. */
  async restore(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.cut();
  }

  private listen(port: number): Promise<number> {
    const server = net.createServer((client) => this.connect(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk: Buffer) => {
      const write = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (this.held !== undefined) {
        this.held.push(write);
        return;
      }
      const delay = this.options.delayMs ?? 0;
      if (delay === 0) {
        write();
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        write();
      }, delay);
      this.timers.add(timer);
    });
  }
}
