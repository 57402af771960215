/**
 * Root hooks for the whole suite: an unhandled rejection or an uncaught exception would crash
 * Node-RED, so any one of them fails the test during (or after) which it happened.
 *
 * And each test file must leave behind nothing that keeps the process alive — a socket, a
 * server, a child process, a timer — since a node left running after its flow closed is such
 * a thing. `.mocharc.json`'s `exit: true` would end the run over it silently; instead an "after
 * all" hook fails after each file, naming what is left.
 *
 * Mocha swallows unhandled rejections of user code (it re-emits them with no listener of its
 * own left), and a throwing root afterEach hook would abort every test still to run; so the
 * failure is reported through the runner, as Mocha does for an error that arrives after a test
 * passed, and the run goes on. (A --parallel worker has no runner to hand: there the hook throws,
 * the rest of that file is skipped, and the run fails all the same.)
 */
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

interface Incident {
  kind: 'unhandledRejection' | 'uncaughtException';
  /** The test that was running, or had run last, when it happened. */
  during: string;
  detail: string;
}

interface FailingRunner {
  fail(test: Mocha.Runnable, err: Error): void;
}

const incidents: Incident[] = [];
const seenRejections = new WeakSet<Promise<unknown>>();
let runner: FailingRunner | undefined;
let current = '(before the first test)';

function describeError(reason: unknown): string {
  return reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : inspect(reason, { depth: 3 });
}

// Mocha re-emits each rejection once more after its own listener ran: count each promise once.
process.on('unhandledRejection', (reason: unknown, promise: Promise<unknown>) => {
  if (seenRejections.has(promise)) return;
  seenRejections.add(promise);
  incidents.push({ kind: 'unhandledRejection', during: current, detail: describeError(reason) });
});

process.on('uncaughtException', (err: unknown) => {
  incidents.push({ kind: 'uncaughtException', during: current, detail: describeError(err) });
});

function isFailingRunner(value: unknown): value is FailingRunner {
  return typeof value === 'object' && value !== null && typeof (value as { fail?: unknown }).fail === 'function';
}

function takeReport(): Error | undefined {
  if (incidents.length === 0) return undefined;
  const lines = incidents.splice(0).map((i) => `${i.kind} during "${i.during}":\n${i.detail}`);
  const err = new Error(`${lines.length} unhandled error(s) — each would crash Node-RED:\n\n${lines.join('\n\n')}`);
  err.stack = err.message; // the stacks that matter are in the message, not where the report was made
  return err;
}

/** How long a file's sockets and timers get to wind down after its last hook before it counts as a leak. */
const SETTLE_MS = 3000;

/** What keeps the process alive now, by kind: referenced handles, requests and timers (Node's own count). */
function aliveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** What there is more of than in `before`, as "2 × Timeout"; empty when nothing. */
function more(before: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [kind, n] of now) if (n > (before.get(kind) ?? 0)) out.push(`${n - (before.get(kind) ?? 0)} × ${kind}`);
  return out;
}

/** The live handles a person can recognise: sockets by their addresses, servers by port, child processes by pid. */
function handleNames(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
  return handles.filter((h) => !stdio.has(h)).map((h) => {
    const o = h as { constructor?: { name?: string }; remoteAddress?: string; remotePort?: number; localPort?: number; pid?: number; spawnfile?: string; address?: () => unknown };
    const name = o.constructor?.name ?? 'handle';
    if (o.pid !== undefined) return `${name} pid ${o.pid} (${o.spawnfile ?? '?'})`;
    if (o.remotePort !== undefined) return `${name} ${o.localPort ?? '?'} → ${o.remoteAddress ?? '?'}:${o.remotePort}`;
    if (typeof o.address === 'function') return `${name} on ${inspect(o.address())}`;
    return name;
  });
}

/** Fails, naming what is left, when more is alive than `before` once the file had SETTLE_MS to let its sockets close. */
async function checkNothingLeft(file: string, before: ReadonlyMap<string, number>): Promise<void> {
  let left = more(before, aliveResources());
  // Mocha arms the hook's own timer once the hook has returned its promise: it counts from then on.
  const withOwnTimer = new Map(before).set('Timeout', (before.get('Timeout') ?? 0) + 1);
  const deadline = Date.now() + SETTLE_MS;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = more(withOwnTimer, aliveResources());
  }
  if (left.length > 0) {
    throw new Error(`${file} left running what keeps a process alive: ${left.join(', ')}. Live handles: ${handleNames().join('; ') || 'none'}`);
  }
}

/**
 * One run of every file (no --parallel): before the first suite of each file, what is alive;
 * after its last one, whether more is. Hooks added here run after the file's own.
 */
function checkLeaksPerFile(root: Mocha.Suite): void {
  const byFile = new Map<string, Mocha.Suite[]>();
  for (const suite of root.suites) {
    const file = suite.file ?? '(unknown file)';
    byFile.set(file, [...(byFile.get(file) ?? []), suite]);
  }
  for (const [file, suites] of byFile) {
    let before = new Map<string, number>();
    suites[0]!.beforeAll(() => {
      before = aliveResources();
    });
    suites.at(-1)!.afterAll(async function (this: Mocha.Context) {
      this.timeout(SETTLE_MS + 2000);
      await checkNothingLeft(file, before);
    });
  }
}

/**
 * Mocha runs global setup fixtures with the runner as `this`, after loading every file — in the
 * main process only: with --parallel, each file runs in a worker as a run of its own, and the
 * root hooks below check it (`runner` stays unset there).
 */
export function mochaGlobalSetup(this: unknown): void {
  if (!isFailingRunner(this)) return;
  runner = this;
  const root = (this as { suite?: Mocha.Suite }).suite;
  if (root) checkLeaksPerFile(root);
}

/** In a --parallel worker: what was alive before the file began, and the file. */
let workerFile: { file: string; before: Map<string, number> } | undefined;

export const mochaHooks: Mocha.RootHookObject = {
  beforeAll(this: Mocha.Context) {
    if (runner !== undefined) return;
    const file = this.test?.parent?.suites[0]?.file ?? '(unknown file)';
    workerFile = { file, before: aliveResources() };
  },
  beforeEach(this: Mocha.Context) {
    current = this.currentTest?.fullTitle() ?? '(unknown test)';
  },
  afterEach(this: Mocha.Context) {
    const report = takeReport();
    if (report === undefined) return;
    const test = this.currentTest;
    // Mocha has already failed a test during which an exception was thrown: say more, once.
    if (test?.isFailed()) {
      process.stderr.write(`\n${report.message}\n`);
      return;
    }
    if (runner && test) runner.fail(test, report);
    else throw report;
  },
  async afterAll(this: Mocha.Context) {
    const report = takeReport();
    if (report) throw report;
    if (workerFile === undefined) return;
    const { file, before } = workerFile;
    workerFile = undefined;
    this.timeout(SETTLE_MS + 2000);
    await checkNothingLeft(file, before);
  },
};
