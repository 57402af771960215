/**
 * Root hooks for the whole suite: an unhandled rejection or an uncaught exception would crash
 * Node-RED, so any one of them fails the test during (or after) which it happened.
 *
 * Mocha swallows unhandled rejections of user code (it re-emits them with no listener of its
 * own left), and a throwing root afterEach hook would abort every test still to run; so the
 * failure is reported through the runner, as Mocha does for an error that arrives after a test
 * passed, and the run goes on.
 */
import { inspect } from 'node:util';

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

/** Mocha runs global setup fixtures with the runner as `this`. */
export function mochaGlobalSetup(this: unknown): void {
  if (isFailingRunner(this)) runner = this;
}

export const mochaHooks: Mocha.RootHookObject = {
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
  afterAll() {
    const report = takeReport();
    if (report) throw report;
  },
};
