/**
 * era-call-log in Node-RED against the simulator: one message per finished call, with the record
 * nodes.md describes ("Call log node"), whatever the call went through — nobody answering, a ring
 * group or a queue, a transfer, a recording, an outage.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimCall, SimEvent } from '../../src/simulator';
import { collectGarbage } from '../support/gc';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, type FlowNode } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

type Msg = Record<string, unknown>;
type Fields = Record<string, unknown>;

/** The times the platform gave a call's start, answer and end, from the simulator's own events. */
class Heard {
  private readonly byCall = new Map<string, Map<string, number>>();
  private readonly listener = (e: SimEvent) => {
    if (e.class !== 'callevents') return;
    const times = this.byCall.get(e.data.connectionid) ?? new Map<string, number>();
    if (!times.has(e.type)) times.set(e.type, Number(e.data.eventts));
    this.byCall.set(e.data.connectionid, times);
  };

  constructor(private readonly sim: Simulator) {
    sim.on('event', this.listener);
  }

  /** When `type` (dlg_start, dlg_end) first came for the call. */
  at(connectionId: string, type: string): number {
    const t = this.byCall.get(connectionId)?.get(type);
    assert.ok(t !== undefined, `no ${type} for ${connectionId}`);
    return t;
  }

  stop(): void {
    this.sim.off('event', this.listener);
  }
}

const seconds = (fromMs: number, toMs: number) => Math.round((toMs - fromMs) / 1000);

describe('era-call-log', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let heard: Heard;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 50 }));
    heard = new Heard(sim);
    await startRed();
  });

  afterEach(async function () {
    heard.stop();
    await stopRed();
    await sim.stop();
  });

  /** The server, the nodes given, a helper per output named; resolves once the platform has the subscription. */
  async function deploy(nodes: FlowNode[], outputs: string[] = ['out']): Promise<Inbox[]> {
    await load([serverNode(sim), ...nodes, ...outputs.map((id) => ({ id, type: 'helper' }))]);
    await eventually(() => sim.subscriptions().length > 0, 5000, 'a subscription');
    return outputs.map((id) => new Inbox(id));
  }

  const callLog = (extra: Record<string, unknown> = {}, wires = [['out']]): FlowNode => ({ id: 'log', type: 'era-call-log', server: 'srv', direction: 'all', waitRecording: 10, wires, ...extra });

  function recordsOf(inbox: Inbox, call: SimCall): Msg[] {
    return inbox.messages.filter((m) => m.connectionId === call.id);
  }

  async function oneRecord(inbox: Inbox, call: SimCall, ms = 5000): Promise<{ msg: Msg; record: Fields; state: Fields }> {
    await inbox.until((m) => m.some((x) => x.connectionId === call.id), ms, `the record of ${call.id}`);
    const msg = recordsOf(inbox, call)[0]!;
    return { msg, record: msg.payload as Fields, state: msg.call as Fields };
  }

  /** The record of a call nobody answered, from what the platform said of it. */
  function unansweredRecord(call: SimCall, outcome: string, endReason: string, over: Fields = {}): Fields {
    const startedAt = Number(call.invitets);
    const endedAt = heard.at(call.id, 'dlg_end');
    return {
      connectionId: call.id,
      callId: call.cid,
      direction: call.dir,
      from: call.fromnum,
      to: call.tonum,
      outcome,
      startedAt,
      endedAt,
      ringSeconds: seconds(startedAt, endedAt),
      talkSeconds: 0,
      holdSeconds: 0,
      endReason,
      transfers: [],
      ...over,
    };
  }

  it('one message per finished call — answered, missed, unanswered (outbound and internal), failed — with every field of the record; none for a call still going on', async function () {
    const [out] = await deploy([callLog()]);
    const answered = sim.startCall({ from: '+79990001122', to: '101' });
    await sleep(1100);
    sim.answerCall(answered.id);
    await sleep(1100);
    sim.hangupCall(answered.id);
    const missed = sim.startCall({ from: '+79990001123', to: '102' });
    const outbound = sim.startCall({ from: '103', to: '+79995550000', dir: 'out' });
    const internal = sim.startCall({ from: '104', to: '105', dir: 'local' });
    const failed = sim.startCall({ from: '+79990001124', to: '106' });
    const going = sim.startCall({ from: '+79990001125', to: '107', answer: true });
    sim.hangupCall(missed.id, 'cancel');
    sim.hangupCall(outbound.id, 'timeout');
    sim.hangupCall(internal.id, 'cancel');
    sim.hangupCall(failed.id, 'error');

    const a = await oneRecord(out!, answered);
    const startedAt = Number(answered.invitets);
    const answeredAt = heard.at(answered.id, 'dlg_start');
    const endedAt = heard.at(answered.id, 'dlg_end');
    assert.deepEqual(a.record, {
      connectionId: answered.id,
      callId: answered.cid,
      direction: 'in',
      from: '+79990001122',
      to: '101',
      answeredBy: '101',
      outcome: 'answered',
      startedAt,
      answeredAt,
      endedAt,
      ringSeconds: 1,
      talkSeconds: 1,
      holdSeconds: 0,
      endReason: 'bye',
      transfers: [],
    });
    assert.equal(a.msg.topic, 'answered');
    assert.equal(a.msg.connectionId, answered.id);
    assert.equal(a.msg.callId, answered.cid);
    assert.equal(a.msg.replayed, undefined);
    assert.deepEqual(
      { connectionId: a.state.connectionId, callId: a.state.callId, state: a.state.state, from: a.state.from, to: a.state.to, direction: a.state.direction, startedAt: a.state.startedAt, answeredAt: a.state.answeredAt, endedAt: a.state.endedAt, endReason: a.state.endReason, held: a.state.held },
      { connectionId: answered.id, callId: answered.cid, state: 'ended', from: '+79990001122', to: '101', direction: 'in', startedAt, answeredAt, endedAt, endReason: 'bye', held: false },
      'msg.call is the final state',
    );

    const cases: Array<[SimCall, string, string]> = [
      [missed, 'missed', 'cancel'],
      [outbound, 'unanswered', 'timeout'],
      [internal, 'unanswered', 'cancel'],
      [failed, 'failed', 'error'],
    ];
    for (const [call, outcome, reason] of cases) {
      const { msg, record, state } = await oneRecord(out!, call);
      assert.deepEqual(record, unansweredRecord(call, outcome, reason), `${outcome} (${reason})`);
      assert.deepEqual([msg.topic, msg.connectionId, msg.callId, state.state, state.answeredAt], [outcome, call.id, call.cid, 'ended', undefined]);
    }

    await sleep(300);
    assert.deepEqual(recordsOf(out!, going), [], 'no record for a call still going on');
    assert.equal(out!.messages.length, 5, 'one message per finished call');
    sim.hangupCall(going.id);
    await oneRecord(out!, going);
  });

  it('a ring group: nobody answering is one missed record for the group number; answered by its 2nd phone, to and answeredBy are that phone', async function () {
    const [out] = await deploy([callLog()]);
    const nobody = sim.startCall({ from: '+79990001122', to: '200', group: ['101', '102', '103'], ringMs: 300 });
    const second = sim.startCall({ from: '+79990001123', to: '200', group: ['101', '102', '103'] });
    sim.answerCall(second.id, { by: '102' });
    sim.hangupCall(second.id);

    const n = await oneRecord(out!, nobody);
    assert.deepEqual(n.record, unansweredRecord(nobody, 'missed', 'timeout', { to: '200' }), 'the group gave up after its ring time');
    const s = await oneRecord(out!, second);
    assert.deepEqual(
      [s.record.outcome, s.record.to, s.record.answeredBy, s.record.answeredAt, s.state.to],
      ['answered', '102', '102', heard.at(second.id, 'dlg_start'), '102'],
    );
    await sleep(300);
    assert.equal(recordsOf(out!, nobody).length + recordsOf(out!, second).length, 2, 'one record each, whatever the forks did');
  });

  it('a queue whose caller hangs up between two phones: one missed record', async function () {
    const [out] = await deploy([callLog()]);
    const call = sim.startCall({ from: '+79990001122', to: '300', queue: ['101', '102'] });
    sim.nextPhone(call.id, { ring: false });
    sim.hangupCall(call.id, 'cancel');
    const { record } = await oneRecord(out!, call);
    assert.deepEqual(record, unansweredRecord(call, 'missed', 'cancel', { to: '300' }));
    await sleep(300);
    assert.equal(recordsOf(out!, call).length, 1);
  });

  it('a call held, then transferred (a real REFER) after the answer: one record, the transfer listed, the hold counted', async function () {
    const [out, done] = await deploy(
      [
        callLog(),
        { id: 'hold', type: 'era-hold', server: 'srv', action: 'msg', wires: [['done']] },
        { id: 'xfer', type: 'era-transfer', server: 'srv', mode: 'blind', to: '105', toType: 'str', wires: [['done']] },
      ],
      ['out', 'done'],
    );
    const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
    helper.getNode('hold').receive({ connectionId: call.id, hold: true });
    await done!.count(1);
    await sleep(1100);
    helper.getNode('hold').receive({ connectionId: call.id, hold: false });
    await done!.count(2);
    helper.getNode('xfer').receive({ connectionId: call.id });
    await done!.count(3);
    assert.deepEqual(done!.messages.map((m) => m.statusCode), [200, 200, 200]);
    const refers = sim.requests().filter((r) => r.kind === 'rest' && r.method === 'REFER');
    assert.deepEqual(refers.map((r) => (r.body as { to?: string }).to), ['105']);
    sim.hangupCall(call.id);

    const { record, state } = await oneRecord(out!, call);
    assert.deepEqual(
      [record.outcome, record.to, record.answeredBy, record.transfers, record.holdSeconds, state.transfers],
      ['answered', '105', '101', ['105'], 1, ['105']],
    );
    await sleep(300);
    assert.equal(recordsOf(out!, call).length, 1, 'one record for the whole call');
  });

  it('a recorded call waits for its key; a key announced but never sent: the record after waitRecording, without a key; waitRecording 0 does not wait', async function () {
    const [waits, now] = await deploy([callLog({ waitRecording: '1' }), callLog({ id: 'now', waitRecording: 0, wires: [['now-out']] })], ['out', 'now-out']);
    const recorded = sim.startCall({ from: '+79990001122', to: '101', record: true, answer: true });
    sim.hangupCall(recorded.id);
    const key = sim.getCall(recorded.id).recordingKey;
    assert.match(String(key), /^fs:/);
    const r = await oneRecord(waits!, recorded);
    assert.equal(r.record.recordingKey, key);
    assert.equal(r.state.recordingKey, key);
    const r0 = await oneRecord(now!, recorded);
    assert.equal(r0.record.recordingKey, undefined, 'waitRecording 0: out at the end, before the key');

    const silent = sim.startCall({ from: '+79990001123', to: '102', answer: true });
    // The platform says the dialog is recorded, but its key never comes.
    sim.sendToSockets({ frame: ['event', { class: 'callevents', type: 'rec_info', data: { eventid: `rec-info-${silent.cid}`, eventts: Date.now(), connectionid: silent.id, cid: silent.cid, isrec: 'true', dir: 'in' } }] });
    await sleep(200);
    const endedAt = Date.now();
    sim.hangupCall(silent.id);
    const w = await oneRecord(waits!, silent);
    assert.ok(Date.now() - endedAt >= 900, 'it waited for the key, past the dialog\'s stop');
    assert.equal(w.record.recordingKey, undefined);
    assert.equal(w.record.outcome, 'answered');
    await sleep(300);
    assert.deepEqual([recordsOf(waits!, recorded).length, recordsOf(waits!, silent).length], [1, 1]);
  });

  it('a call that ends during an outage: one record, msg.replayed true, after the wait a live record would have had', async function () {
    const [out] = await deploy([callLog({ waitRecording: 1 })]);
    const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
    await sleep(200);
    const down = sim.restart({ downMs: 400 });
    await sleep(50);
    sim.hangupCall(call.id);
    await down;
    const { msg, record, state } = await oneRecord(out!, call, 10_000);
    assert.equal(msg.replayed, true);
    assert.deepEqual([record.outcome, record.endReason, record.answeredBy, state.state], ['answered', 'unknown', '101', 'ended']);
    await sleep(500);
    assert.equal(recordsOf(out!, call).length, 1);
  });

  it('direction: in gives inbound calls only, out outbound only, all every call', async function () {
    const [all, inbound, outbound] = await deploy(
      [
        callLog(),
        callLog({ id: 'log-in', direction: 'in', wires: [['in-out']] }),
        callLog({ id: 'log-out', direction: 'out', wires: [['out-out']] }),
      ],
      ['out', 'in-out', 'out-out'],
    );
    const calls = [
      sim.startCall({ from: '+79990001122', to: '101' }),
      sim.startCall({ from: '101', to: '+79995550000', dir: 'out' }),
      sim.startCall({ from: '101', to: '102', dir: 'local' }),
    ];
    for (const c of calls) sim.hangupCall(c.id, 'cancel');
    await all!.count(3);
    await inbound!.count(1);
    await outbound!.count(1);
    await sleep(300);
    assert.deepEqual(all!.messages.map((m) => (m.payload as Fields).direction).sort(), ['in', 'local', 'out']);
    assert.deepEqual(inbound!.messages.map((m) => [m.connectionId, (m.payload as Fields).direction]), [[calls[0]!.id, 'in']]);
    assert.deepEqual(outbound!.messages.map((m) => [m.connectionId, (m.payload as Fields).direction]), [[calls[1]!.id, 'out']]);
  });

  it('a caller number that is anonymous or empty: the record comes, with what the platform said', async function () {
    const [out] = await deploy([callLog()]);
    const anonymous = sim.startCall({ from: 'anonymous', to: '101' });
    sim.hangupCall(anonymous.id, 'cancel');
    assert.equal((await oneRecord(out!, anonymous)).record.from, 'anonymous');

    // The control API refuses an empty number; the platform may still send one.
    const cid = '0b3c3f5e-1111-4222-8333-944455556666';
    const invitets = Date.now();
    const id = `${cid}.${invitets}`;
    const base = { cid, connectionid: id, invitets, fromnum: '', tonum: '101', dir: 'in' };
    const steps: Array<[string, Record<string, unknown>]> = [['invite', {}], ['dlg_start', {}], ['dlg_end', { reason: 'bye' }], ['dlg_stop', { reason: 'bye' }]];
    for (const [i, [type, extra]] of steps.entries()) {
      sim.sendToSockets({ frame: ['event', { class: 'callevents', type, data: { ...base, eventid: `${cid}-${i}`, eventts: invitets + i * 1000, ...extra } }] });
    }
    await out!.until((m) => m.some((x) => x.connectionId === id), 5000, 'the record of the call with no number');
    const msg = out!.messages.find((m) => m.connectionId === id)!;
    assert.deepEqual(msg.payload, {
      connectionId: id,
      callId: cid,
      direction: 'in',
      to: '101',
      answeredBy: '101',
      outcome: 'answered',
      startedAt: invitets,
      answeredAt: invitets + 1000,
      endedAt: invitets + 2000,
      ringSeconds: 1,
      talkSeconds: 1,
      holdSeconds: 0,
      endReason: 'bye',
      transfers: [],
    }, 'no "from" at all rather than an empty one');
    assert.equal(msg.topic, 'answered');
  });

  /*
   * Fails on the client as it is (src/era/calls/call-log.ts): a record that waited and went out
   * stays in CallLog's queue of waits until its own deadline, waitRecording after the end — with
   * waitRecording at an hour, an hour of records held after they were sent.
   */
  it('a record that waited for its key holds no memory once it is out (waitRecording an hour)', async function () {
    // No Inbox: it would keep the messages.
    await deploy([callLog({ waitRecording: 3600 }), { id: 'out', type: 'helper' }], []);
    const sent: Array<WeakRef<object>> = [];
    helper.getNode('out').on('input', (msg: Msg) => sent.push(new WeakRef(msg.payload as object), new WeakRef(msg.call as object)));
    const calls = Array.from({ length: 50 }, (_, i) => sim.startCall({ from: `+7999000${String(i).padStart(4, '0')}`, to: '101', answer: true }));
    const send = (type: string, cls: string, c: SimCall, extra: Record<string, unknown>) =>
      sim.sendToSockets({ frame: ['event', { class: cls, type, data: { eventid: `${type}-${c.cid}`, eventts: Date.now(), connectionid: c.id, cid: c.cid, ...extra } }] });
    // Announced as recorded, the key held back: each record waits for it.
    for (const c of calls) send('rec_info', 'callevents', c, { isrec: 'true', dir: 'in' });
    for (const c of calls) sim.hangupCall(c.id);
    await sleep(300);
    assert.equal(sent.length, 0, 'every record waits for its key');
    for (const c of calls) send('connection_set_record_info', 'ccsevents', c, { key: `fs:main1:Srv-001/${c.id}.mp3` });
    await eventually(() => sent.length === 2 * calls.length, 5000, 'every record out');
    await sleep(100);
    // The test helper's spies on Node's methods keep every message sent: forget them.
    (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory();
    await collectGarbage();
    const held = sent.filter((ref) => ref.deref() !== undefined).length;
    assert.equal(held, 0, `${held / 2} of ${calls.length} records (with their msg.call) still held after they went out`);
  });

  it('each wire gets its own record: a function node editing it in one flow changes nothing in the other', async function () {
    const [a, b] = await deploy(
      [
        callLog({ wires: [['edit', 'b']] }),
        { id: 'edit', type: 'function', func: 'msg.payload.outcome = "EDITED"; msg.payload.transfers.push("x"); msg.call.state = "EDITED"; return msg;', outputs: 1, wires: [['a']] },
      ],
      ['a', 'b'],
    );
    const call = sim.startCall({ from: '+79990001122', to: '101' });
    sim.hangupCall(call.id, 'cancel');
    await a!.count(1);
    await b!.count(1);
    assert.equal((a!.messages[0]!.payload as Fields).outcome, 'EDITED');
    assert.deepEqual([(b!.messages[0]!.payload as Fields).outcome, (b!.messages[0]!.payload as Fields).transfers, (b!.messages[0]!.call as Fields).state], ['missed', [], 'ended']);
  });
});
