import assert from 'node:assert/strict';
import { eventually, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

describe('a whole call-control flow', function () {
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

  it('era-events → answer → dtmf → transfer → hangup, with no change node', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['answer']] },
      { id: 'answer', type: 'era-answer', server: 'srv', wires: [['dtmf']] },
      { id: 'dtmf', type: 'era-dtmf', server: 'srv', digits: '1#', digitsType: 'str', wires: [['transfer']] },
      { id: 'transfer', type: 'era-transfer', server: 'srv', mode: 'blind', to: '102', toType: 'str', wires: [['hangup']] },
      { id: 'hangup', type: 'era-hangup', server: 'srv', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    const call = await ctl.startCall({ from: '+79997776655', to: '101' });
    await out.count(1, 8000);
    assert.equal(out.messages[0].connectionId, call.connectionid);
    const methods = (await ctl.requests()).filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/calls/')).map((r) => r.method);
    assert.deepEqual(methods, ['NOTIFY', 'SEND_DTMF', 'REFER', 'DELETE']);
    const final = await ctl.getCall(call.id);
    assert.equal(final.state, 'ended');
    assert.equal(final.tonum, '102');
  });
});
