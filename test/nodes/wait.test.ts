import assert from 'node:assert/strict';
import type { CallState } from '../../src/era';
import { DeadlineQueue } from '../../src/nodes/lib/deadlines';
import { errorOf } from '../support/flows';
import { collectGarbage } from '../support/gc';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, unknown> & { call?: CallState };

/**
 * The test helper records every Node.send in a sinon spy, messages included; a running
 * Node-RED keeps no such record, so forget it before asking what else holds the messages.
 */
function forgetSpiedCalls(): void {
  (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory();
}

function callOf(msg: Record<string, unknown> | undefined): CallState {
  assert.ok(msg?.call, 'msg.call is attached');
  return msg.call as CallState;
}

/**
 * Hands era-wait `count` messages spread over `calls`, and keeps only weak references to them.
 * A function of its own, so that no frame of the test (an async one stays alive across its
 * awaits) holds the last message.
 */
function feedWaits(calls: string[], count: number): Array<WeakRef<object>> {
  const refs: Array<WeakRef<object>> = [];
  const wait = helper.getNode('wait');
  for (let i = 0; i < count; i++) {
    // A kilobyte of its own per message, so that what is held shows in the heap.
    const msg = { connectionId: calls[i % calls.length], payload: `${i} `.padEnd(1024, '.') };
    refs.push(new WeakRef(msg));
    wait.receive(msg);
  }
  return refs;
}

describe('era-wait', function () {
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  /** One era-wait node (`wait`) wired to `yes` / `no`, with a Catch node feeding `caught`. */
  async function loadWait(props: Record<string, unknown>, extra: FlowNode[] = []): Promise<{ yes: Inbox; no: Inbox; caught: Inbox }> {
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim),
      { id: 'wait', z: 'tab', type: 'era-wait', server: 'srv', timeout: '3600', timeoutType: 'num', wires: [['yes'], ['no']], ...props },
      { id: 'yes', z: 'tab', type: 'helper' },
      { id: 'no', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: ['wait'], wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
      ...extra,
    ]);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    return { yes: new Inbox('yes'), no: new Inbox('no'), caught: new Inbox('caught') };
  }

  function calls(): { get(id: string): CallState | undefined } {
    return (helper.getNode('srv') as unknown as { client: { calls: { get(id: string): CallState | undefined } } }).client.calls;
  }

  it('lets go of the messages of 20,000 finished waits at once, though their timeout is an hour', async function () {
    this.timeout(60000);
    await load([
      serverNode(sim),
      { id: 'wait', type: 'era-wait', server: 'srv', until: 'talking', untilType: 'str', timeout: '3600', timeoutType: 'num', maxWaits: 20000, wires: [['yes'], ['no']] },
      { id: 'yes', type: 'helper' },
      { id: 'no', type: 'helper' },
    ]);
    // Counted, not collected: a test that kept the messages would measure itself.
    let answered = 0;
    let ended = 0;
    helper.getNode('yes').on('input', () => answered++);
    helper.getNode('no').on('input', () => ended++);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const started = Array.from({ length: 1000 }, (_, i) => sim.startCall({ from: `+7999${String(i).padStart(7, '0')}`, to: '101' }));
    await eventually(() => started.every((c) => calls().get(c.connectionid)?.state === 'ringing'), 10000, 'every call ringing in the table');

    await collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    const refs = feedWaits(started.map((c) => c.connectionid), 20000);
    await collectGarbage();
    const holding = process.memoryUsage().heapUsed;
    assert.equal(answered + ended, 0, 'every message is held');

    for (const c of started) sim.hangupCall(c.id);
    await eventually(() => ended === 20000, 20000, 'every wait to end with its call');
    assert.equal(answered, 0);

    forgetSpiedCalls();
    await collectGarbage();
    const after = process.memoryUsage().heapUsed;
    const kept = refs.filter((r) => r.deref() !== undefined).length;
    assert.equal(kept, 0, `${kept} of 20,000 finished messages are still held`);
    const held = holding - baseline;
    assert.ok(held > 20000 * 1024, `the held messages showed in the heap (${held} bytes)`);
    assert.ok(after - baseline < held / 4, `heap ${baseline} → ${holding} while waiting → ${after} after`);
  });

  it('refuses a wait beyond maxWaits with ERA_INVALID_INPUT naming the cap; the others go on', async function () {
    const { yes, no, caught } = await loadWait({ until: 'talking', untilType: 'str', maxWaits: 5 });
    const first = await ctl.startCall({ from: '+79990000001' });
    const second = await ctl.startCall({ from: '+79990000002' });
    const wait = helper.getNode('wait');
    for (let i = 0; i < 6; i++) wait.receive({ connectionId: first.connectionid, i });
    await caught.count(1);
    const refused = caught.messages[0];
    assert.equal(refused.i, 5, 'the sixth message is the one refused');
    assert.equal(errorOf(refused).code, 'ERA_INVALID_INPUT');
    assert.match(String(errorOf(refused).message), /era-wait already holds 5 waits \(maxWaits\)/);

    await ctl.answer(first.id);
    await yes.count(5);
    assert.deepEqual(yes.messages.map((m) => m.i), [0, 1, 2, 3, 4]);
    // The cap counts waits held now: the five that ended make room for five more.
    for (let i = 10; i < 15; i++) wait.receive({ connectionId: second.connectionid, i });
    await ctl.answer(second.id);
    await yes.count(10);
    assert.equal(caught.messages.length, 1);
    assert.equal(no.messages.length, 0);
  });

  it('sends a message for a call that already ended to the second output at once', async function () {
    const { yes, no } = await loadWait({ until: 'until', untilType: 'msg' }, [
      { id: 'events', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.dlg_stop', wires: [['stops']] },
      { id: 'stops', z: 'tab', type: 'helper' },
    ]);
    const stops = new Inbox('stops');
    const call = await ctl.startCall();
    await ctl.hangup(call.id, 'cancel');
    // After dlg_stop no event of the call comes that could end a wait: only the table can.
    await stops.count(1);
    assert.equal(calls().get(call.connectionid)?.state, 'ended');
    const wait = helper.getNode('wait');
    // The timeout is an hour: only "the call is over" can send these on within the test.
    wait.receive({ connectionId: call.connectionid, until: 'talking' });
    wait.receive({ connectionId: call.connectionid, until: 'callevents.dlg_start' });
    await no.count(2);
    for (const m of no.messages) {
      assert.equal(callOf(m).state, 'ended');
      assert.equal(callOf(m).endReason, 'cancel');
    }
    // What is awaited already happened: that is the first output, not the second.
    wait.receive({ connectionId: call.connectionid, until: 'ended' });
    wait.receive({ connectionId: call.connectionid, until: 'callevents.dlg_end' });
    await yes.count(2);
    assert.deepEqual(yes.messages.map((m) => m.until), ['ended', 'callevents.dlg_end']);
    assert.equal(no.messages.length, 2);
  });

  it('gives each message its own msg.call, shared with no other wait or node', async function () {
    const { yes } = await loadWait({ until: 'callevents.dlg_start', untilType: 'str' }, [
      { id: 'events', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.dlg_start', wires: [['seen']] },
      { id: 'seen', z: 'tab', type: 'helper' },
    ]);
    const seen = new Inbox('seen');
    const call = await ctl.startCall();
    await eventually(() => calls().get(call.connectionid) !== undefined, 3000, 'the call in the table');
    const wait = helper.getNode('wait');
    wait.receive({ connectionId: call.connectionid, which: 'a' });
    wait.receive({ connectionId: call.connectionid, which: 'b' });
    await new Promise((resolve) => setImmediate(resolve));
    await ctl.answer(call.id);
    await yes.count(2);
    await seen.count(1);
    const [a, b] = yes.messages as Msg[];
    assert.notEqual(callOf(a), callOf(b));
    assert.notEqual(callOf(a), callOf(seen.messages[0]));
    callOf(a).state = 'ended';
    callOf(a).legs.push('edited');
    assert.equal(callOf(b).state, 'talking', 'editing one message does not change the other');
    assert.ok(!callOf(b).legs.includes('edited'));
    assert.equal(callOf(seen.messages[0]).state, 'talking', 'nor what era-events sent');
  });

  it('waits past the end of a call for its recording key, until the dialog stops', async function () {
    const { yes, no } = await loadWait({ until: 'ccsevents.connection_set_record_info', untilType: 'str' });
    const recorded = await ctl.startCall({ record: true, answer: true });
    const plain = await ctl.startCall({ from: '+79990000002', answer: true });
    const wait = helper.getNode('wait');
    wait.receive({ connectionId: recorded.connectionid, which: 'recorded' });
    wait.receive({ connectionId: plain.connectionid, which: 'plain' });
    await new Promise((resolve) => setImmediate(resolve));
    await ctl.hangup(recorded.id);
    await ctl.hangup(plain.id);
    await yes.count(1);
    assert.equal(yes.messages[0].which, 'recorded');
    assert.equal(typeof callOf(yes.messages[0]).recordingKey, 'string');
    // No recording comes for the other call: its dlg_stop settles the wait.
    await no.count(1);
    assert.equal(no.messages[0].which, 'plain');
    // Asked after the call ended, with the key already known: at once, first output.
    wait.receive({ connectionId: recorded.connectionid, which: 'late' });
    await yes.count(2);
    assert.equal(yes.messages[1].which, 'late');
  });
  it('a wait whose JSONata timeout resolves after a redeploy closed the node is not held: no timer, no message from it', async function () {
    const props = { until: 'talking', untilType: 'str', timeout: 'gate', timeoutType: 'jsonata' };
    await loadWait(props);
    const call = await ctl.startCall();
    const old = helper.getNode('wait');
    const sentByOld: unknown[] = [];
    old.on('call:send', (call: unknown) => sentByOld.push(call));
    // A JSONata expression whose value comes later (`gate`, a promise the test settles).
    let open: (seconds: number) => void = () => undefined;
    const gate = new Promise<number>((resolve) => (open = resolve));
    old.receive({ connectionId: call.connectionid, gate });
    // Only the era-wait node is redeployed (changed name): the old one closes while `gate` is pending.
    await helper.setFlows(
      [
        { id: 'tab', type: 'tab' },
        serverNode(sim),
        { id: 'wait', z: 'tab', type: 'era-wait', server: 'srv', name: 'redeployed', wires: [['yes'], ['no']], ...props },
        { id: 'yes', z: 'tab', type: 'helper' },
        { id: 'no', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['wait'], wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
      ],
      'nodes',
      USER_CREDENTIALS,
    );
    const no = new Inbox('no');
    const caught = new Inbox('caught');
    open(0.2);
    // The successor works: its own wait times out on the second output.
    helper.getNode('wait').receive({ connectionId: call.connectionid, gate: Promise.resolve(0.2), which: 'new' });
    await no.count(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(sentByOld, [], 'the closed node sent nothing: it held no wait, no timer');
    assert.deepEqual(no.messages.map((m) => m.which), ['new']);
    assert.deepEqual(caught.messages, []);
  });
});

describe('DeadlineQueue', function () {
  it('expires what is left in deadline order and never what was removed', async function () {
    interface Entry {
      at: number;
      slot: number;
      n: number;
    }
    const expired: Entry[] = [];
    const queue = new DeadlineQueue<Entry>((e) => expired.push(e));
    const now = Date.now();
    // Deadlines in a scrambled order, with ties, so that removal has to re-sort both ways.
    const entries = Array.from({ length: 400 }, (_, n) => ({ at: now + 20 + ((n * 7919) % 97), slot: -1, n }));
    for (const e of entries) queue.add(e);
    const removed = entries.filter((e) => e.n % 3 === 0);
    for (const e of removed) assert.equal(queue.remove(e), true);
    assert.equal(queue.remove(removed[0]), false, 'a second removal does nothing');
    assert.equal(queue.size, entries.length - removed.length);
    await eventually(() => queue.size === 0, 5000, 'every entry to expire');
    assert.equal(expired.length, entries.length - removed.length);
    assert.ok(expired.every((e) => e.n % 3 !== 0), 'no removed entry expired');
    for (let i = 1; i < expired.length; i++) assert.ok(expired[i - 1].at <= expired[i].at, 'in deadline order');
  });
});

describe('DeadlineQueue: a deadline further than a timer can wait', function () {
  it('arms no overflowing timer and expires nothing early', async function () {
    const overflows: Error[] = [];
    const onWarning = (w: Error) => w.name === 'TimeoutOverflowWarning' && overflows.push(w);
    process.on('warning', onWarning);
    const expired: unknown[] = [];
    const queue = new DeadlineQueue<{ at: number; slot: number }>((e) => expired.push(e));
    try {
      queue.add({ at: Date.now() + 30 * 24 * 3600 * 1000, slot: -1 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(expired, [], 'not expired after 1 ms');
      assert.equal(queue.size, 1);
      assert.deepEqual(overflows, []);
    } finally {
      queue.clear();
      process.off('warning', onWarning);
    }
  });
});
