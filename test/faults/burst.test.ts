/**
 * 1,000 actions fired at once while the platform misbehaves (requests that never get an
 * answer, 503s, a restart in the middle): every message ends once, in an output or a clear
 * error, in bounded time; nothing hangs and nothing is rejected unhandled.
 */
import assert from 'node:assert/strict';
import { errorOf } from '../support/flows';
import { helper, Inbox, load, serverNode, startRed, stopRed, type FlowNode } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

const N = 1000;
/** What a valid request may end in when the platform fails it. */
const PLATFORM_FAILURES = ['ERA_HTTP', 'ERA_NOT_FOUND', 'ERA_TIMEOUT', 'ERA_NOT_CONNECTED'];

const ACTIONS: Array<{ node: FlowNode; msg(call: string, i: number): Record<string, unknown> }> = [
  { node: { id: 'a-hold', type: 'era-hold', action: 'hold' }, msg: (call) => ({ connectionId: call }) },
  { node: { id: 'a-dtmf', type: 'era-dtmf' }, msg: (call) => ({ connectionId: call, payload: '12#' }) },
  { node: { id: 'a-hangup', type: 'era-hangup' }, msg: (call) => ({ connectionId: call }) },
  { node: { id: 'a-dial', type: 'era-dial', from: '101', fromType: 'str' }, msg: (_c, i) => ({ payload: `+7999${2_000_000 + i}` }) },
  { node: { id: 'a-get', type: 'era-calls', mode: 'get' }, msg: (call) => ({ connectionId: call }) },
  { node: { id: 'a-call', type: 'era-call' }, msg: (call) => ({ connectionId: call }) },
];

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

  it('ends every one of them once, in an output or a clear error, within the request timeout', async function () {
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim, { requestTimeout: 2 }),
      ...ACTIONS.map(({ node }) => ({ ...node, z: 'tab', server: 'srv', wires: [['sink']] })),
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['sink']] },
      { id: 'sink', z: 'tab', type: 'helper' },
    ]);
    const sink = new Inbox('sink');
    const calls = Array.from({ length: 50 }, (_, i) => sim.startCall({ from: `+7999${3_000_000 + i}`, to: '101', answer: true }).id);
    // Logged in before the faults start, so that they hit the actions and not the login.
    helper.getNode('a-get').receive({ i: 'warm-up' });
    await sink.count(1);
    sink.messages.length = 0;
    sim.setFaults({ restHang: { count: 5 }, restStatus: { status: 503, count: 50, body: 'overloaded' } });

    const started = Date.now();
    for (let i = 0; i < N; i++) {
      const action = ACTIONS[i % ACTIONS.length]!;
      helper.getNode(action.node.id).receive({ ...action.msg(calls[i % calls.length]!, i), i });
    }
    // A restart once the burst is well under way: what is in flight or queued then fails, the rest goes on.
    await sink.count(N / 3, 20_000);
    await sim.restart({ downMs: 200 });
    await sink.count(N, 20_000);
    const took = Date.now() - started;
    await new Promise((r) => setTimeout(r, 200));

    const seen = new Map<unknown, number>();
    for (const m of sink.messages) seen.set(m.i, (seen.get(m.i) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
    assert.deepEqual(twice, [], 'no message ended twice');
    assert.equal(seen.size, N, 'every message ended');
    const codes = new Map<string, number>();
    for (const m of sink.messages.filter((x) => x.error !== undefined)) {
      const { code, message } = errorOf(m);
      assert.ok(PLATFORM_FAILURES.includes(String(code)), `code ${String(code)}: ${String(message)}`);
      assert.ok(message && message.length < 600, `a short reason: ${String(message).slice(0, 100)}`);
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
    }
    // The faults did happen, and did not stop the rest from working.
    assert.ok((codes.get('ERA_HTTP') ?? 0) >= 50 && (codes.get('ERA_NOT_CONNECTED') ?? 0) > 0, `failures: ${JSON.stringify([...codes])}`);
    assert.ok(sink.messages.some((m) => m.error === undefined), 'some succeeded');
    assert.ok(took < 15_000, `took ${took} ms`);

    sim.clearFaults();
    const fresh = sim.startCall({ from: '+79990004444', to: '101', answer: true });
    helper.getNode('a-hangup').receive({ connectionId: fresh.id, i: 'after' });
    await sink.until((m) => m.some((x) => x.i === 'after'), 5000, 'a hangup after the burst');
    assert.equal(sink.messages.find((x) => x.i === 'after')!.error, undefined, 'the flow still works');
  });
});
