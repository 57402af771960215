/**
 * era-calls in poll mode: a flow that edits the messages it gets cannot make up changes (each
 * message has a payload of its own, apart from the snapshot kept for the next comparison), and
 * an interval longer than a timer can wait is shortened with one warning instead of turning
 * into a poll every millisecond.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { log as runtimeLog } from '@node-red/util';
import { eventually, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const THIRTY_DAYS_S = 30 * 24 * 3600;
/** Node-RED's log level of node.warn. */
const WARN = 30;

describe('era-calls poll mode: edges', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async () => {
    ({ sim, ctl } = await simulator());
    await startRed();
  });

  afterEach(async () => {
    await stopRed();
    await sim.stop();
  });

  /** Requests for the call list the simulator answered so far. */
  const polls = async () => (await ctl.requests()).filter((r) => r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls').length;

  it('a function node editing msg.payload.state makes no change on the next polls', async () => {
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim),
      { id: 'calls', z: 'tab', type: 'era-calls', server: 'srv', mode: 'poll', interval: 0.1, wires: [['edit']] },
      { id: 'edit', z: 'tab', type: 'function', func: 'msg.payload.state = "edited by the flow"; msg.payload.tonum = "000"; return msg;', outputs: 1, wires: [['out']] },
      { id: 'out', z: 'tab', type: 'helper' },
    ]);
    const out = new Inbox('out');
    const call = await ctl.startCall();
    await out.until((m) => m.some((x) => x.topic === 'callevents.invite'), 5000, 'the call appeared');
    assert.equal((out.messages[0]!.payload as Record<string, unknown>).state, 'edited by the flow', 'the function node did edit it');
    const seen = await polls();
    await eventually(async () => (await polls()) >= seen + 8, 10_000, 'eight more polls');
    assert.deepEqual(out.messages.map((m) => m.topic), ['callevents.invite'], 'no change was made up from the edit');
    await ctl.answer(call.id);
    await out.until((m) => m.length >= 2, 5000, 'the answer');
    assert.deepEqual(out.messages.map((m) => m.topic), ['callevents.invite', 'callevents.dlg_start'], 'a real change still comes, once');
  });

  it('an interval of 30 days: no TimeoutOverflowWarning, one warning from the node, one poll', async () => {
    const overflows: string[] = [];
    const onWarning = (w: Error) => overflows.push(`${w.name}: ${w.message}`);
    const records: Array<{ level?: number; msg?: unknown }> = [];
    const logs = new EventEmitter().on('log', (r: { level?: number; msg?: unknown }) => records.push(r));
    process.on('warning', onWarning);
    runtimeLog.addHandler(logs);
    try {
      await load([
        { id: 'tab', type: 'tab' },
        // The server's own timings too: a ping every 30 days, a 30-day request timeout.
        serverNode(sim, { pingInterval: THIRTY_DAYS_S, requestTimeout: THIRTY_DAYS_S }),
        { id: 'calls', z: 'tab', type: 'era-calls', server: 'srv', mode: 'poll', interval: THIRTY_DAYS_S, wires: [['out']] },
        { id: 'ev', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
      ]);
      const out = new Inbox('out');
      await eventually(async () => (await ctl.subscriptions()).length > 0, 10_000, 'the socket is up, its ping timer armed');
      // era-events follows the call table, which lists the calls going on when it first connects.
      await eventually(async () => (await polls()) >= 2, 5000, 'the first poll, and the list read on connecting');
      await sleep(500);
      assert.equal(await polls(), 2, 'one poll (and the list read on connecting), not one a millisecond');
      assert.deepEqual(overflows.filter((w) => w.startsWith('TimeoutOverflowWarning')), []);
      const warned = records.filter((r) => r.level === WARN).map((r) => String(r.msg));
      assert.equal(warned.filter((m) => /era-calls: an interval of 2592000 s is longer than 24\.8 days/.test(m)).length, 1, warned.join('\n'));
      assert.equal(warned.filter((m) => /^requestTimeoutMs, pingIntervalMs longer than 24\.8 days/.test(m)).length, 1, warned.join('\n'));
      // Still a working flow: a call comes out of era-events.
      const call = await ctl.startCall();
      await out.until((m) => m.some((x) => x.connectionId === call.connectionid && x.topic === 'callevents.invite'), 5000, 'an event');
    } finally {
      process.off('warning', onWarning);
      runtimeLog.removeHandler(logs);
    }
  });
});
