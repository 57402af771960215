import assert from 'node:assert/strict';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, StatusLog, TOKEN_CREDENTIALS, USER_CREDENTIALS } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const SEQUENCE = ['callevents.invite', 'callevents.dlg_init', 'callevents.dlg_call', 'callevents.dlg_start', 'callevents.dlg_end'];

describe('era-events', function () {
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 50 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('emits the events of an answered call in order with topic, ids and msg.call', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
    const call = await ctl.startCall({ from: '+79991112233', to: '101' });
    await ctl.answer(call.id);
    await ctl.hangup(call.id);
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_stop'), 5000, 'dlg_stop');

    const topics = out.messages.map((m) => m.topic);
    assert.deepEqual(topics.filter((t) => SEQUENCE.includes(String(t))), SEQUENCE);
    for (const m of out.messages) {
      assert.equal(m.connectionId, call.connectionid);
      assert.equal(m.callId, call.cid);
      assert.equal(m.eventId, (m.payload as Record<string, unknown>).eventid);
      assert.ok(m.call, `msg.call on ${String(m.topic)}`);
    }
    const start = out.messages.find((m) => m.topic === 'callevents.dlg_start') as Record<string, any>;
    assert.equal(start.call.state, 'talking');
    assert.equal(typeof start.call.answeredAt, 'number');
    const end = out.messages.find((m) => m.topic === 'callevents.dlg_end') as Record<string, any>;
    assert.equal(end.call.state, 'ended');
    assert.equal(end.call.endReason, end.payload.reason);
    const invite = out.messages[0] as Record<string, any>;
    assert.equal(invite.call.state, 'ringing');
    assert.equal(invite.call.answeredAt, undefined);
  });

  it('gives each flow its own msg.payload and msg.call: a function node editing them in one flow changes nothing in the other', async function () {
    await load([
      serverNode(sim),
      { id: 'evA', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['edit']] },
      {
        id: 'edit',
        type: 'function',
        func: 'msg.payload.fromnum = "EDITED"; msg.payload.extra = 1; msg.call.state = "EDITED"; msg.call.legs.push("EDITED"); return msg;',
        outputs: 1,
        wires: [['outA']],
      },
      { id: 'evB', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['outB']] },
      { id: 'outA', type: 'helper' },
      { id: 'outB', type: 'helper' },
    ]);
    const outA = new Inbox('outA');
    const outB = new Inbox('outB');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
    const call = await ctl.startCall({ from: '+79991112233', to: '101' });
    await ctl.answer(call.id);
    await outA.until((m) => m.some((x) => x.topic === 'callevents.dlg_start'), 5000, 'dlg_start in flow A');
    await outB.until((m) => m.some((x) => x.topic === 'callevents.dlg_start'), 5000, 'dlg_start in flow B');
    assert.ok(outA.messages.every((m) => (m.payload as Record<string, unknown>).fromnum === 'EDITED'), 'flow A edited its messages');
    for (const m of outB.messages) {
      const payload = m.payload as Record<string, unknown>;
      const state = m.call as Record<string, unknown> & { legs: string[] };
      assert.equal(payload.fromnum, '+79991112233', `flow B's ${String(m.topic)} payload`);
      assert.equal(payload.extra, undefined);
      assert.notEqual(state.state, 'EDITED', `flow B's ${String(m.topic)} msg.call`);
      assert.ok(!state.legs.includes('EDITED'));
    }
  });

  it('shares one socket between nodes and delivers each event once per matching node', async function () {
    await load([
      serverNode(sim),
      { id: 'all', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['outAll']] },
      { id: 'dlg', type: 'era-events', server: 'srv', events: 'callevents.dlg_start, callevents.dlg_end', wires: [['outDlg']] },
      { id: 'ccs', type: 'era-events', server: 'srv', events: 'ccsevents.call_set_state', attachCall: false, wires: [['outCcs']] },
      { id: 'outAll', type: 'helper' },
      { id: 'outDlg', type: 'helper' },
      { id: 'outCcs', type: 'helper' },
    ]);
    const all = new Inbox('outAll');
    const dlg = new Inbox('outDlg');
    const ccs = new Inbox('outCcs');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
    const call = await ctl.startCall();
    await ctl.answer(call.id);
    await ctl.hangup(call.id);
    await all.until((m) => m.some((x) => x.topic === 'callevents.dlg_stop'), 5000, 'dlg_stop');
    await dlg.count(2);
    await ccs.until((m) => m.some((x) => (x.payload as Record<string, unknown>).state === 'end'), 5000, 'end state');

    const subs = await ctl.subscriptions();
    assert.equal(new Set(subs.map((s) => s.connectionId)).size, 1, 'one socket for the config node');
    const ids = all.messages.map((m) => m.eventId);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate on the callevents.* node');
    assert.deepEqual(dlg.messages.map((m) => m.topic), ['callevents.dlg_start', 'callevents.dlg_end']);
    assert.ok(ccs.messages.every((m) => m.topic === 'ccsevents.call_set_state' && m.call === undefined));
  });

  it('splits events over one output per pattern', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite,callevents.dlg_end', split: true, wires: [['o1'], ['o2']] },
      { id: 'o1', type: 'helper' },
      { id: 'o2', type: 'helper' },
    ]);
    const o1 = new Inbox('o1');
    const o2 = new Inbox('o2');
    await eventually(async () => (await ctl.subscriptions()).length > 0);
    const call = await ctl.startCall();
    await ctl.hangup(call.id, 'cancel');
    await o2.count(1);
    await o1.count(1);
    assert.equal(o1.messages[0].topic, 'callevents.invite');
    assert.equal(o2.messages[0].topic, 'callevents.dlg_end');
    assert.equal((o2.messages[0].payload as Record<string, unknown>).reason, 'cancel');
  });

  it('works in token mode on /ws/token/v1', async function () {
    await load(
      [
        serverNode(sim, { authMode: 'token' }),
        { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      TOKEN_CREDENTIALS,
    );
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0);
    await ctl.startCall();
    await out.count(1);
    const upgrades = (await ctl.requests()).filter((r) => r.kind === 'ws' && r.path.startsWith('/ws/token/v1'));
    assert.ok(upgrades.length > 0, 'the token socket was used');
    assert.ok(!(await ctl.requests()).some((r) => r.path === '/rest/v1/iam/sessions'), 'no login in token mode');
  });

  it('shows the connection on every dependent node, also on nodes deployed later', async function () {
    const statuses = new StatusLog();
    try {
      const first = [serverNode(sim), { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [[]] }];
      await load(first);
      await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'green dot on era-events');
      assert.ok(statuses.has('ev', 'yellow', 'ring'), 'connecting was shown first');
      await helper.setFlows([...first, { id: 'dial', type: 'era-dial', server: 'srv', wires: [[]] }], 'nodes', USER_CREDENTIALS);
      await eventually(() => statuses.has('dial', 'green', 'dot'), 2000, 'green dot on the node deployed later');
      await sim.stop();
      await eventually(() => statuses.has('ev', 'red', 'ring') && statuses.has('dial', 'red', 'ring'), 8000, 'disconnected on both');
    } finally {
      statuses.stop();
    }
  });

  it('resumes events after the platform restarts, without a redeploy', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0);
    await sim.restart({ downMs: 300 });
    await eventually(async () => (await ctl.subscriptions()).length > 0, 8000, 'resubscription');
    await ctl.startCall();
    await out.count(1, 5000);
  });

  it('keeps delivering valid events around malformed frames', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0);
    await ctl.call('POST', 'ws/send', { raw: '{not json' });
    await ctl.call('POST', 'ws/send', { frame: { not: 'an array' } });
    await ctl.call('POST', 'ws/send', { frame: ['mystery_push', { qid: 5, x: 1 }] });
    await ctl.call('POST', 'ws/send', { size: 5 * 1024 * 1024 });
    await ctl.startCall();
    await out.count(1, 5000);
    assert.equal(out.messages[0].topic, 'callevents.invite');
  });
});
