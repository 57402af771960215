/**
 * A stored password goes only to the platform it was typed for, on a deploy as in the dialog's
 * buttons: the editor sends no password it did not change, so a deploy that changed only the
 * URL keeps the stored one, and the hidden credential `secretFor` (set by the dialog when the
 * password is typed) is what the era-server checks before using it.
 */
import assert from 'node:assert/strict';
import { platformKey, platformOf } from '../../src/nodes/lib/dialog-options';
import { eventually, helper, load, serverNode, startRed, StatusLog, stopRed, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const PASSWORD = 'Pw-typed-for-home-3b7d';

describe('era-server: a deploy sends a stored password only to the platform it was typed for', function () {
  this.timeout(30_000);
  let home: Simulator;
  let homeCtl: SimControl;
  /** Another platform that would accept the stored password: the proof that it was never offered. */
  let other: Simulator;
  let otherCtl: SimControl;
  let statuses: StatusLog;

  const typedFor = (sim: Simulator): string => platformKey(platformOf({ url: sim.url, domain: 'demo.local', authMode: 'user' }));
  const flow = (sim: Simulator): FlowNode[] => [
    { id: 'tab', type: 'tab' },
    serverNode(sim),
    { id: 'ev', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [] },
  ];

  beforeEach(async () => {
    ({ sim: home, ctl: homeCtl } = await simulator({ password: PASSWORD }));
    ({ sim: other, ctl: otherCtl } = await simulator({ password: PASSWORD }));
    statuses = new StatusLog();
    await startRed();
    await load(flow(home), { srv: { login: 'operator', password: PASSWORD, secretFor: typedFor(home) } });
    await eventually(async () => (await homeCtl.subscriptions()).length > 0, 10_000, 'the deployed flow subscribed');
    await otherCtl.clearRequests();
  });

  afterEach(async () => {
    statuses.stop();
    await stopRed();
    await home.stop();
    await other.stop();
  });

  it('only the URL changed (the password left as stored): nothing reaches the new host, a red status says to type the password again, and the rest of the flow runs', async () => {
    const before = statuses.of('ev').length;
    // As the editor deploys it: the node's credentials untouched, so none in the flow.
    await helper.setFlows([...flow(other), { id: 'inj', z: 'tab', type: 'helper' }], 'full', {});
    await eventually(() => statuses.of('ev').slice(before).some((s) => s.fill === 'red' && s.shape === 'dot'), 5000, 'a red status');
    const shown = statuses.of('ev').slice(before).map((s) => s.text ?? '').join(' | ');
    assert.match(shown, /password/i, shown);
    assert.ok(!shown.includes(PASSWORD), 'the password is in no status');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(await otherCtl.requests(), [], 'nothing was sent to the new host');
    assert.ok(helper.getNode('inj'), 'the rest of the flow was deployed');
  });

  it('the password typed again for the new URL: it connects there', async () => {
    await helper.setFlows(flow(other), 'full', { srv: { login: 'operator', password: PASSWORD, secretFor: typedFor(other) } });
    await eventually(async () => (await otherCtl.subscriptions()).length > 0, 10_000, 'subscribed at the new host');
  });

  it('a flow saved before the mark existed (no secretFor): its stored password is taken as typed for its URL', async () => {
    await helper.setFlows(flow(other), 'full', { srv: { login: 'operator', password: PASSWORD } });
    await eventually(async () => (await otherCtl.subscriptions()).length > 0, 10_000, 'subscribed');
  });
});
