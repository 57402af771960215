/**
 * Runs the compatibility report: one EraClient with a recorder for an observer, driven through
 * its public API, step by step. Nothing here speaks the protocol: what the client sends is what
 * a deployed flow would send, and the report only watches and describes it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EraClient, type EraClientOptions, type EraEvent, MAX_TIMER_MS } from '../era';
import { CallOrders } from './call-order';
import { callListStep, testCallStep } from './calls';
import { connectionInfoStep } from './connection-info';
import { openSocket, setupStep, socketLoginStep, subscribeStep, upgradeStep, type SocketOutcome } from './connection';
import { message, result, type CheckContext, type StepResult } from './context';
import { EventShapes, listenStep } from './listen';
import { loginStep } from './login';
import { Recorder } from './recorder';
import { outcomeOf, STEP_NAMES, type Report, type Step, type StepName } from './report';
import { makeScrub, scrubReport, type Scrub } from './scrub';
import { tlsStep } from './tls';

export interface CheckOptions {
  /** The client's settings: URL, credentials, TLS, timeouts. The observer and logger are the report's own. */
  client: EraClientOptions;
  /** How long to listen for pushes. */
  listenSeconds: number;
  /** Place a call (and hang it up): only when the user asked for it. */
  testCall?: { to: string; from: string };
}

export const DEFAULT_LISTEN_SECONDS = 30;

/**
 * The report takes the platform's first answer at each step: its client does not reconnect
 * while the report runs, and lets the socket go at once when the listener leaves.
 */
const ONE_TRY: Partial<EraClientOptions> = { reconnectMinMs: 600_000, reconnectMaxMs: 600_000, socketLingerMs: 0 };
const DEFAULT_TIMEOUT_MS = 10_000;
/** The connection's steps (upgrade, setup, login) each take at most one timeout; this bounds them all. */
const CONNECT_TIMEOUTS = 5;
/** A test call placed while listening rings for half the window, at most this long, then is hung up. */
const TEST_CALL_RING_MAX_MS = 15_000;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The steps as they are decided; a step that throws is a failing step, never an exception. */
class StepList {
  readonly steps: Step[] = [];

  constructor(
    private readonly scrub: Scrub,
    private readonly wanted: readonly StepName[],
  ) {}

  add(name: StepName, step: StepResult): StepResult {
    this.steps.push({ name, ...step });
    return step;
  }

  async run(name: StepName, step: () => StepResult | Promise<StepResult>): Promise<StepResult> {
    let outcome: StepResult;
    try {
      outcome = await step();
    } catch (err) {
      outcome = result('fail', `unexpected: ${this.scrub.words(message(err))}`);
    }
    return this.add(name, outcome);
  }

  /** Every wanted step not decided yet, up to `until` (or to the end), is skipped for `why`. */
  skipRest(why: string, until?: StepName): void {
    const done = new Set(this.steps.map((s) => s.name));
    const end = until === undefined ? this.wanted.length : this.wanted.indexOf(until) + 1;
    for (const name of this.wanted.slice(0, end)) if (!done.has(name)) this.add(name, result('skipped', why));
  }

  /** The steps in the report's order, whatever order they were decided in. */
  inOrder(): Step[] {
    return [...this.steps].sort((a, b) => STEP_NAMES.indexOf(a.name) - STEP_NAMES.indexOf(b.name));
  }

  /** The first step not decided yet fails for `why`; the rest are skipped. */
  failRest(why: string): void {
    const done = new Set(this.steps.map((s) => s.name));
    const next = this.wanted.find((name) => !done.has(name));
    if (next !== undefined) this.add(next, result('fail', why));
    this.skipRest('an earlier step failed');
  }
}

function failed(step: StepResult): boolean {
  return step.status === 'fail';
}

/**
 * upgrade → setup → socket login → connection_info → subscribe → listen → the calls' order,
 * with the test call during the listen.
 */
async function socketSteps(ctx: CheckContext, list: StepList, options: CheckOptions): Promise<Promise<StepResult> | undefined> {
  const shapes = new EventShapes();
  const orders = new CallOrders();
  const onEvent = (ev: EraEvent): void => {
    shapes.add(ev);
    orders.add(ev);
  };
  const { handle, outcome: pending } = openSocket(ctx.client, onEvent, CONNECT_TIMEOUTS * ctx.timeoutMs);
  try {
    const outcome: SocketOutcome = await pending;
    const chain: Array<[StepName, () => StepResult]> = [
      ['upgrade', () => upgradeStep(ctx, outcome)],
      ['setup', () => setupStep(ctx, outcome)],
      ['socket-login', () => socketLoginStep(ctx, outcome)],
    ];
    for (const [name, step] of chain) {
      if (failed(await list.run(name, step)) && !outcome.connected) {
        list.skipRest(`${name} failed`, 'call-order');
        return undefined;
      }
    }
    if (!outcome.connected) {
      list.add('connection-info', result('fail', `the connection did not come up: ${ctx.scrub.words(outcome.detail)}`));
      list.skipRest('no connection', 'call-order');
      return undefined;
    }
    await list.run('connection-info', () => connectionInfoStep(ctx));
    const subscribed = await list.run('subscribe', () => subscribeStep(ctx));
    if (subscribed.status === 'skipped' || failed(subscribed)) {
      list.skipRest('no subscription', 'call-order');
      return undefined;
    }
    const ringMs = Math.min(TEST_CALL_RING_MAX_MS, (options.listenSeconds * 1000) / 2);
    const call = options.testCall && testCallStep(ctx, options.testCall, ringMs);
    await list.run('listen', () => listenStep(ctx, shapes, options.listenSeconds));
    await list.run('call-order', () => orders.step());
    return call;
  } finally {
    handle?.close();
  }
}

async function clientSteps(client: EraClient, ctx: CheckContext, list: StepList, options: CheckOptions, origin: URL): Promise<void> {
  if (failed(await list.run('tls', () => tlsStep(origin, client.tlsSettings, ctx.timeoutMs)))) {
    list.skipRest('no TLS connection');
    return;
  }
  if (failed(await list.run('login', () => loginStep(ctx)))) {
    list.skipRest('login failed');
    return;
  }
  const call = await socketSteps(ctx, list, options);
  if (client.state === 'auth_failed') {
    // A call placed while listening is still hung up (its step says how that went).
    if (call !== undefined) await list.run('test-call', () => call);
    list.skipRest('authentication failed');
    return;
  }
  await list.run('call-list', () => callListStep(ctx));
  const { testCall } = options;
  if (testCall !== undefined) await list.run('test-call', () => call ?? testCallStep(ctx, testCall, 0));
}

function parsedUrl(url: unknown): URL | undefined {
  try {
    return new URL(String(url).trim());
  } catch {
    return undefined;
  }
}

function finished(o: Pick<EraClientOptions, 'authMode'>, origin: URL | undefined, options: Pick<CheckOptions, 'listenSeconds' | 'testCall'>, list: StepList, scrub: Scrub): Report {
  const scheme = origin?.protocol === 'https:' ? 'https' : origin?.protocol === 'http:' ? 'http' : 'unknown';
  const report: Report = {
    version: packageVersion(),
    target: { scheme, host: origin !== undefined && scheme !== 'unknown' ? origin.host : '', authMode: o.authMode === 'token' ? 'token' : 'user' },
    listenSeconds: options.listenSeconds,
    testCall: options.testCall !== undefined,
    steps: list.inOrder(),
    outcome: outcomeOf(list.steps),
  };
  return scrubReport(report, scrub);
}

function wantedSteps(options: Pick<CheckOptions, 'testCall'>): readonly StepName[] {
  return options.testCall ? STEP_NAMES : STEP_NAMES.filter((name) => name !== 'test-call');
}

/** The report for settings that could not even be put together (`why`, in words without secrets). */
export function unusableSettingsReport(target: Pick<EraClientOptions, 'url' | 'authMode'>, why: string, listenSeconds: number): Report {
  const origin = parsedUrl(target.url);
  const scrub = makeScrub({ host: origin?.host });
  const list = new StepList(scrub, wantedSteps({}));
  list.add('config', result('fail', scrub.words(why)));
  list.skipRest('the settings cannot be used');
  return finished(target, origin, { listenSeconds }, list, scrub);
}

/** The report. Never throws: whatever goes wrong is a failing step. */
export async function runReport(options: CheckOptions): Promise<Report> {
  const o = options.client;
  const authMode = o.authMode === 'token' ? 'token' : 'user';
  const origin = parsedUrl(o.url);
  const scrub = makeScrub({ password: o.password, token: o.token, login: o.login, domain: o.domain, host: origin?.host });
  const list = new StepList(scrub, wantedSteps(options));
  const recorder = new Recorder();
  let client: EraClient | undefined;
  try {
    client = new EraClient({ ...o, ...ONE_TRY, observer: recorder });
  } catch (err) {
    list.add('config', result('fail', scrub.words(message(err))));
    list.skipRest('the settings cannot be used');
  }
  if (client !== undefined && origin !== undefined) {
    const scheme = origin.protocol === 'https:' ? 'https' : 'http';
    list.add('config', result('pass', `${scheme} URL, ${authMode === 'user' ? 'user login and password' : 'integration point token'}`));
    // As the client shortens a timeout no timer can wait (the connection's steps wait five of them).
    const timeoutMs = Math.min(o.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS, Math.floor(MAX_TIMER_MS / CONNECT_TIMEOUTS));
    const ctx: CheckContext = { client, recorder, scrub, authMode, timeoutMs };
    try {
      await clientSteps(client, ctx, list, options, origin);
    } catch (err) {
      list.failRest(`unexpected: ${scrub.words(message(err))}`);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return finished(o, origin, options, list, scrub);
}
