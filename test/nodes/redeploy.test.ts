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
});
