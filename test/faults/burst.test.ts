/**
 * 1,000 actions fired at once while the platform misbehaves (requests that never get an
 * answer, 503s, a restart in the middle): every message ends once, in an output or a clear
 * error; as many succeed as the injected faults allow, and what the flow was told agrees with
 * what the platform did; nothing hangs and nothing is rejected unhandled.
 */
import assert from 'node:assert/strict';
import { errorOf } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

const N = 1000;
const HANGS = 5;
const FAILURES_503 = 50;
/**
 * At most one request per connection of the client's REST pool (16, src/era/rest.ts; one
 * request at a time on each) can be in flight when the restart cuts them: only those can have
 * been carried out by the platform while the flow was told ERA_NOT_CONNECTED.
 */
const POOL_CONNECTIONS = 16;

type Msg = Record<string, unknown>;

/** Each action's message for the i-th of the burst; `calls` are answered calls shared by all but hangup. */
interface Targets {
  calls: string[];
  /** One call per hangup message, so that no action of the burst meets a call another one ended. */
  hangups: Map<number, string>;
}

const ACTIONS: Array<{ node: FlowNode; msg(t: Targets, i: number): Record<string, unknown> }> = [
  { node: { id: 'a-hold', type: 'era-hold', action: 'hold' }, msg: (t, i) => ({ connectionId: shared(t, i) }) },
  { node: { id: 'a-dtmf', type: 'era-dtmf' }, msg: (t, i) => ({ connectionId: shared(t, i), payload: '12#' }) },
  { node: { id: 'a-hangup', type: 'era-hangup' }, msg: (t, i) => ({ connectionId: t.hangups.get(i) }) },
  { node: { id: 'a-dial', type: 'era-dial', from: '101', fromType: 'str' }, msg: (_t, i) => ({ payload: dialled(i) }) },
  { node: { id: 'a-get', type: 'era-calls', mode: 'get' }, msg: (t, i) => ({ connectionId: shared(t, i) }) },
  { node: { id: 'a-call', type: 'era-call' }, msg: (t, i) => ({ connectionId: shared(t, i) }) },
];

const actionOf = (i: number) => ACTIONS[i % ACTIONS.length]!;
const shared = (t: Targets, i: number) => t.calls[i % t.calls.length]!;
const dialled = (i: number) => `+7999${2_000_000 + i}`;

describe('faults: 1,000 actions at once against a failing platform', function () {
  this.timeout(40_000);
  let sim: Simulator;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('ends every one of them once, as many succeed as the faults allow, and each outcome is what the platform did', async function () {
    await load([
      { id: 'tab', type: 'tab' },
      // A request's timeout runs from the moment it is queued: 10 s, so that a slow machine
      // working through the queue never turns a good request into ERA_TIMEOUT.
      // An id of its own: a redeployed era-server hands its live calls (and their gap fill's
      // requests) to the next one with its id, and no request but the burst's may meet a fault.
      serverNode(sim, { id: 'burst-srv', requestTimeout: 10 }),
      ...ACTIONS.map(({ node }) => ({ ...node, z: 'tab', server: 'burst-srv', wires: [['sink']] })),
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['sink']] },
      { id: 'sink', z: 'tab', type: 'helper' },
    ], { 'burst-srv': USER_CREDENTIALS.srv });
    const sink = new Inbox('sink');
    const targets: Targets = {
      calls: Array.from({ length: 50 }, (_, i) => sim.startCall({ from: `+7999${3_000_000 + i}`, to: '101', answer: true }).id),
      hangups: new Map(),
    };
    for (let i = 0; i < N; i++) {
      if (actionOf(i).node.id === 'a-hangup') targets.hangups.set(i, sim.startCall({ from: `+7999${4_000_000 + i}`, to: '101', answer: true }).id);
    }
    // Logged in and subscribed (era-call keeps the call table fed) before the faults start,
    // so that they hit the actions and nothing else.
    helper.getNode('a-get').receive({ i: 'warm-up' });
    await sink.count(1);
    assert.equal(sink.messages[0]!.error, undefined, 'the warm-up worked');
    await eventually(() => sim.subscriptions().length > 0, 5000, 'the call table subscribed');
    sink.messages.length = 0;
    sim.setFaults({ restHang: { count: HANGS }, restStatus: { status: 503, count: FAILURES_503, body: 'overloaded' } });

    for (let i = 0; i < N; i++) helper.getNode(actionOf(i).node.id).receive({ ...actionOf(i).msg(targets, i), i });
    // A restart once the burst is well under way: what is in flight or queued then fails, the rest goes on.
    await sink.count(N / 3, 20_000);
    const endedBeforeRestart = sink.messages.length;
    await sim.restart({ downMs: 200 });
    await sink.count(N, 20_000);
    await new Promise((r) => setTimeout(r, 200));

    const seen = new Map<unknown, number>();
    for (const m of sink.messages) seen.set(m.i, (seen.get(m.i) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
    assert.deepEqual(twice, [], 'no message ended twice');
    assert.equal(seen.size, N, 'every message ended');

    const codes = new Map<string, number>();
    for (const m of sink.messages.filter((x) => x.error !== undefined)) {
      const { code, message } = errorOf(m);
      assert.ok(message && message.length < 600, `a short reason: ${String(message).slice(0, 100)}`);
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
    }
    const count = (code: string) => codes.get(code) ?? 0;
    const failures = JSON.stringify([...codes]);
    // Each 503 fails exactly one message: they are the first answers of the burst, all read
    // long before the restart. No action meets a call another one ended: no ERA_NOT_FOUND.
    assert.equal(count('ERA_HTTP'), FAILURES_503, `failures: ${failures}`);
    // A hung request ends in ERA_TIMEOUT, or in ERA_NOT_CONNECTED when the restart cuts it first.
    assert.ok(count('ERA_TIMEOUT') <= HANGS, `failures: ${failures}`);
    assert.deepEqual([...codes.keys()].filter((c) => !['ERA_HTTP', 'ERA_TIMEOUT', 'ERA_NOT_CONNECTED'].includes(c)), [], `failures: ${failures}`);
    assert.ok(count('ERA_NOT_CONNECTED') > 0, `the restart cut something: ${failures}`);

    // Until the restart, only the injected faults fail a message.
    const before = sink.messages.slice(0, endedBeforeRestart);
    const unexpected = before.filter((m) => m.error !== undefined && !['ERA_HTTP', 'ERA_TIMEOUT'].includes(String(errorOf(m).code)));
    assert.deepEqual(unexpected.map((m) => errorOf(m).message), [], 'nothing but an injected fault failed before the restart');
    // So: the 55 injected faults fail exactly 55 messages, and the restart can fail only what
    // had not ended when it began; every other message succeeds.
    const succeeded = sink.messages.filter((m) => m.error === undefined).length;
    const atMost = N - FAILURES_503 - HANGS;
    const atLeast = endedBeforeRestart - FAILURES_503 - HANGS;
    assert.ok(succeeded >= atLeast && succeeded <= atMost, `${succeeded} succeeded; expected ${atLeast}..${atMost} (${endedBeforeRestart} ended before the restart; failures: ${failures})`);

    agreesWithPlatform(sim, sink.messages, targets);

    sim.clearFaults();
    const fresh = sim.startCall({ from: '+79990004444', to: '101', answer: true });
    helper.getNode('a-hangup').receive({ connectionId: fresh.id, i: 'after' });
    await sink.until((m) => m.some((x) => x.i === 'after'), 5000, 'a hangup after the burst');
    assert.equal(sink.messages.find((x) => x.i === 'after')!.error, undefined, 'the flow still works');
  });
});

/**
 * Dials and hangups leave a trace at the platform: a success was carried out once, a 503 or a
 * timeout not at all; an ERA_NOT_CONNECTED may have been carried out only when its answer was
 * cut by the restart.
 */
function agreesWithPlatform(sim: Simulator, msgs: Msg[], targets: Targets): void {
  const dials = new Map<string, number>();
  for (const c of sim.listCalls()) dials.set(c.tonum, (dials.get(c.tonum) ?? 0) + 1);
  const wrong: string[] = [];
  let cutAfterDone = 0;
  for (const m of msgs) {
    const i = Number(m.i);
    const id = actionOf(i).node.id;
    let done: number;
    if (id === 'a-dial') done = dials.get(dialled(i)) ?? 0;
    else if (id === 'a-hangup') done = sim.getCall(targets.hangups.get(i)!).state === 'ended' ? 1 : 0;
    else continue;
    const code = m.error === undefined ? 'ok' : String(errorOf(m).code);
    const allowed = code === 'ok' ? [1] : code === 'ERA_NOT_CONNECTED' ? [0, 1] : [0];
    if (!allowed.includes(done)) wrong.push(`${id} #${i}: told ${code}, carried out ${done} time(s)`);
    if (code === 'ERA_NOT_CONNECTED' && done === 1) cutAfterDone++;
  }
  assert.deepEqual(wrong, [], 'the flow was told what the platform did');
  assert.ok(cutAfterDone <= POOL_CONNECTIONS, `${cutAfterDone} requests carried out but reported not connected`);
}
