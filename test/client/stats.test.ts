/**
 * The client's live figures (client.callStats, calls/stats.ts) against the simulator over real
 * sockets: the calls going on now from the call table, the window's finished calls with their
 * outcomes as the call log names them, the operators, a platform that goes away, a window carried
 * to a successor; and, on the call table itself, a window of 100,000 finished calls whose memory
 * does not grow with them.
 */
import assert from 'node:assert/strict';
import type { CallStatsSnapshot, EraClient, EraEvent, LoggedCall } from '../../src/era';
import { CallFeed } from '../../src/era/calls/feed';
import { CallStats, MAX_OPERATOR_TALLIES, StatsWindow } from '../../src/era/calls/stats';
import { CallTable } from '../../src/era/calls/table';
import { retainedBytes } from '../support/gc';
import { ctl, newLog, sim, sleep, startCall, subscribed, userClient, waitFor, waitForState, type Simulator } from './helpers';

const HOUR = 3_600_000;

describe('client: live figures', () => {
  let s: Simulator;
  let client: EraClient;

  beforeEach(async () => {
    s = await sim();
    client = userClient(s.url);
  });
  afterEach(async () => {
    await client.close();
    await s.stop();
  });

  /** Figures on the client, once its subscription is live. */
  async function stats(spec: Partial<Parameters<EraClient['callStats']>[0]> = {}) {
    const handle = client.callStats({ windowMs: HOUR, serviceLevelMs: 20_000, ...spec });
    await subscribed(s);
    await waitForState(client, 'connected');
    return handle;
  }

  async function until(handle: { snapshot(): CallStatsSnapshot }, what: string, check: (f: CallStatsSnapshot) => boolean, timeoutMs = 5000): Promise<CallStatsSnapshot> {
    let last = handle.snapshot();
    await waitFor(`${what} (last: ${JSON.stringify(last)})`, () => check((last = handle.snapshot())), timeoutMs);
    return last;
  }

  it('the calls going on now: ringing, talking, held, each number\'s state and the longest ringing', async () => {
    const figures = await stats();
    // Connected, the client first learns the calls going on (its state is syncing meanwhile).
    const empty = await until(figures, 'the calls going on learnt', (f) => f.live !== null);
    assert.deepEqual(empty.live, { ringing: 0, talking: 0, held: 0, total: 0 });
    assert.equal(empty.longestRingingSeconds, 0);
    assert.deepEqual(empty.operators, {});
    assert.equal(empty.connected, true);
    assert.equal(empty.connection, 'connected');

    const ringing = await startCall(s, { to: '101' });
    await startCall(s, { to: '102', answer: true });
    const held = await startCall(s, { to: '103', answer: true });
    await startCall(s, { from: '104', to: '+79995550000', dir: 'out' });
    await startCall(s, { from: '105', to: '106', dir: 'local', answer: true });
    await until(figures, 'five calls', (f) => f.live?.total === 5);
    await client.command({ op: 'hold', call: held.id });
    await sleep(1100);
    const f = await until(figures, 'one held', (x) => x.live?.held === 1);
    assert.deepEqual(f.live, { ringing: 2, talking: 2, held: 1, total: 5 });
    assert.ok(f.longestRingingSeconds! >= 1, `the first call has rung over a second: ${f.longestRingingSeconds}`);
    assert.deepEqual(f.operators, {
      101: { state: 'ringing', calls: 0, talkSeconds: 0 },
      102: { state: 'talking', calls: 0, talkSeconds: 0 },
      103: { state: 'held', calls: 0, talkSeconds: 0 },
      104: { state: 'ringing', calls: 0, talkSeconds: 0 },
      105: { state: 'talking', calls: 0, talkSeconds: 0 },
      106: { state: 'talking', calls: 0, talkSeconds: 0 },
    });
    assert.ok(f.at <= Date.now() && f.at > Date.now() - 5000);

    await ctl(s, 'POST', `calls/${ringing.id}/answer`);
    const after = await until(figures, 'the ringing call answered', (x) => x.live?.ringing === 1);
    assert.equal(after.operators['101']!.state, 'talking');
  });

  it('the window: each outcome as the call log names it, inbound and outbound, the service level, the averages and the operators', async () => {
    const records: LoggedCall[] = [];
    client.callLog({ waitRecordingMs: 0 }, (l) => records.push(l));
    const figures = await stats();
    const answered = await startCall(s, { from: '+79990000001', to: '101' });
    await sleep(1100);
    await ctl(s, 'POST', `calls/${answered.id}/answer`);
    await sleep(1100);
    await ctl(s, 'POST', `calls/${answered.id}/hangup`);
    const missed = await startCall(s, { to: '102' });
    await ctl(s, 'POST', `calls/${missed.id}/hangup`, { reason: 'cancel' });
    const failed = await startCall(s, { to: '103' });
    await ctl(s, 'POST', `calls/${failed.id}/hangup`, { reason: 'error' });
    const out = await startCall(s, { from: '104', to: '+79995550000', dir: 'out' });
    await ctl(s, 'POST', `calls/${out.id}/hangup`, { reason: 'timeout' });
    const local = await startCall(s, { from: '105', to: '106', dir: 'local', answer: true });
    await ctl(s, 'POST', `calls/${local.id}/hangup`);
    await startCall(s, { to: '107', answer: true });

    const f = await until(figures, 'five finished calls', (x) => x.window.answered + x.window.missed + x.window.unanswered + x.window.failed === 5);
    await waitFor('five records', () => records.length === 5);
    const { minutes, ...counts } = f.window;
    assert.equal(minutes, 60);
    assert.deepEqual(
      { inbound: counts.inbound, outbound: counts.outbound, answered: counts.answered, missed: counts.missed, unanswered: counts.unanswered, failed: counts.failed },
      { inbound: 3, outbound: 1, answered: 2, missed: 1, unanswered: 1, failed: 1 },
      'the internal call counts as answered, in neither inbound nor outbound',
    );
    assert.equal(f.window.serviceLevel, 33.3, 'one inbound call of three was answered, within 20 s');
    const byOutcome = (o: string) => records.filter((r) => r.record.outcome === o).length;
    assert.deepEqual([byOutcome('answered'), byOutcome('missed'), byOutcome('unanswered'), byOutcome('failed')], [2, 1, 1, 1], 'the call log agrees');
    const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
    assert.equal(f.window.averageRingSeconds, mean(records.map((r) => r.record.ringSeconds)));
    assert.equal(f.window.averageTalkSeconds, mean(records.filter((r) => r.record.outcome === 'answered').map((r) => r.record.talkSeconds)));
    assert.ok(f.window.averageRingSeconds > 0 && f.window.averageTalkSeconds > 0);

    assert.deepEqual(f.operators['101'], { state: 'free', calls: 1, talkSeconds: 1 }, 'answered an inbound call');
    assert.deepEqual(f.operators['104'], { state: 'free', calls: 1, talkSeconds: 0 }, 'made an outbound call');
    assert.equal(f.operators['105']!.calls, 1, 'the internal call\'s caller');
    assert.equal(f.operators['106']!.calls, 1, 'and whoever answered it');
    assert.equal(f.operators['102'], undefined, 'a missed call is nobody\'s');
    assert.equal(f.operators['103'], undefined, 'nor a failed one');
    assert.equal(f.operators['+79995550000'], undefined, 'an outside number is no operator');
    assert.deepEqual(f.operators['107'], { state: 'talking', calls: 0, talkSeconds: 0 });
    assert.equal(f.live?.total, 1);
  });

  it('a ring group answered by its second phone counts for that phone; the service level counts whole ring seconds against its threshold', async () => {
    const figures = await stats({ serviceLevelMs: 1000 });
    const group = await startCall(s, { to: '200', group: ['101', '102', '103'] });
    const live = await until(figures, 'the group ringing', (x) => x.live?.ringing === 1);
    assert.equal(live.operators['200']!.state, 'ringing', 'while it rings, the number called');
    await ctl(s, 'POST', `calls/${group.id}/answer`, { by: '102' });
    await ctl(s, 'POST', `calls/${group.id}/hangup`);
    const slow = await startCall(s, { to: '101' });
    await sleep(2100);
    await ctl(s, 'POST', `calls/${slow.id}/answer`);
    await ctl(s, 'POST', `calls/${slow.id}/hangup`);
    const f = await until(figures, 'two answered', (x) => x.window.answered === 2);
    assert.equal(f.window.serviceLevel, 50, 'the one answered at once is within 1 s, the one after 2 s is not');
    assert.equal(f.operators['102']!.calls, 1);
    assert.equal(f.operators['101']!.calls, 1);
    assert.equal(f.operators['200'], undefined, 'the group number answered nothing');
  });

  it('the platform down: not connected, no live figures, the window kept; a call that ended meanwhile counts once it is back', async () => {
    const figures = await stats();
    const done = await startCall(s, { to: '101', answer: true });
    await ctl(s, 'POST', `calls/${done.id}/hangup`);
    const ending = await startCall(s, { to: '102', answer: true });
    await startCall(s, { to: '103' });
    await until(figures, 'two live, one finished', (x) => x.live?.total === 2 && x.window.answered === 1);

    const restarted = s.restart({ downMs: 1500 });
    await waitFor('the client to see the loss', () => client.state !== 'connected');
    await s.hangupCall(ending.id);
    const down = figures.snapshot();
    assert.equal(down.connected, false);
    assert.notEqual(down.connection, 'connected');
    assert.equal(down.live, null, 'not the calls of before the outage as if current');
    assert.equal(down.longestRingingSeconds, null);
    assert.equal(down.window.answered, 1, 'the window is history: kept');
    assert.deepEqual(down.operators['101'], { state: null, calls: 1, talkSeconds: 0 });
    assert.equal(down.operators['102'], undefined, 'a number known only from a live call is not shown as if current');

    await restarted;
    await waitForState(client, 'connected', 10_000);
    const back = await until(figures, 'the call that ended while away', (x) => x.window.answered === 2);
    assert.equal(back.connected, true);
    assert.deepEqual(back.live, { ringing: 1, talking: 0, held: 0, total: 1 });
    assert.equal(back.operators['102']!.state, 'free');
    assert.equal(back.operators['103']!.state, 'ringing');
  });

  it('a burst of 2,000 short calls over the socket: every one counted once', async function () {
    this.timeout(60_000);
    // Default ping timings: the suite's 200 ms ones may take a burst's busy event loop for a dead socket.
    await client.close();
    client = userClient(s.url, { pingIntervalMs: 10_000, pingTimeoutMs: 5000 });
    const figures = await stats();
    await s.burst({ calls: 2000, answer: true });
    const f = await until(figures, '2,000 answered', (x) => x.window.answered >= 2000, 45_000);
    await sleep(200);
    assert.equal(figures.snapshot().window.answered, 2000);
    assert.equal(f.window.inbound, 2000);
    assert.equal(f.window.serviceLevel, 100);
    assert.deepEqual(f.live, { ringing: 0, talking: 0, held: 0, total: 0 });
    assert.equal(client.stats.reconnects, 0, 'over one connection');
  });

  it('a successor carries on with the window it is handed, when its window and service level are the same', async () => {
    const first = await stats();
    const call = await startCall(s, { to: '101', answer: true });
    await ctl(s, 'POST', `calls/${call.id}/hangup`);
    await until(first, 'one answered', (x) => x.window.answered === 1);
    first.close();
    const same = client.callStats({ windowMs: HOUR, serviceLevelMs: 20_000, resume: first.window });
    assert.equal(same.snapshot().window.answered, 1);
    assert.equal(same.window, first.window);
    const other = client.callStats({ windowMs: 2 * HOUR, serviceLevelMs: 20_000, resume: first.window });
    assert.equal(other.snapshot().window.answered, 0, 'another window starts afresh');
    assert.equal(other.snapshot().window.minutes, 120);
    const second = await startCall(s, { to: '102', answer: true });
    await ctl(s, 'POST', `calls/${second.id}/hangup`);
    await until(same, 'the next call', (x) => x.window.answered === 2);
    assert.equal(first.snapshot().window.answered, 2, 'one window, fed by its one open handle');
    same.close();
    other.close();
  });

  it('calls going on before the first connection are learnt from the platform\'s list, and counted when they end', async () => {
    const ringing = await startCall(s, { to: '101' });
    const talking = await startCall(s, { to: '102', answer: true });
    const figures = await stats();
    const now = await until(figures, 'the two calls going on', (f) => f.live?.total === 2);
    assert.deepEqual(now.live, { ringing: 1, talking: 1, held: 0, total: 2 });
    assert.deepEqual([now.operators['101']?.state, now.operators['102']?.state], ['ringing', 'talking']);
    await ctl(s, 'POST', `calls/${ringing.id}/hangup`, { reason: 'cancel' });
    await ctl(s, 'POST', `calls/${talking.id}/hangup`);
    const after = await until(figures, 'both counted', (f) => f.window.missed + f.window.answered === 2);
    assert.deepEqual([after.window.missed, after.window.answered, after.live?.total], [1, 1, 0]);
  });

  it('while the platform\'s list cannot be read after a return, no live figure is shown as current', async () => {
    const figures = await stats();
    await startCall(s, { to: '101' });
    await until(figures, 'one call', (f) => f.live?.total === 1);
    // The platform comes back, but its REST side answers 503: the catch-up cannot happen.
    await ctl(s, 'POST', 'faults', { restStatus: { status: 503, count: 1000, body: 'overloaded' } });
    await s.restart({ downMs: 200 });
    await waitForState(client, 'connected');
    await sleep(300);
    const stale = figures.snapshot();
    assert.deepEqual([stale.connected, stale.connection, stale.live, stale.longestRingingSeconds], [false, 'syncing', null, null]);
    await ctl(s, 'DELETE', 'faults');
    await until(figures, 'current again', (f) => f.connected && f.live !== null, 10_000);
  });

  it('a named successor (a redeploy of the node alone) carries on the window, counting the calls that ended in between', async () => {
    const linger = userClient(s.url, { socketLingerMs: 1000 });
    try {
      const first = linger.callStats({ windowMs: HOUR, serviceLevelMs: 20_000, key: 'stats-1' });
      await subscribed(s);
      const call = await startCall(s, { to: '101', answer: true });
      await waitFor('the call in the table', () => linger.calls.get(call.id)?.state === 'talking');
      first.close();
      await ctl(s, 'POST', `calls/${call.id}/hangup`);
      await sleep(100);
      const second = linger.callStats({ windowMs: HOUR, serviceLevelMs: 20_000, key: 'stats-1' });
      await until(second, 'the call that ended in between', (f) => f.window.answered === 1);
      second.close();
    } finally {
      await linger.close();
    }
  });

  it('the longest ringing is counted on the platform\'s clock, not this machine\'s', () => {
    const table = new CallTable(100, 60_000);
    const statsOf = new CallStats(table, new StatsWindow(HOUR, 20_000), () => undefined);
    const now = Date.now();
    // The platform's clock is 5 minutes behind: its events carry times 5 minutes ago.
    const skew = 300_000;
    const event = (type: string, fields: Record<string, unknown>): EraEvent => {
      const payload = { eventid: `${type}-${Math.random()}`, connectionid: 'c.1', cid: 'c', invitets: now - skew - 2000, eventts: now - skew, ...fields };
      return { topic: `callevents.${type}`, class: 'callevents', type, payload, eventId: String(payload.eventid), connectionId: 'c.1', callId: 'c', replayed: undefined, call: undefined };
    };
    table.apply(event('invite', { tonum: '101', dir: 'in' }));
    const figures = statsOf.snapshot('connected', now);
    assert.equal(figures.longestRingingSeconds, 2);
  });

  it('a "__proto__" number is no operator: it never becomes the prototype of the operators', () => {
    const table = new CallTable(100, 60_000);
    const statsOf = new CallStats(table, new StatsWindow(HOUR, 20_000), () => undefined);
    const payload = { eventid: 'e1', connectionid: 'c.1', cid: 'c', invitets: Date.now(), eventts: Date.now(), tonum: '__proto__', fromnum: '+7999', dir: 'in' };
    table.apply({ topic: 'callevents.invite', class: 'callevents', type: 'invite', payload, eventId: 'e1', connectionId: 'c.1', callId: 'c', replayed: undefined, call: undefined });
    const { operators } = statsOf.snapshot('connected');
    assert.equal(Object.getPrototypeOf(operators), Object.prototype);
    assert.deepEqual(Object.keys(operators), []);
  });

  it('bad settings: a clear error and nothing subscribed; a closed handle stops counting and lets the socket go', async () => {
    const log = newLog();
    const quiet = userClient(s.url, {}, log);
    try {
      for (const spec of [
        { windowMs: 0, serviceLevelMs: 1000 },
        { windowMs: 2 * 86_400_000, serviceLevelMs: 1000 },
        { windowMs: Number.NaN, serviceLevelMs: 1000 },
        { windowMs: '60000' as unknown as number, serviceLevelMs: 1000 },
        { windowMs: HOUR, serviceLevelMs: -1 },
        { windowMs: HOUR, serviceLevelMs: Number.POSITIVE_INFINITY },
        null as unknown as { windowMs: number; serviceLevelMs: number },
      ]) {
        assert.throws(() => quiet.callStats(spec), (err: Error & { code?: string }) => err.code === 'ERA_INVALID_INPUT' && /window|service level|callStats/.test(err.message), JSON.stringify(spec));
      }
      await sleep(200);
      assert.equal(quiet.state, 'idle', 'no socket was opened for them');
      assert.deepEqual(await ctl(s, 'GET', 'subscriptions'), []);

      const handle = quiet.callStats({ windowMs: HOUR, serviceLevelMs: 20_000 });
      await subscribed(s);
      const call = await startCall(s, { to: '101', answer: true });
      await ctl(s, 'POST', `calls/${call.id}/hangup`);
      await until(handle, 'one answered', (x) => x.window.answered === 1);
      handle.close();
      handle.close();
      const later = await startCall(s, { to: '102', answer: true });
      await ctl(s, 'POST', `calls/${later.id}/hangup`);
      await waitFor('the socket let go', () => quiet.state === 'idle');
      assert.equal(handle.snapshot().window.answered, 1, 'closed: nothing more counted');
      assert.deepEqual(log.warn, []);
    } finally {
      await quiet.close();
    }
  });
});

describe('live figures on the call table: bounded memory', () => {
  /** A call's events as the platform sends them, for the table. */
  function events(id: string, from: string, to: string, at: number, answered: boolean, dir: string | undefined = 'in'): EraEvent[] {
    const common = { connectionid: id, cid: id, fromnum: from, tonum: to, ...(dir === undefined ? {} : { dir }), invitets: at };
    const ev = (type: string, extra: Record<string, unknown>): EraEvent => ({
      topic: `callevents.${type}`, class: 'callevents', type, payload: { ...common, ...extra }, eventId: undefined, connectionId: id, callId: id, replayed: undefined, call: undefined,
    });
    return [
      ev('invite', { eventts: at }),
      ...(answered ? [ev('dlg_start', { eventts: at + 3000 })] : []),
      ev('dlg_end', { eventts: at + 9000, reason: answered ? 'bye' : 'cancel' }),
    ];
  }

  it('100,000 finished calls in the window and 10,000 live: the window holds counts, not calls', function () {
    this.timeout(120_000);
    const table = new CallTable(20_000, 0);
    const feed = new CallFeed(table);
    const warnings: string[] = [];
    const window = new StatsWindow(HOUR, 20_000);
    const stats = new CallStats(table, window, (m) => warnings.push(m));
    feed.add(stats);
    const now = Date.now();
    for (let i = 0; i < 10_000; i++) for (const ev of events(`live-${i}`, `+7999${i}`, String(1000 + (i % 500)), now, false).slice(0, 1)) table.apply(ev);
    const before = retainedBytes();
    const startedAt = Date.now();
    for (let i = 0; i < 100_000; i++) {
      // Each number gets 200 calls; three of every four are answered.
      for (const ev of events(`done-${i}`, `+7999${i}`, String(1000 + (i % 500)), now - 9000, Math.floor(i / 500) % 4 !== 0)) table.apply(ev);
    }
    // The table forgets ended calls itself (grace 0); what stays is the window's.
    table.list();
    const after = retainedBytes();
    const f = stats.snapshot('connected');
    assert.equal(f.window.answered, 75_000);
    assert.equal(f.window.missed, 25_000);
    assert.equal(f.window.inbound, 100_000);
    assert.equal(f.live?.ringing, 10_000);
    assert.equal(Object.keys(f.operators).length, 500);
    assert.equal(f.operators['1000']!.calls, 150, 'each of 500 numbers answered 3 calls of every 4 of its 200');
    // Live ends count when they are heard: a slow run can end in the bucket after the one it began in.
    const buckets = Math.floor(Date.now() / window.bucketMs) - Math.floor(startedAt / window.bucketMs) + 1;
    assert.ok(window.tallyCount <= 500 * buckets, `500 numbers in each of ${buckets} bucket(s): ${window.tallyCount} tallies`);
    const grown = after - before;
    assert.ok(grown < 4_000_000, `100,000 finished calls added ${(grown / 1e6).toFixed(1)} MB to the heap; records would be tens of MB`);
    assert.deepEqual(warnings, []);
  });

  it('a call the platform gives no direction counts as inbound, as its outcome (missed) does; local ones in neither', () => {
    const table = new CallTable(10, 0);
    const stats = new CallStats(table, new StatsWindow(HOUR, 20_000), () => undefined);
    new CallFeed(table).add(stats);
    const now = Date.now();
    for (const ev of events('no-dir-missed', '+79990000001', '101', now - 9000, false, undefined)) table.apply(ev);
    for (const ev of events('no-dir-answered', '+79990000002', '102', now - 9000, true, undefined)) table.apply(ev);
    for (const ev of events('local', '103', '104', now - 9000, true, 'local')) table.apply(ev);
    const f = stats.snapshot('connected');
    assert.deepEqual(
      { inbound: f.window.inbound, outbound: f.window.outbound, answered: f.window.answered, missed: f.window.missed, serviceLevel: f.window.serviceLevel },
      { inbound: 2, outbound: 0, answered: 2, missed: 1, serviceLevel: 50 },
    );
    assert.deepEqual(Object.keys(f.operators).sort(), ['102', '103', '104']);
  });

  it('numbers beyond the tallies\' cap count in the totals only, with a warning; old buckets leave the window', () => {
    const table = new CallTable(10, 0);
    const window = new StatsWindow(60_000, 20_000);
    const warnings: string[] = [];
    const stats = new CallStats(table, window, (m) => warnings.push(m));
    new CallFeed(table).add(stats);
    const now = Date.now();
    for (let i = 0; i <= MAX_OPERATOR_TALLIES; i++) for (const ev of events(`c-${i}`, '+79990000000', `op-${i}`, now - 9000, true)) table.apply(ev);
    const f = stats.snapshot('connected');
    assert.equal(f.window.answered, MAX_OPERATOR_TALLIES + 1);
    assert.equal(Object.keys(f.operators).length, MAX_OPERATOR_TALLIES);
    assert.equal(window.tallyCount, MAX_OPERATOR_TALLIES);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /50,000 tallies of operators/);
    const later = stats.snapshot('connected', Date.now() + 61_000);
    assert.equal(later.window.answered, 0, 'a minute later the window is empty');
    assert.deepEqual(later.operators, {});
    assert.equal(window.tallyCount, 0);
  });
});
