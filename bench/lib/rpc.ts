/**
 * Request/reply over a forked child's IPC channel, both ways round: a bench process serves
 * named handlers, the orchestrator calls them. Results and errors travel as JSON.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

type Handler = (args: any) => unknown;

interface Request {
  rpc: number;
  name: string;
  args: unknown;
}

interface Reply {
  rpc: number;
  result?: unknown;
  error?: string;
}

/** In a child: answers the parent's calls with `handlers`. Exits when the parent goes away. */
export function serve(handlers: Record<string, Handler>): void {
  if (!process.send) throw new Error('a bench process must be started by bench/run.ts (it needs an IPC channel)');
  // tsx (which loads the bench's own .ts files) switches source-mapped stack traces on; a
  // plain Node-RED has them off, and with them every Error undici or Node-RED makes costs
  // tens of µs more. Off, as in production.
  process.setSourceMapsEnabled(false);
  const reply = (msg: Reply): void => {
    process.send!(msg);
  };
  process.on('message', (raw: unknown) => {
    const req = raw as Request;
    const handler = handlers[req.name];
    if (!handler) {
      reply({ rpc: req.rpc, error: `unknown call ${req.name}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(req.args))
      .then(
        (result) => reply({ rpc: req.rpc, result }),
        (err: unknown) => reply({ rpc: req.rpc, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

export interface ForkOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
}

/** A bench process started from bench/procs/, and the calls it serves. */
export class Child {
  private readonly proc: ChildProcess;
  private next = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly exited: Promise<number | null>;

  constructor(script: string, options: ForkOptions = {}) {
    this.proc = fork(path.join(__dirname, '..', 'procs', script), [], {
      execArgv: ['--require', 'tsx/cjs', '--expose-gc', ...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env },
      // The child's stdout (Node-RED logs there) goes to our stderr, keeping our stdout for the tables.
      stdio: ['ignore', process.stderr, 'inherit', 'ipc'],
    });
    this.proc.on('message', (raw: unknown) => {
      const msg = raw as Reply;
      const p = this.pending.get(msg.rpc);
      if (!p) return;
      this.pending.delete(msg.rpc);
      if (msg.error !== undefined) p.reject(new Error(`${script}: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`${script} exited (code ${code}) before answering`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  call<T = unknown>(name: string, args: unknown = {}): Promise<T> {
    const rpc = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ rpc, name, args } satisfies Request);
    });
  }

  /** Ends the child by closing its IPC channel (it exits on 'disconnect'), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const cut = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    if (this.proc.connected) this.proc.disconnect();
    await this.exited;
    clearTimeout(cut);
  }
}
