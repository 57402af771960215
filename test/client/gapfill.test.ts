/**
 * Gap fill after an outage tells no wrong story: no live call is reported ended, and a call
 * that ended while the client was away is reported once, even when reading the list fails.
 */
import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { callFromPlatform, CallTable } from '../../src/era/calls/table';
import { EraError } from '../../src/era/errors';
import { GapFill, type GapFillDeps } from '../../src/era/events/gapfill';
import { Reconciler } from '../../src/era/events/reconcile';
import { makeEvent } from '../../src/era/protocol/frames';
import type { EraEvent } from '../../src/era/types';
import { Collector, ctl, faults, requests, sim, sleep, startCall, subscribed, userClient, waitForState, type SimCall, type Simulator } from './helpers';

describe('client: gap fill after an outage', function () {
  this.timeout(30_000);
  let s: Simulator;
  let c: EraClient;
  let got: Collector;

  beforeEach(async () => {
    s = await sim();
    c = userClient(s.url);
    got = new Collector();
    c.listen({ events: ['callevents.invite', 'callevents.dlg_end'], attachCall: true }, got.push);
    await waitForState(c, 'connected');
    await subscribed(s);
  });
  afterEach(async () => {
    await c.close();
    await s.stop();
  });

  const ends = (call: SimCall): EraEvent[] => got.events.filter((e) => e.type === 'dlg_end' && e.connectionId === call.id);
  const hangup = (call: SimCall) => ctl(s, 'POST', `calls/${encodeURIComponent(call.id)}/hangup`, {});

  /** Cuts the socket and waits until the client is back and subscribed. */
  async function outage(): Promise<void> {
    await ctl(s, 'POST', 'drop');
    await waitForState(c, 'connected', 5000);
    await subscribed(s);
  }

  it('never reports ended a call that started while the list was being fetched; its real end comes once, live', async () => {
    const before = await startCall(s);
    await got.waitFor('the first invite', (e) => e.connectionId === before.id);
    // The list is read at once but its answer takes a second to arrive: a call starts meanwhile.
    await faults(s, { restDelay: { count: 1, ms: 1000 } });
    await outage();
    const during = await startCall(s);
    await got.waitFor('the live invite of the call that started during the fetch', (e) => e.connectionId === during.id);
    await sleep(1500);
    assert.deepEqual(ends(during), [], 'the new call was not reported ended');
    assert.deepEqual(ends(before), [], 'nor the one that is still listed');
    await hangup(during);
    await got.waitFor('its real end', (e) => e.type === 'dlg_end' && e.connectionId === during.id);
    await sleep(200);
    assert.equal(ends(during).length, 1);
    assert.equal(ends(during)[0]!.replayed, undefined, 'the live dlg_end, not a made-up one');
  });

  it('a list request that fails twice then succeeds: the call that ended meanwhile is still reported, once', async () => {
    const call = await startCall(s);
    await got.waitFor('the invite', (e) => e.connectionId === call.id);
    await faults(s, { restStatus: { status: 503, count: 2 } });
    // The platform is unreachable for a while, and the call ends meanwhile.
    const down = s.restart({ downMs: 600 });
    await sleep(100);
    s.hangupCall(call.id);
    await down;
    await got.waitFor('the made-up end', (e) => e.type === 'dlg_end' && e.connectionId === call.id, 10_000);
    await sleep(300);
    assert.equal(ends(call).length, 1);
    assert.equal(ends(call)[0]!.replayed, true);
    assert.equal(ends(call)[0]!.eventId, `replayed-${call.id}-dlg_end`, 'the same id on every replica');
    assert.equal(ends(call)[0]!.call?.state, 'ended');
    const lists = (await requests(s)).filter((r) => r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls');
    assert.deepEqual(lists.map((r) => r.status).slice(-3), [503, 503, 200], 'tried again until it succeeded');
  });

  it('a live call missing from the list is asked for by id, and not reported ended', async () => {
    const call = await startCall(s);
    await got.waitFor('the invite', (e) => e.connectionId === call.id);
    // A list that skipped the call, as paging over a changing list can.
    await faults(s, { restStatus: { status: 200, count: 1, body: [] } });
    await outage();
    await sleep(800);
    assert.deepEqual(ends(call), []);
    const asked = (await requests(s)).filter((r) => r.kind === 'rest' && r.path === `/rest/v1/uc/calls/${encodeURIComponent(call.id)}`);
    assert.equal(asked.length, 1, 'the call was confirmed by id');
    assert.equal(asked[0]!.status, 200);
    await hangup(call);
    await got.waitFor('its real end', (e) => e.type === 'dlg_end' && e.connectionId === call.id);
  });
});

describe('client: gap fill that waits for deliveries on their way (a webhook receiver\'s rounds)', function () {
  this.timeout(30_000);
  let s: Simulator;
  let c: EraClient;

  beforeEach(async () => {
    s = await sim();
    c = userClient(s.url);
  });
  afterEach(async () => {
    await c.close();
    await s.stop();
  });

  /** A request to the simulator's REST with the test's client, as GapFill sends one. */
  const platform: GapFillDeps['send'] = (req) => c.rest(req.method, req.path, req.body, { query: req.query });

  /** GapFill over the simulator's REST with a call table of its own, as a webhook receiver runs it; `made` collects what it makes up. */
  function gapFillOver(settleMs: number, send?: GapFillDeps['send']): { gapFill: GapFill; table: CallTable; made: EraEvent[] } {
    const table = new CallTable(1000, 60_000);
    const made: EraEvent[] = [];
    const gapFill = new GapFill({
      send: send ?? platform,
      table,
      replay: (ev, listed) => {
        table.apply(ev);
        if (listed !== undefined) table.align(listed);
        made.push(ev);
      },
      maxCalls: 1000,
      retryMinMs: 50,
      retryMaxMs: 100,
      settleMs,
      debug: () => undefined,
      warnOnce: () => undefined,
    });
    return { gapFill, table, made };
  }
  const restPaths = async (path: string, status?: number): Promise<number> =>
    (await requests(s)).filter((r) => r.kind === 'rest' && r.method === 'GET' && r.path === path && (status === undefined || r.status === status)).length;
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (await check()) return;
      await sleep(10);
    }
    assert.fail(`timed out waiting until ${what}`);
  }

  /** The calls enter `table` as the platform lists them, told to no one: a receiver that heard them start. */
  async function knowAsListed(table: CallTable, calls: SimCall[]): Promise<void> {
    for (const call of calls) table.restore(callFromPlatform((await c.rest('GET', `/rest/v1/uc/calls/${encodeURIComponent(call.id)}`)).body));
  }

  /** A webhook receiver's reconciler over the simulator, rounds every second, with a table that knows `known`. */
  async function reconcilerOver(known: SimCall[], opts: { send?: GapFillDeps['send']; claimRound?: (round: number, run: () => void) => void } = {}): Promise<{ reconciler: Reconciler; made: EraEvent[] }> {
    const table = new CallTable(1000, 60_000);
    await knowAsListed(table, known);
    const made: EraEvent[] = [];
    const reconciler = new Reconciler({
      send: opts.send ?? platform,
      replay: (ev) => made.push(ev),
      claimRound: opts.claimRound ?? ((_round, run) => run()),
      intervalMs: 1000,
      maxCalls: 1000,
      endedCallGraceMs: 60_000,
      retryMinMs: 50,
      retryMaxMs: 100,
      debug: () => undefined,
      warnOnce: () => undefined,
      table,
    });
    return { reconciler, made };
  }

  it('an end heard while it waits is not made up; a run replaced while it waits keeps the end it found, and the next run makes it up once', async () => {
    const { gapFill, table, made } = gapFillOver(1000);
    const x = await startCall(s);
    const y = await startCall(s);
    await knowAsListed(table, [x, y]);
    gapFill.outage();
    s.hangupCall(x.id);
    s.hangupCall(y.id);
    const askedFor = async (call: SimCall): Promise<number> =>
      (await requests(s)).filter((r) => r.kind === 'rest' && r.path === `/rest/v1/uc/calls/${encodeURIComponent(call.id)}` && r.status === 404).length;
    const waiting = async (times: number): Promise<void> => {
      for (let i = 0; i < 200 && ((await askedFor(x)) < times || (await askedFor(y)) < times); i++) await sleep(10);
    };

    const first = gapFill.start();
    await waiting(1);
    // Both ends found; a new run (the next round, a lapse) replaces this one while it waits.
    const second = gapFill.start();
    assert.equal(await first, false, 'the first run ended without a word');
    assert.equal(made.length, 0, 'nothing made up by the replaced run');
    await waiting(2);
    // Y's own dlg_end comes while the second run waits.
    table.apply(makeEvent('callevents', 'dlg_end', { eventid: 'live-end', connectionid: y.id, eventts: Date.now() }));
    assert.equal(await second, true);
    assert.deepEqual(made.map((e) => [e.type, e.connectionId, e.replayed]), [['dlg_end', x.id, true]], 'X\'s end made up once, Y\'s heard');
    assert.equal(table.peek(x.id)?.state, 'ended');
    assert.equal(await gapFill.start(), true);
    assert.equal(made.length, 1, 'a later run has nothing more to make up');
  });

  it('a listed call it never heard of whose own event comes while it waits (its invite lost, its end heard) gets no invite made up after it; one still listed the next run does', async () => {
    const { gapFill, made } = gapFillOver(1000);
    const ended = await startCall(s);
    const going = await startCall(s);
    const run = gapFill.start();
    await until('the list was read', async () => (await restPaths('/rest/v1/uc/calls')) >= 1);
    // The receiver hears the end of one (its invite was lost) and some other event of the other.
    s.hangupCall(ended.id);
    gapFill.heard(ended.id);
    gapFill.heard(going.id);
    assert.equal(await run, true);
    assert.equal(made.length, 0, 'nothing made up for calls heard of while it waited');
    assert.equal(await gapFill.start(), true);
    assert.deepEqual(made.map((e) => [e.type, e.connectionId, e.replayed]), [['invite', going.id, true]], 'the next run makes up the start of the call still listed, and nothing for the ended one');
  });

  it('with no settle time (after a socket outage) an end confirmed is made up at once, even when asking for another call fails', async () => {
    const a = await startCall(s);
    const b = await startCall(s);
    let failB = true;
    const { gapFill, table, made } = gapFillOver(0, (req) => {
      // The platform fails on B while it answers for A.
      if (failB && req.path.endsWith(encodeURIComponent(b.id))) return Promise.reject(new EraError('ERA_HTTP', 'HTTP 500'));
      return platform(req);
    });
    await knowAsListed(table, [a, b]);
    gapFill.outage();
    s.hangupCall(a.id);
    s.hangupCall(b.id);
    const run = gapFill.start();
    await until('A\'s end made up', async () => made.length >= 1);
    assert.deepEqual(made.map((e) => [e.type, e.connectionId]), [['dlg_end', a.id]], 'A\'s end came while B still failed');
    failB = false;
    assert.equal(await run, true);
    assert.deepEqual(made.map((e) => [e.type, e.connectionId]), [['dlg_end', a.id], ['dlg_end', b.id]]);
    assert.equal(await restPaths(`/rest/v1/uc/calls/${encodeURIComponent(a.id)}`, 404), 1, 'A was asked for once, not again at every try');
  });

  it('era-webhook\'s reconciler, every second, on a platform that answers in 700 ms: a round outlasts the interval and is left to finish, so the lost end is still made up', async () => {
    const call = await startCall(s);
    const { reconciler, made } = await reconcilerOver([call]);
    try {
      await faults(s, { restDelay: { count: 1000, ms: 700 } });
      reconciler.start();
      s.hangupCall(call.id);
      await until('the made-up end', async () => made.length >= 1);
      assert.deepEqual(made.map((e) => [e.type, e.connectionId, e.replayed]), [['dlg_end', call.id, true]]);
    } finally {
      reconciler.stop();
    }
  });

  it('a call the platform always fails to answer for holds back neither the other calls\' ends nor the next rounds\' starts', async () => {
    const poison = await startCall(s);
    const x = await startCall(s);
    const { reconciler, made } = await reconcilerOver([poison, x], {
      send: (req) => req.path.endsWith(encodeURIComponent(poison.id)) ? Promise.reject(new EraError('ERA_HTTP', 'HTTP 500')) : platform(req),
    });
    try {
      s.hangupCall(poison.id);
      s.hangupCall(x.id);
      reconciler.start();
      const later = await startCall(s);
      await until('X\'s end and the later call\'s start made up', async () => made.length >= 2);
      assert.deepEqual(made.map((e) => [e.type, e.connectionId]).sort(), [['dlg_end', x.id], ['invite', later.id]].sort());
    } finally {
      reconciler.stop();
    }
  });

  it('two replicas: one whose run is still going leaves the round to the other, which reports what was lost', async () => {
    const claimed = new Set<number>();
    const claimRound = (round: number, run: () => void): void => {
      if (claimed.has(round)) return;
      claimed.add(round);
      run();
    };
    // Replica A's platform answers in 5 s: its first run outlasts several rounds.
    const slowA: GapFillDeps['send'] = async (req) => {
      // Unref'd: the answer A still waits for when the test ends keeps nothing alive.
      await new Promise((resolve) => setTimeout(resolve, 5000).unref());
      return platform(req);
    };
    const a = await reconcilerOver([], { send: slowA, claimRound });
    // B asks for each round's claim a moment after A: A would win every round it tried for.
    const b = await reconcilerOver([], { claimRound: (round, run) => void setTimeout(() => claimRound(round, run), 50) });
    try {
      a.reconciler.start();
      b.reconciler.start();
      await sleep(300);
      const lost = await startCall(s);
      await until('B made up the lost start', async () => b.made.length >= 1);
      assert.deepEqual(b.made.map((e) => [e.type, e.connectionId]), [['invite', lost.id]]);
      assert.equal(a.made.length, 0);
    } finally {
      a.reconciler.stop();
      b.reconciler.stop();
    }
  });
});
