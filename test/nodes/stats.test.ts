/**
 * era-stats in Node-RED against the simulator: the figures every interval and on any message
 * (passed on), settings out of range brought into it with one warning (never a 1 ms loop or a
 * TimeoutOverflowWarning), the platform down (the snapshot and the status say so), no server,
 * and the window kept across a redeploy.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { log as runtimeLog } from '@node-red/util';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

/** Node-RED's log level of node.warn. */
const WARN = 30;

type Payload = Record<string, unknown> & {
  live: Record<string, number> | null;
  window: Record<string, unknown>;
  operators: Record<string, { state: string | null; calls: number; talkSeconds: number }>;
};

const payloadOf = (m: Record<string, unknown>) => m.payload as Payload;

/** Records node.warn lines while it is on. */
class Warnings {
  readonly lines: string[] = [];
  private readonly handler = new EventEmitter().on('log', (r: { level?: number; msg?: unknown }) => {
    if (r.level === WARN) this.lines.push(String(r.msg));
  });

  constructor() {
    runtimeLog.addHandler(this.handler);
  }

  stop(): void {
    runtimeLog.removeHandler(this.handler);
  }
}

describe('era-stats', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async () => {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
  });

  afterEach(async () => {
    await stopRed();
    await sim.stop();
  });

  const stats = (extra: Record<string, unknown> = {}): FlowNode => ({ id: 'stats', z: 'tab', type: 'era-stats', server: 'srv', wires: [['out']], ...extra });

  it('every interval: topic era-stats and the payload nodes.md lists, with the calls going on and finished', async () => {
    await load([{ id: 'tab', type: 'tab' }, serverNode(sim), stats({ interval: 1, window: 30, serviceLevel: 10 }), { id: 'out', z: 'tab', type: 'helper' }]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the call table subscribed');
    const done = await ctl.startCall({ from: '+79990000001', to: '101', answer: true });
    await ctl.hangup(done.id);
    await ctl.startCall({ from: '+79990000002', to: '102' });
    await out.until((m) => m.some((x) => payloadOf(x).live?.ringing === 1 && payloadOf(x).window.answered === 1), 5000, 'a snapshot with both calls');
    const msg = out.messages.find((x) => payloadOf(x).live?.ringing === 1 && payloadOf(x).window.answered === 1)!;
    assert.equal(msg.topic, 'era-stats');
    const p = payloadOf(msg);
    assert.deepEqual(Object.keys(p).sort(), ['at', 'connected', 'connection', 'live', 'longestRingingSeconds', 'operators', 'window']);
    assert.equal(typeof p.at, 'number');
    assert.equal(p.connected, true);
    assert.deepEqual(p.live, { ringing: 1, talking: 0, held: 0, total: 1 });
    assert.equal(typeof p.longestRingingSeconds, 'number');
    assert.deepEqual(p.window, {
      minutes: 30, inbound: 1, outbound: 0, answered: 1, missed: 0, unanswered: 0, failed: 0, serviceLevel: 100, averageRingSeconds: 0, averageTalkSeconds: 0,
    });
    assert.deepEqual(p.operators, { 101: { state: 'free', calls: 1, talkSeconds: 0 }, 102: { state: 'ringing', calls: 0, talkSeconds: 0 } });
    const count = out.messages.length;
    await sleep(2300);
    assert.ok(out.messages.length >= count + 1 && out.messages.length <= count + 3, `about one a second: ${out.messages.length - count} in 2.3 s`);
  });

  it('any input message asks for the figures at once and goes on with them, its other properties kept', async () => {
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim),
      stats({ interval: 3600 }),
      { id: 'out', z: 'tab', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the call table subscribed');
    await ctl.startCall({ to: '103', answer: true });
    await sleep(300);
    helper.getNode('stats').receive({ topic: 'refresh', payload: 'anything', _msgid: 'm-1', keep: { me: true } });
    await out.count(1);
    const [msg] = out.messages;
    assert.equal(msg!._msgid, 'm-1', 'the incoming message, passed on');
    assert.deepEqual(msg!.keep, { me: true });
    assert.equal(msg!.topic, 'era-stats');
    assert.deepEqual(payloadOf(msg!).live, { ringing: 0, talking: 1, held: 0, total: 1 });
    assert.equal(payloadOf(msg!).operators['103']!.state, 'talking');
    helper.getNode('stats').receive({ payload: 2 });
    await out.count(2);
    assert.notEqual(out.messages[1]!.payload, out.messages[0]!.payload, 'each message has figures of its own');
  });

  it('interval 0, negative, text or 10^9 and a window over a day: brought into range with one warning each node, no 1 ms loop, no overflow', async () => {
    const overflows: string[] = [];
    const onWarning = (w: Error) => overflows.push(w.name);
    process.on('warning', onWarning);
    const warnings = new Warnings();
    try {
      await load([
        { id: 'tab', type: 'tab' },
        serverNode(sim),
        stats({ id: 'zero', interval: 0, window: 2000, wires: [['fast']] }),
        stats({ id: 'negative', interval: -5, serviceLevel: -1, wires: [['fast']] }),
        stats({ id: 'text', interval: 'ten', window: 'an hour', serviceLevel: '20\n', wires: [['fast']] }),
        stats({ id: 'huge', interval: 1e9, window: 1e9, wires: [['slow']] }),
        stats({ id: 'fine', interval: '2', window: '', serviceLevel: 5, wires: [['slow']] }),
        { id: 'fast', z: 'tab', type: 'helper' },
        { id: 'slow', z: 'tab', type: 'helper' },
      ]);
      const fast = new Inbox('fast');
      const slow = new Inbox('slow');
      await sleep(2500);
      // zero and negative: every second; text: every 5 s (the default) — never every millisecond.
      assert.ok(fast.messages.length >= 2 && fast.messages.length <= 6, `${fast.messages.length} messages in 2.5 s`);
      assert.ok(slow.messages.length <= 1, `1e9 s → an hour; "2" → every 2 s: ${slow.messages.length}`);
      assert.deepEqual(overflows.filter((w) => w === 'TimeoutOverflowWarning'), []);
      const mine = warnings.lines.filter((l) => l.startsWith('era-stats:'));
      assert.equal(mine.length, 4, mine.join('\n'));
      assert.ok(mine.some((l) => l.includes('interval 0 is below 1 s: using 1 s') && l.includes('window 2000 is over 1440 min (at most a day): using 1440 min')), mine.join('\n'));
      assert.ok(mine.some((l) => l.includes('interval -5 is below 1 s') && l.includes('serviceLevel -1 is below 0 s: using 0 s')), mine.join('\n'));
      assert.ok(mine.some((l) => l.includes('interval "ten" is not a number: using 5 s') && l.includes('window "an hour" is not a number: using 60 min')), mine.join('\n'));
      assert.ok(mine.some((l) => l.includes('interval 1000000000 is over 3600 s (at most an hour): using 3600 s')), mine.join('\n'));
      assert.ok(!mine.some((l) => l.includes('serviceLevel "20')), '"20\\n" is a number with a pasted line break: fine');

      const huge = new Inbox('slow');
      helper.getNode('huge').receive({ payload: 'now' });
      await huge.until((m) => m.some((x) => x.topic === 'era-stats' && (payloadOf(x).window as { minutes: number }).minutes === 1440), 5000, 'the clamped node answers');
      helper.getNode('fine').receive({ payload: 'now' });
      await huge.until((m) => m.some((x) => (payloadOf(x).window as { minutes: number }).minutes === 60), 5000, 'an empty window is the default');
      await sleep(500);
      assert.equal(warnings.lines.filter((l) => l.startsWith('era-stats:')).length, 4, 'warned once, not every interval');
    } finally {
      warnings.stop();
      process.off('warning', onWarning);
    }
  });

  it('the platform down: the status shows it, the snapshot says so with no live figures, and the flow goes on when it is back', async () => {
    const statuses = new StatusLog();
    try {
      await load([{ id: 'tab', type: 'tab' }, serverNode(sim), stats({ interval: 3600 }), { id: 'out', z: 'tab', type: 'helper' }]);
      const out = new Inbox('out');
      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the call table subscribed');
      const call = await ctl.startCall({ to: '101', answer: true });
      await ctl.hangup(call.id);
      await ctl.startCall({ to: '102' });
      await eventually(() => statuses.has('stats', 'green', 'dot'), 5000, 'connected');
      await sleep(300);

      const restarted = sim.restart({ downMs: 2000 });
      await eventually(() => statuses.has('stats', 'red', 'ring'), 5000, 'the status shows the loss');
      helper.getNode('stats').receive({ payload: 'now' });
      await out.count(1);
      const down = payloadOf(out.messages[0]!);
      assert.equal(down.connected, false);
      assert.ok(['disconnected', 'connecting'].includes(String(down.connection)), String(down.connection));
      assert.equal(down.live, null);
      assert.equal(down.longestRingingSeconds, null);
      assert.equal(down.window.answered, 1, 'the finished calls are still counted');
      assert.deepEqual(down.operators, { 101: { state: null, calls: 1, talkSeconds: 0 } });

      await restarted;
      await eventually(() => statuses.of('stats').at(-1)?.fill === 'green', 10_000, 'connected again');
      // Connected, the table first catches up with the platform's list ('syncing', no live
      // figures): asked again until the snapshot vouches for them.
      await eventually(async () => {
        const asked = out.messages.length + 1;
        helper.getNode('stats').receive({ payload: 'now' });
        await out.count(asked);
        const snapshot = payloadOf(out.messages[asked - 1]!);
        if (snapshot.connected) return true;
        assert.equal(snapshot.connection, 'syncing', 'connected again, only the catching up keeps the live figures back');
        assert.equal(snapshot.live, null);
        return false;
      }, 10_000, 'a snapshot connected again');
      const back = payloadOf(out.messages.at(-1)!);
      assert.equal(back.connected, true);
      assert.deepEqual(back.live, { ringing: 1, talking: 0, held: 0, total: 1 });
    } finally {
      statuses.stop();
    }
  });

  it('no server: a clear error to Catch, a red status, nothing sent by the timer, and the other nodes keep working', async () => {
    const statuses = new StatusLog();
    try {
      await load([
        { id: 'tab', type: 'tab' },
        serverNode(sim),
        { id: 'lost', z: 'tab', type: 'era-stats', server: 'nowhere', interval: 1, wires: [['out']] },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['lost'], wires: [['caught']] },
        stats({ interval: 3600 }),
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'caught', z: 'tab', type: 'helper' },
      ]);
      const out = new Inbox('out');
      const caught = new Inbox('caught');
      helper.getNode('lost').receive({ payload: 'now' });
      await caught.count(1);
      const error = caught.messages[0]!.error as { message: string; source: { id: string } };
      assert.match(error.message, /No Era server is configured/);
      assert.equal(error.source.id, 'lost');
      assert.ok(statuses.has('lost', 'red', 'dot'));
      await sleep(1300);
      assert.equal(out.messages.length, 0, 'the node without a server sends nothing');
      helper.getNode('stats').receive({ payload: 'now' });
      await out.count(1);
      assert.equal(out.messages[0]!.topic, 'era-stats');
    } finally {
      statuses.stop();
    }
  });

  it('a redeploy keeps the window counted so far; a changed window starts afresh; a removed node leaves nothing running', async () => {
    const flow = (extra: Record<string, unknown>): FlowNode[] => [{ id: 'tab', type: 'tab' }, serverNode(sim), stats({ interval: 3600, ...extra }), { id: 'out', z: 'tab', type: 'helper' }];
    await load(flow({ name: 'first' }));
    let out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the call table subscribed');
    for (const to of ['101', '102']) {
      const call = await ctl.startCall({ to, answer: true });
      await ctl.hangup(call.id);
    }
    const ask = async (n: number) => {
      helper.getNode('stats').receive({ payload: 'now' });
      await out.count(n);
      return payloadOf(out.messages[n - 1]!);
    };
    await eventually(async () => (await ask(out.messages.length + 1)).window.answered === 2, 5000, 'two answered');

    await helper.setFlows(flow({ name: 'renamed' }), 'nodes', USER_CREDENTIALS);
    out = new Inbox('out');
    assert.equal((await ask(1)).window.answered, 2, 'a redeploy of the node');
    await helper.setFlows(flow({ name: 'renamed again' }), 'full', USER_CREDENTIALS);
    out = new Inbox('out');
    assert.equal((await ask(1)).window.answered, 2, 'a full redeploy (a new connection)');
    await helper.setFlows(flow({ name: 'renamed again', window: 10 }), 'nodes', USER_CREDENTIALS);
    out = new Inbox('out');
    const changed = await ask(1);
    assert.equal(changed.window.answered, 0);
    assert.equal(changed.window.minutes, 10);

    // The same server node pointed at another platform: nothing counted on the first is carried there.
    const other = await simulator();
    try {
      await helper.setFlows(flow({ name: 'renamed again', window: 10 }).map((n) => (n.type === 'era-server' ? { ...n, url: other.sim.url } : n)), 'full', USER_CREDENTIALS);
      out = new Inbox('out');
      assert.equal((await ask(1)).window.answered, 0, 'another platform starts afresh');
    } finally {
      await other.sim.stop();
    }

    await helper.setFlows([{ id: 'tab', type: 'tab' }, serverNode(sim), { id: 'out', z: 'tab', type: 'helper' }], 'full', USER_CREDENTIALS);
    await eventually(async () => (await ctl.subscriptions()).length === 0, 5000, 'nothing needs the calls subscription any more');
  });
});
