import assert from 'node:assert/strict';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimCall, type SimControl, type Simulator } from '../support/sim';

describe('era-events across a redeploy', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('redeploying only the era-events node while calls start and end every 150 ms loses and invents nothing', async function () {
    const flow = (name: string): FlowNode[] => [
      serverNode(sim),
      { id: 'ev', type: 'era-events', name, server: 'srv', events: 'callevents.invite, callevents.dlg_end', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await load(flow('first'));
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
    await ctl.clearRequests();

    const calls: SimCall[] = [];
    const ends: Array<Promise<unknown>> = [];
    const traffic = setInterval(() => {
      void ctl.startCall({ from: `+7999${String(calls.length).padStart(7, '0')}`, to: '101' }).then((call) => {
        calls.push(call);
        ends.push(new Promise((resolve) => setTimeout(resolve, 200)).then(() => ctl.hangup(call.id)));
      });
    }, 150);
    try {
      for (let i = 1; i <= 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        await helper.setFlows(flow(`redeployed ${i}`), 'nodes', USER_CREDENTIALS);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      clearInterval(traffic);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.all(ends);
    assert.ok(calls.length >= 15, `calls were made during the redeploys (${calls.length})`);

    const expected = calls.length * 2;
    await out.until((m) => m.length >= expected, 10_000, `${expected} messages (an invite and a dlg_end per call)`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const call of calls) {
      const mine = out.messages.filter((m) => m.connectionId === call.connectionid);
      assert.deepEqual(mine.map((m) => m.topic), ['callevents.invite', 'callevents.dlg_end'], `call ${call.connectionid}`);
      assert.ok(mine.every((m) => m.replayed === undefined), 'live events, nothing made up');
    }
    assert.equal(out.messages.length, expected, 'no other message');
    const deletions = (await ctl.requests()).filter((r) => r.kind === 'ws' && r.method === 'subscribe' && (r.body as Record<string, unknown>).expires === 0);
    assert.deepEqual(deletions, [], 'the platform subscription was never deleted across the redeploys');
  });

  it('a full redeploy (a new connection) reports what happened to the calls meanwhile, like an outage', async function () {
    const flow = (pingInterval: number): FlowNode[] => [
      serverNode(sim, { pingInterval }),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite, callevents.dlg_end', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await load(flow(1));
    let out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
    const ending = await ctl.startCall({ from: '+79990000001', to: '101' });
    await out.until((m) => m.some((x) => x.connectionId === ending.connectionid), 5000, 'the first call\'s invite');
    // What the platform sends while the flows restart is heard by no one.
    await ctl.faults({ dropEvents: true });
    await ctl.hangup(ending.id);
    const starting = await ctl.startCall({ from: '+79990000002', to: '102' });
    await helper.setFlows(flow(2), 'full', USER_CREDENTIALS);
    out = new Inbox('out');
    await ctl.faults({ dropEvents: null });
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end' && x.connectionId === ending.connectionid), 8000, 'the end of the call that ended during the redeploy');
    await out.until((m) => m.some((x) => x.topic === 'callevents.invite' && x.connectionId === starting.connectionid), 8000, 'the call that started during the redeploy');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ended = out.messages.filter((m) => m.connectionId === ending.connectionid);
    assert.deepEqual(ended.map((m) => [m.topic, m.replayed]), [['callevents.dlg_end', true]], 'reported ended once, as made up');
    assert.equal((ended[0]!.call as Record<string, unknown>).state, 'ended');
    const started = out.messages.filter((m) => m.connectionId === starting.connectionid);
    assert.deepEqual(started.map((m) => [m.topic, m.replayed]), [['callevents.invite', true]]);
  });

  it('a server redeployed to another platform asks it nothing about the first one\'s calls', async function () {
    const other = await simulator({ dlgStopDelayMs: 0 });
    try {
      const flow = (platform: Simulator): FlowNode[] => [
        serverNode(platform),
        { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ];
      await load(flow(sim));
      let out = new Inbox('out');
      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
      const call = await ctl.startCall();
      await out.until((m) => m.some((x) => x.connectionId === call.connectionid), 5000, 'the call on the first platform');
      await helper.setFlows(flow(other.sim), 'full', USER_CREDENTIALS);
      out = new Inbox('out');
      await eventually(async () => (await other.ctl.subscriptions()).length > 0, 5000, 'a subscription on the other platform');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(out.messages.filter((m) => m.connectionId === call.connectionid), [], 'nothing made up about a call of the first platform');
      const asked = (await other.ctl.requests()).filter((r) => r.path.includes(encodeURIComponent(call.connectionid)) || r.path.includes(call.connectionid));
      assert.deepEqual(asked, []);
    } finally {
      await other.sim.stop();
    }
  });
});
