import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers one download of a recording link; `res` is the test's to fill, as slowly as it likes. */
export type Serve = (res: http.ServerResponse) => void;

/**
 * An HTTP front for the simulator, standing where the platform would be: every request goes
 * through to the simulator, except the downloads of recording links (`GET /temp/...`), which
 * the test answers itself — 200 MB, slow or stalled, what the simulator's small files are not.
 * The client links to it as to the platform (user mode: login and link over REST), so the
 * download takes the same path as in production.
 */
export class RecordingFront {
  /** Downloads answered by `serve` so far. */
  downloads = 0;
  url = '';
  private readonly agent = new http.Agent({ keepAlive: false });
  private readonly server: http.Server;

  constructor(
    private readonly upstream: string,
    private readonly serve: Serve,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url?.startsWith('/temp/')) {
      this.downloads++;
      this.serve(res);
      return;
    }
    const target = new URL(req.url ?? '/', this.upstream);
    const forward = http.request(target, { method: req.method, headers: req.headers, agent: this.agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  }
}

/** What was sent: its length and SHA-256, to compare with what arrived. */
export interface Sent {
  bytes: number;
  sha256: string;
}

/**
 * Serves `chunks` blocks of 64 KiB (each after an 8-byte counter, so order matters to the
 * checksum) as fast as the reader takes them and no faster: the server holds one block.
 */
export function serveLarge(chunks: number, done: (sent: Sent) => void): Serve {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  return (res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let i = 0;
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(chunks * (8 + block.length)) });
    const pump = (): void => {
      while (i < chunks) {
        const counter = Buffer.alloc(8);
        counter.writeBigUInt64BE(BigInt(i++));
        hash.update(counter).update(block);
        bytes += counter.length + block.length;
        res.write(counter);
        if (!res.write(block)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
      done({ bytes, sha256: hash.digest('hex') });
    };
    pump();
  };
}

/**
 * Sends `count` small pieces `everyMs` apart, then ends, or with `stall` stops sending and
 * keeps the connection open, as a link that hangs does. The timers go when the connection does.
 */
export function serveTrickle(count: number, everyMs: number, opts: { stall?: boolean } = {}): Serve {
  return (res) => {
    res.writeHead(200, { 'content-type': 'audio/mpeg' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < count) {
        res.write(Buffer.from(`piece ${sent++};`));
        return;
      }
      clearInterval(timer);
      if (!opts.stall) res.end();
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** The bytes serveTrickle(count, …) sends. */
export function trickled(count: number): string {
  return Array.from({ length: count }, (_, i) => `piece ${i};`).join('');
}
