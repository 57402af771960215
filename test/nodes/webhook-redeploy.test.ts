/**
 * era-webhook across redeploys and beside the server's other nodes: no registration left on a
 * platform that nobody renews, a reconcile interval no timer can hold, and made-up events that
 * stay out of the server's call table.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_NODES, eventually, helper, Inbox, serverNode, startRed, StatusLog, stopRed, TOKEN_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';
import { logged, RedStack } from './webhook-stack';

const SECRET = 'w3bh00k-secret';

describe('era-webhook: registrations across redeploys, reconciliation beside era-events', function () {
  this.timeout(30_000);
  let stack: RedStack;
  let sim: Simulator;
  let ctl: SimControl;
  let other: Simulator;
  let statuses: StatusLog;

  before(async function () {
    stack = await RedStack.start();
  });

  after(async function () {
    await stack.close();
  });

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    ({ sim: other } = await simulator({ token: 'other-token' }));
    statuses = new StatusLog();
    stack.configure();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await helper.setFlows([], 'full');
    await stopRed();
    stack.unmount();
    await sim.stop();
    await other.stop();
  });

  /** Fresh objects each time: the runtime's credential store keeps (and an inline edit changes) the very objects it was given. */
  const creds = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
    structuredClone({ ...TOKEN_CREDENTIALS, srv2: { token: 'other-token' }, wh: { secret: SECRET }, ...extra });

  /** era-webhook `wh` registering through `server`; `srv` on the simulator, `srv2` on the other one. */
  function flow(webhook: Record<string, unknown> = {}, srv: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: 'wh', type: 'era-webhook', server: 'srv', path: '/era/events', events: 'callevents.*', reconcile: 3600, register: true, publicUrl: stack.origin, wires: [['out']], ...webhook },
      { id: 'out', type: 'helper' },
      serverNode(sim, { authMode: 'token', ...srv }),
      { ...serverNode(other, { authMode: 'token' }), id: 'srv2' },
    ];
  }

  async function load(nodes: FlowNode[], credentials = creds()): Promise<void> {
    await helper.load([stack.mount, ...ALL_NODES], nodes, credentials);
  }

  const ids = (s: Simulator): string[] => s.webhookRegistrations().map((r) => r.id);

  async function registeredOn(s: Simulator): Promise<string> {
    await eventually(() => s.webhookRegistrations().length === 1, 5000, 'one registration');
    return s.webhookRegistrations()[0]!.id;
  }

  it('the same server redeployed (full): the successor renews the same webhook, none is added', async function () {
    await load(flow());
    const id = await registeredOn(sim);
    await helper.setFlows(flow(), 'full', creds());
    await eventually(async () => (await ctl.requests()).some((r) => r.method === 'PUT' && r.status === 200), 5000, 'renewed by the successor');
    await sleep(200);
    assert.deepEqual(ids(sim), [id]);
    assert.deepEqual(ids(other), []);
  });

  it('switched to another server node: deleted on the old platform, created on the new one', async function () {
    await load(flow());
    await registeredOn(sim);
    await helper.setFlows(flow({ server: 'srv2' }), 'nodes', creds());
    await registeredOn(other);
    await eventually(() => ids(sim).length === 0, 5000, 'the old one deleted');
  });

  it('its server edited to another URL: deleted on the old platform, created on the new one', async function () {
    await load(flow());
    await registeredOn(sim);
    await helper.setFlows(flow({}, { url: other.url }), 'nodes', creds({ srv: { token: 'other-token' } }));
    await registeredOn(other);
    await eventually(() => ids(sim).length === 0, 5000, 'the old one deleted');
  });

  it('its server edited to another token: the old webhook deleted with the old one; the new token refused, none is left', async function () {
    await load(flow());
    await registeredOn(sim);
    // As the editor deploys an edited credential: inline, so that the server counts as changed.
    await helper.setFlows(flow({}, { credentials: { token: 'revoked-token' } }), 'nodes', creds({ srv: { token: 'revoked-token' } }));
    await eventually(() => ids(sim).length === 0, 5000, 'the old one deleted');
    await eventually(() => statuses.has('wh', 'red', 'ring'), 5000, 'the new token refused');
    const deletion = (await ctl.requests()).find((r) => r.method === 'DELETE');
    assert.equal(deletion?.status, 200, 'deleted with the token it was made with');
  });

  it('removed: deleted; a successor that cannot start: deleted too', async function () {
    await load(flow());
    await registeredOn(sim);
    await helper.setFlows(flow().filter((n) => n.id !== 'wh'), 'nodes', creds());
    await eventually(() => ids(sim).length === 0, 5000, 'deleted with the node');

    await helper.setFlows(flow(), 'nodes', creds());
    await registeredOn(sim);
    await helper.setFlows(flow({ path: '/era events' }), 'nodes', creds());
    await eventually(() => ids(sim).length === 0, 5000, 'deleted: its successor never renews it');
    assert.match(logged('wh', 20).join('\n'), /path "\/era events" must be like/);
  });

  it('reconcile every 30 days: clamped with one warning, no timer overflow, no 1 ms loop', async function () {
    const overflows: string[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'TimeoutOverflowWarning') overflows.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      await load(flow({ register: false, reconcile: 30 * 24 * 3600 }));
      await eventually(async () => (await ctl.requests()).some((r) => r.path === '/rest/v1/uc/calls'), 5000, 'the first reconciliation');
      await sleep(500);
      assert.equal((await ctl.requests()).filter((r) => r.path === '/rest/v1/uc/calls').length, 1, 'reconciled once, at start');
      assert.deepEqual(logged('wh', 30).filter((w) => w.includes('reconcile')), ['era-webhook: reconcile every 2592000 s is longer than a Node.js timer can wait: it reconciles every 2147483 s (24.8 days) instead']);
      assert.deepEqual(overflows, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a made-up event stays out of the server\'s call table: the socket\'s live event for that call still reaches era-events', async function () {
    const nodes: FlowNode[] = [
      ...flow({ register: false, reconcile: 1 }),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out-ev']] },
      { id: 'out-ev', type: 'helper' },
    ];
    await load(nodes);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the socket subscribed');
    const hook = new Inbox('out');
    const live = new Inbox('out-ev');
    // The platform holds its events back: the call is heard of only through the call list.
    sim.setFaults({ dropEvents: true });
    const call = await ctl.startCall({ from: '+79990001122', to: '101' });
    await hook.until((m) => m.some((x) => x.topic === 'callevents.invite'), 5000, 'the reconciliation to make up the invite');
    const madeUp = hook.messages.find((m) => m.topic === 'callevents.invite')!;
    assert.deepEqual([madeUp.replayed, madeUp.connectionId, (madeUp.call as { state: string }).state], [true, call.connectionid, 'ringing']);

    // Then the platform's own invite comes over the socket.
    sim.clearFaults();
    const data = { eventid: 'live-invite', eventts: Date.now(), cid: call.cid, connectionid: call.connectionid, invitets: call.invitets, fromnum: call.fromnum, tonum: call.tonum, dir: 'in' };
    await ctl.call('POST', 'ws/send', { frame: ['event', { class: 'callevents', type: 'invite', data }] });
    await live.until((m) => m.some((x) => x.eventId === 'live-invite'), 5000, 'the live invite at era-events');
    assert.equal(live.messages.find((m) => m.eventId === 'live-invite')!.replayed, undefined);
  });
});
