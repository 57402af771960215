import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { errorOf, loadAction } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, any>;

/** REST on the simulator with the integration token, for driving a call from "another system". */
async function platform(sim: Simulator, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { Authorization: 'Bearer demo-token', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
}

describe('call state', function () {
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

  it('msg.call follows a call through ring, answer, hold, unhold, transfer and hangup', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*,ccsevents.*', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const call = await ctl.startCall({ from: '+79991230000', to: '101', record: true });
    const last = () => out.messages[out.messages.length - 1] as Msg;
    const forCall = `/rest/v1/uc/calls/${encodeURIComponent(call.connectionid)}`;

    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_call'), 3000, 'ringing');
    assert.equal(last().call.state, 'ringing');
    assert.equal(last().call.direction, 'in');
    assert.equal(last().call.from, '+79991230000');
    assert.equal(last().call.to, '101');
    assert.equal(typeof last().call.startedAt, 'number');
    assert.ok(!('answeredAt' in last().call));

    await ctl.answer(call.id);
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_start'), 3000, 'answered');
    await eventually(() => last().call.state === 'talking', 2000, 'talking');
    assert.equal(typeof last().call.answeredAt, 'number');
    assert.equal(last().call.held, false);

    await platform(sim, 'NOTIFY', forCall, { event: 'hold' });
    await eventually(() => last().call.state === 'held' && last().call.held === true, 2000, 'held');
    await platform(sim, 'NOTIFY', forCall, { event: 'talk' });
    await eventually(() => last().call.state === 'talking' && last().call.held === false, 2000, 'resumed');

    await platform(sim, 'REFER', forCall, { to: '102' });
    await eventually(() => last().call.to === '102' && last().call.transfers.length === 1, 2000, 'transferred');
    assert.ok(last().call.legs.length >= 2, 'both B legs are known');

    await ctl.hangup(call.id);
    await out.until((m) => m.some((x) => x.topic === 'ccsevents.connection_set_record_info'), 3000, 'record info');
    const end = out.messages.find((m) => m.topic === 'callevents.dlg_end') as Msg;
    assert.equal(end.call.state, 'ended');
    assert.equal(end.call.endReason, 'bye');
    assert.equal(typeof end.call.endedAt, 'number');
    await eventually(() => typeof last().call.recordingKey === 'string', 2000, 'recording key');
    assert.ok(out.messages.every((m) => m.connectionId === call.connectionid));
  });

  it('era-call reads the table, and the platform for a call it never saw', async function () {
    const before = await ctl.startCall({ from: '+79990000001', answer: true });
    const { out, send } = await loadAction(sim, { type: 'era-call' });
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'tracking subscription');
    const seen = await ctl.startCall({ from: '+79990000002' });
    const table = (helper.getNode('srv') as unknown as { client: EraClient }).client.calls;
    await eventually(() => table.get(seen.connectionid)?.state === 'ringing', 5000, 'the call table to learn the call');
    const gets = async (id: string) => (await ctl.requests()).filter((r) => r.method === 'GET' && r.path === `/rest/v1/uc/calls/${encodeURIComponent(id)}`).length;
    await ctl.clearRequests();

    send({ connectionId: seen.connectionid, payload: 'kept' });
    await out.count(1);
    const tracked = out.messages[0] as Msg;
    assert.equal(tracked.payload, 'kept', 'msg.payload is left as it came');
    assert.equal(tracked.call.connectionId, seen.connectionid);
    assert.equal(tracked.call.state, 'ringing');
    assert.equal(await gets(seen.connectionid), 0, 'a call the table knows is not asked for');

    // A call going on before the first connection is learnt from the platform's list at connecting.
    send({ connectionId: before.connectionid });
    await out.count(2);
    assert.deepEqual([(out.messages[1] as Msg).call.connectionId, (out.messages[1] as Msg).call.state], [before.connectionid, 'talking']);
    assert.equal(await gets(before.connectionid), 0, 'a call going on at connecting is known without asking');

    // A call whose events never came (lost on the way) is asked for once.
    await ctl.faults({ dropEvents: true });
    const unheard = await ctl.startCall({ from: '+79990000003', answer: true });
    await ctl.faults({ dropEvents: null });
    send({ connectionId: unheard.connectionid });
    await out.count(3);
    const fromPlatform = out.messages[2] as Msg;
    assert.equal(fromPlatform.call.connectionId, unheard.connectionid);
    assert.equal(fromPlatform.call.state, 'talking');
    assert.equal(await gets(unheard.connectionid), 1, 'one GET for the call it never saw');
  });

  it('era-wait: happened, timed out, and a call that ends while waiting', async function () {
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim),
      { id: 'wait', z: 'tab', type: 'era-wait', server: 'srv', until: 'talking', untilType: 'str', timeout: '0.5', timeoutType: 'num', wires: [['yes'], ['no']] },
      { id: 'yes', z: 'tab', type: 'helper' },
      { id: 'no', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
    ]);
    const yes = new Inbox('yes');
    const no = new Inbox('no');
    const caught = new Inbox('caught');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const answered = await ctl.startCall({ from: '+79990000011' });
    const ignored = await ctl.startCall({ from: '+79990000012' });
    const dropped = await ctl.startCall({ from: '+79990000013' });
    const wait = helper.getNode('wait');
    for (const c of [answered, ignored, dropped]) wait.receive({ connectionId: c.connectionid, which: c.fromnum });
    await new Promise((r) => setTimeout(r, 50));
    await ctl.answer(answered.id);
    await ctl.hangup(dropped.id, 'cancel');
    await yes.count(1);
    await no.count(2, 3000);
    assert.equal((yes.messages[0] as Msg).which, '+79990000011');
    assert.equal((yes.messages[0] as Msg).call.state, 'talking');
    const byCaller = Object.fromEntries(no.messages.map((m) => [m.which, m as Msg]));
    assert.equal(byCaller['+79990000013'].call.state, 'ended', 'an ended call leaves the wait at once');
    assert.equal(byCaller['+79990000012'].call.state, 'ringing', 'an unanswered call times out');
    wait.receive({ connectionId: answered.connectionid, which: 'already' });
    await yes.count(2, 1000);
    assert.equal((yes.messages[1] as Msg).which, 'already', 'a call already talking passes at once');
    wait.receive({});
    await caught.count(1);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_INVALID_INPUT');
    assert.equal(yes.messages.length + no.messages.length, 4, 'the bad message went to neither output');
  });

  it('era-wait refuses bad input clearly', async function () {
    const { caught, send } = await loadAction(sim, { type: 'era-wait', until: 'until', untilType: 'msg', timeout: 'timeout', timeoutType: 'msg', wires: [['out'], []] });
    send({ connectionId: 'a.1', until: 'dancing', timeout: 5 });
    send({ connectionId: 'a.1', until: 'talking', timeout: -1 });
    send({ until: 'talking', timeout: 5 });
    await caught.count(3);
    for (const m of caught.messages) assert.equal(errorOf(m).code, 'ERA_INVALID_INPUT');
  });

  it('1,000 concurrent waits resolve correctly', async function () {
    this.timeout(30000);
    await load([
      serverNode(sim),
      { id: 'wait', type: 'era-wait', server: 'srv', until: 'callevents.dlg_start', untilType: 'str', timeout: '2', timeoutType: 'num', wires: [['yes'], ['no']] },
      { id: 'yes', type: 'helper' },
      { id: 'no', type: 'helper' },
    ]);
    const yes = new Inbox('yes');
    const no = new Inbox('no');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(sim.startCall({ from: `+7999${String(i).padStart(7, '0')}`, to: '101' }));
    const started = await Promise.all(calls);
    const wait = helper.getNode('wait');
    started.forEach((c, i) => wait.receive({ connectionId: c.connectionid, i }));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 1000; i += 2) sim.answerCall(started[i].id);
    await eventually(() => yes.messages.length + no.messages.length === 1000, 20000, 'all waits to end');
    assert.equal(yes.messages.length, 500);
    assert.ok(yes.messages.every((m) => (m.i as number) % 2 === 0));
    assert.ok(no.messages.every((m) => (m.i as number) % 2 === 1));
  });

  it('a call that ends while the socket is down is reported ended after reconnect, once', async function () {
    this.timeout(20000);
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.dlg_end', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const call = await ctl.startCall({ answer: true });
    const other = await ctl.startCall({ from: '+79990000077', answer: true });
    await new Promise((r) => setTimeout(r, 100));
    const restarting = sim.restart({ downMs: 800 });
    await new Promise((r) => setTimeout(r, 100));
    await sim.hangupCall(call.id);
    await restarting;
    await out.count(1, 10000);
    await ctl.hangup(other.id);
    await out.count(2, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const ends = out.messages.filter((m) => m.connectionId === call.connectionid) as Msg[];
    assert.equal(ends.length, 1, 'reported exactly once');
    assert.equal(ends[0].replayed, true);
    assert.equal(ends[0].call.state, 'ended');
    assert.equal(ends[0].payload.reason, 'unknown');
    const live = out.messages.find((m) => m.connectionId === other.connectionid) as Msg;
    assert.equal(live.replayed, undefined, 'live events are not marked replayed');
  });

  it('keeps the call table under its cap during a flood of calls', async function () {
    this.timeout(20000);
    await load([
      serverNode(sim, { maxCalls: 200 }),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.dlg_stop', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const table = (helper.getNode('srv') as unknown as { client: { calls: { size: number } } }).client.calls;
    let largest = 0;
    const watch = setInterval(() => (largest = Math.max(largest, table.size)), 5);
    try {
      await sim.burst({ calls: 2000 });
      await out.count(2000, 15000);
    } finally {
      clearInterval(watch);
    }
    largest = Math.max(largest, table.size);
    assert.ok(largest <= 200, `the table held ${largest} calls`);
    assert.ok(largest > 0, 'the table was in use');
  });
});
