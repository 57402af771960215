/**
 * A half-open socket: the path to the platform stops carrying anything (a frozen TCP relay:
 * the connection stays up, no data and no FIN pass), as when a NAT or a firewall drops a
 * connection silently. The client's documented bound: found within pingInterval +
 * pingTimeout (era-server's pingInterval is in seconds; the client's pingTimeoutMs is 5 s),
 * then events resume by themselves once the path works again.
 */
import assert from 'node:assert/strict';
import { FreezableProxy } from '../client/helpers';
import { eventually, Inbox, load, serverNode, startRed, StatusLog, stopRed } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

const PING_INTERVAL_S = 0.5;
const PING_TIMEOUT_MS = 5000; // the client's default; era-server has no setting for it
/** Timers firing late on a loaded machine, and the 20 ms polling of the status. */
const LATE_MS = 2000;
/** A ping sent just before the path froze, its pong stopped: its timeout started a little before the clock. */
const EARLY_MS = 400;

describe('faults: a half-open socket', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let proxy: FreezableProxy;
  let statuses: StatusLog;

  beforeEach(async function () {
    ({ sim } = await simulator());
    proxy = new FreezableProxy(sim.port);
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await proxy.stop();
    await sim.stop();
  });

  it('is found within pingInterval + pingTimeout, and events resume after recovery', async function () {
    const url = await proxy.start();
    await load([
      { ...serverNode(sim, { pingInterval: PING_INTERVAL_S, requestTimeout: 1 }), url },
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'connected');
    await eventually(() => sim.subscriptions().length > 0, 5000, 'subscribed');
    sim.startCall({ from: '+79990001001', to: '101' });
    await out.count(1);

    const seen = statuses.of('ev').length;
    const frozenAt = Date.now();
    proxy.frozen = true;
    const lost = () => statuses.of('ev').slice(seen).find((s) => s.fill === 'red');
    await eventually(() => lost() !== undefined, 15_000, 'the dead socket to be noticed');
    const took = Date.now() - frozenAt;
    proxy.frozen = false;

    const bound = PING_INTERVAL_S * 1000 + PING_TIMEOUT_MS;
    assert.ok(took <= bound + LATE_MS, `found after ${took} ms; the bound is ${bound} ms`);
    // A pong is only missed after pingTimeout: earlier would mean a live socket could be cut.
    assert.ok(took >= PING_TIMEOUT_MS - EARLY_MS, `found after ${took} ms, before the ${PING_TIMEOUT_MS} ms pong timeout`);
    assert.equal(lost()!.shape, 'ring', 'shown as disconnected (red ring)');
    assert.match(String(lost()!.text), /ping/i, 'the status says why');

    const back = statuses.of('ev').length;
    await eventually(() => statuses.of('ev').slice(back).some((s) => s.fill === 'green'), 10_000, 'connected again');
    await eventually(() => sim.subscriptions().length > 0, 5000, 'subscribed again');
    const call = sim.startCall({ from: '+79990001002', to: '101' });
    await out.until((m) => m.some((x) => x.connectionId === call.connectionid), 5000, 'an event after recovery');
    assert.equal(out.messages.filter((m) => m.connectionId === call.connectionid).length, 1, 'once, though the old socket is still open at the platform');
  });
});
