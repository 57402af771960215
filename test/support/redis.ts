/**
 * A real Redis for tests and benchmarks: Debian's redis-server on a free loopback port, without
 * persistence, stopped (and restartable on the same port) on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';
/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every common build. */
const CLOCK_TICKS_PER_SECOND = 100;

/** A free TCP port on loopback (free when asked: bind it soon). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisOptions {
  /** Clients must AUTH with it (requirepass). */
  password?: string;
  /** TLS only, with this certificate and key (PEM files); clients show none. */
  tls?: { cert: string; key: string };
}

export class RedisServer {
  private proc: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly options: RedisOptions,
  ) {}

  /** rediss:// with `tls` (by the name its certificate carries), else redis://. */
  get url(): string {
    return this.options.tls ? `rediss://localhost:${this.port}/0` : `redis://127.0.0.1:${this.port}/0`;
  }

  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    if (!fs.existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`);
    const server = new RedisServer(await freePort(), options);
    await server.launch();
    return server;
  }

  /** Starts it again on the same port (after stop()). */
  async launch(): Promise<void> {
    const { password, tls } = this.options;
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
    args.push(...(tls ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-auth-clients', 'no'] : ['--port', String(this.port)]));
    if (password !== undefined) args.push('--requirepass', password);
    const proc = spawn(REDIS_SERVER, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output}`);
      if (await accepts(this.port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${this.port} within 10 s: ${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** CPU time (user + system) the server has used so far, µs, from /proc (Linux; 10 ms steps). */
  cpuUs(): number {
    const stat = fs.readFileSync(`/proc/${this.proc!.pid}/stat`, 'utf8');
    // After the command name in parentheses: utime and stime are the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  }

  /** Stops it at once (SIGKILL: nothing of it is kept) and waits for the process to end. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
