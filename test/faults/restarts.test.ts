/**
 * The platform restarted again and again while calls go on: a flow's era-events node must
 * get every event of every call once, or, for what was lost while the platform was away, the
 * call's end once as a replayed dlg_end; never an event the platform did not produce.
 *
 * The client reconnects as shipped (backoff with full jitter from 1 s doubling to 30 s, at
 * most 2 s between knocks while the port refuses connections, back to the shortest delay once
 * a connection has lived pingInterval + the 5 s pong timeout). The restarts come in flaps of
 * two in a row, so that the backoff grows, with a calm between flaps long enough for it to
 * start again from 1 s; some outages outlast the first knock, so that refused connections
 * happen too.
 *
 * Deterministic: the calls are driven step by step through the simulator's programmatic API
 * (the /_sim/ port is closed during a restart), each event is marked at the moment it is
 * produced as deliverable (a subscription existed) or lost (none did), and the test waits for
 * quiescence instead of guessing times.
 */
import assert from 'node:assert/strict';
import type { SimCall, SimRequestLog } from '../../src/simulator';
import { Rng, seeded } from '../fuzz/prng';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type Simulator } from '../support/sim';
import { quiet, sleep } from './helpers';

type Msg = Record<string, unknown>;

interface Produced {
  seq: number;
  id: string;
  type: string;
  call: string;
  /** The simulator held a subscription when it produced the event, so the flow must get it. */
  deliverable: boolean;
}

const FLAPS = 3;
const RESTARTS_PER_FLAP = 2;
const RESTARTS = FLAPS * RESTARTS_PER_FLAP;
/** era-server's pingInterval here (1 s, serverNode's) + the client's 5 s pong timeout, and a margin. */
const CALM_MS = 1000 + 5000 + 1000;
/** The longest reconnect delay (30 s) and a handshake on a loaded machine. */
const RECONNECT_MS = 30_000 + 10_000;

describe('faults: the platform restarts again and again while calls go on', function () {
  // Typically 25 to 35 s. Worst case per flap: up to 1 s of reconnect delay, then up to 16 s
  // (the delay doubles with each refused knock too), outages of up to 1.5 s and knocks 2 s
  // apart: about 3 × 24 s, plus two calms.
  this.timeout(150_000);
  let sim: Simulator;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('delivers every event once, or reports the end of a call whose events were lost once as replayed', async function () {
    const rng = seeded('restarts');
    const produced: Produced[] = [];
    sim.on('event', (e) => {
      if (e.class !== 'callevents') return;
      const deliverable = sim.subscriptions().length > 0;
      produced.push({ seq: produced.length, id: e.data.eventid, type: e.type, call: e.data.connectionid, deliverable });
    });
    let gapFills = 0;
    sim.on('request', (r: SimRequestLog) => {
      if (r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls' && r.status === 200) gapFills++;
    });

    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    // A call reported ended (live or replayed) must really have ended by then.
    const endedEarly: string[] = [];
    helper.getNode('out').on('input', (m: Msg) => {
      if (m.topic === 'callevents.dlg_end' && sim.getCall(String(m.connectionId)).state !== 'ended') endedEarly.push(String(m.connectionId));
    });
    const driver = new CallDriver(sim, rng.fork());

    /** Every deliverable event reached the flow (or its call's end was replayed instead), the gap fill of each reconnect is done, and the flow is quiet. */
    const quiescent = async (restarts: number) => {
      await eventually(() => sim.subscriptions().length > 0, RECONNECT_MS, 'the client to subscribe again');
      await eventually(() => gapFills >= restarts, 10_000, `the gap fill after reconnect ${restarts}`);
      await eventually(() => missing(produced, out.messages).length === 0, 10_000, 'every deliverable event');
      await quiet(out, 100);
    };

    await quiescent(0);
    for (let restart = 1; restart <= RESTARTS; restart++) {
      for (let i = rng.between(2, 5); i > 0; i--) {
        driver.step();
        await sleep(rng.between(2, 25));
      }
      await quiescent(restart - 1);
      if (restart > 1 && restart % RESTARTS_PER_FLAP === 1) {
        // Calls go on while the connection stays up long enough to count as good again.
        const calmUntil = Date.now() + CALM_MS;
        while (Date.now() < calmUntil) {
          driver.step();
          await sleep(rng.between(100, 400));
        }
        await quiescent(restart - 1);
      }
      const down = sim.restart({ downMs: rng.between(100, 1500) });
      // The sockets are gone as restart() returns: these events are lost.
      for (let i = rng.between(1, 3); i > 0; i--) driver.step();
      await down;
      // The client is reconnecting: these may be lost or delivered, as it happens.
      for (let i = rng.between(0, 4); i > 0; i--) {
        await sleep(rng.between(5, 60));
        driver.step();
      }
    }
    await quiescent(RESTARTS);
    driver.endAll();
    await quiescent(RESTARTS);

    assert.deepEqual(endedEarly, [], 'no call was reported ended while it went on');
    check(produced, out.messages, driver.calls);
  });
});

/** A steady stream of calls: started, answered, ended, a few at a time. */
class CallDriver {
  readonly calls = new Map<string, SimCall>();
  private n = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly rng: Rng,
  ) {}

  step(): void {
    const live = [...this.calls.values()].filter((c) => c.state !== 'ended');
    if (live.length < 3 || (live.length < 8 && this.rng.chance(0.35))) {
      const call = this.sim.startCall({ from: `+7999${String(1_000_000 + this.n++)}`, to: String(this.rng.between(101, 120)) });
      this.calls.set(call.id, call);
      return;
    }
    const call = this.rng.pick(live);
    const next = call.state === 'ring' && this.rng.chance(0.6)
      ? this.sim.answerCall(call.id)
      : this.sim.hangupCall(call.id, call.state === 'ring' ? 'cancel' : 'bye');
    this.calls.set(call.id, next);
  }

  endAll(): void {
    for (const call of this.calls.values()) if (call.state !== 'ended') this.calls.set(call.id, this.sim.hangupCall(call.id));
  }
}

function isReplayed(m: Msg): boolean {
  return m.replayed === true;
}

/** Deliverable events the flow has not got, leaving out a live dlg_end / invite a replayed one already reported. */
function missing(produced: Produced[], msgs: Msg[]): Produced[] {
  const live = new Set(msgs.filter((m) => !isReplayed(m)).map((m) => m.eventId));
  const replayed = new Set(msgs.filter(isReplayed).map((m) => `${String(m.topic)} ${String(m.connectionId)}`));
  return produced.filter((p) => p.deliverable && !live.has(p.id) && !replayed.has(`callevents.${p.type} ${p.call}`));
}

function check(produced: Produced[], msgs: Msg[], calls: Map<string, SimCall>): void {
  const byId = new Map(produced.map((p) => [p.id, p]));
  const ids = msgs.map((m) => m.eventId);
  assert.equal(new Set(ids).size, ids.length, 'no event id reached the flow twice');

  for (const m of msgs) {
    if (isReplayed(m)) {
      assert.match(String(m.eventId), /^replayed-/, 'a replayed event has a made-up id');
      assert.ok(m.topic === 'callevents.dlg_end' || m.topic === 'callevents.invite', `replayed ${String(m.topic)}`);
      assert.ok(calls.has(String(m.connectionId)), `a replayed event about a call that never was: ${String(m.connectionId)}`);
    } else {
      const p = byId.get(String(m.eventId));
      assert.ok(p, `an event the platform never produced: ${String(m.topic)} ${String(m.eventId)}`);
      assert.equal(m.topic, `callevents.${p.type}`);
      assert.equal(m.connectionId, p.call);
    }
  }

  let lost = 0;
  let replays = 0;
  for (const call of calls.values()) {
    const events = produced.filter((p) => p.call === call.id);
    const mine = msgs.filter((m) => m.connectionId === call.id);
    const live = mine.filter((m) => !isReplayed(m));
    const replayed = mine.filter(isReplayed);
    replays += replayed.length;
    lost += events.filter((p) => !p.deliverable).length;
    const what = `call ${call.id} (${events.map((p) => `${p.type}${p.deliverable ? '' : '✗'}`).join(' ')} → ${mine.map((m) => `${String(m.topic).slice(11)}${isReplayed(m) ? '(r)' : ''}`).join(' ')})`;

    const seqs = live.map((m) => byId.get(String(m.eventId))!.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `live events in the order produced: ${what}`);
    assert.deepEqual(missing(events, mine), [], `every deliverable event arrived: ${what}`);

    if (mine.length === 0) {
      assert.ok(events.every((p) => !p.deliverable), `a call the flow never heard of had deliverable events: ${what}`);
      continue;
    }
    assert.equal(call.state, 'ended');
    const ends = mine.filter((m) => m.topic === 'callevents.dlg_end');
    assert.equal(ends.length, 1, `the flow learnt once that the call ended: ${what}`);
    assert.equal((ends[0]!.call as { state?: string } | undefined)?.state, 'ended', `msg.call.state on the end: ${what}`);
    if (isReplayed(ends[0]!)) {
      const liveEnd = events.find((p) => p.type === 'dlg_end')!;
      assert.ok(!live.some((m) => m.eventId === liveEnd.id), `a replayed end besides the live one: ${what}`);
    }
    assert.ok(replayed.filter((m) => m.topic === 'callevents.invite').length <= 1, `one replayed invite at most: ${what}`);
    const after = mine.slice(mine.indexOf(ends[0]!) + 1).filter((m) => m.topic !== 'callevents.dlg_stop');
    assert.deepEqual(after.map((m) => m.topic), [], `nothing but dlg_stop after the end: ${what}`);
  }
  // Otherwise the restarts never cut through a call and the test proved little.
  assert.ok(lost > 0 && replays > 0, `outages lost ${lost} events and ${replays} were replayed`);
}
