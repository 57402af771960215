/**
 * Fuzzing of the event decoder: random and mutated frames through protocol.decodeFrame, then
 * through a real client connected to the simulator. Seeded: the seed is printed, FUZZ_SEED
 * replays it.
 */
import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { decodeFrame, type FrameSink, type UndecodableReason } from '../../src/era/protocol/frames';
import { isObject } from '../../src/era/protocol/values';
import type { EraEvent, JsonObject } from '../../src/era/types';
import { Collector, sim, subscribed, userClient, waitFor, waitForState, type Simulator } from '../client/helpers';
import { deepQidFrames, fuzzFrame } from './frames';
import { seeded } from './prng';

type Outcome =
  | { kind: 'event'; event: EraEvent; subscriptionId: unknown; method: string; qid: unknown }
  | { kind: 'reply'; qid: unknown; params: JsonObject }
  | { kind: 'undecodable'; reason: UndecodableReason; method: string | undefined; qid: unknown };

/** Decodes one frame and returns every outcome the sink was given (there must be exactly one). */
function decodeAll(raw: string): Outcome[] {
  const outcomes: Outcome[] = [];
  const sink: FrameSink = {
    event: (event, subscriptionId, method, qid) => outcomes.push({ kind: 'event', event, subscriptionId, method, qid }),
    reply: (qid, params) => outcomes.push({ kind: 'reply', qid, params }),
    undecodable: (reason, method, qid) => outcomes.push({ kind: 'undecodable', reason, method, qid }),
  };
  decodeFrame(raw, sink);
  return outcomes;
}

function parse(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The text an id field becomes: strings as they are, finite numbers as text, nothing else. */
function idText(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/**
 * The same value as far as one level goes: equal primitives, or containers of the same kind
 * with the same keys holding equal primitives or containers of the same kind. (Frames may nest
 * 20,000 deep, too deep for a recursive comparison.)
 */
function same(a: unknown, b: unknown): boolean {
  const shallow = (x: unknown, y: unknown) =>
    typeof x === 'object' && x !== null && typeof y === 'object' && y !== null ? Array.isArray(x) === Array.isArray(y) : Object.is(x, y);
  if (!shallow(a, b)) return false;
  if (typeof a !== 'object' || a === null) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && shallow((a as JsonObject)[k], (b as JsonObject)[k]));
}

/**
 * What era-platform.md §4 requires of the outcome of one frame, checked without re-implementing
 * the decoder: the outcome follows from the frame's shape, and a decoded event is well formed.
 */
function checkOutcome(raw: string, outcomes: Outcome[]): void {
  assert.equal(outcomes.length, 1, 'exactly one outcome per frame');
  const out = outcomes[0]!;
  const parsed = parse(raw);
  if (!parsed.ok) {
    assert.deepEqual(out, { kind: 'undecodable', reason: 'not JSON', method: undefined, qid: undefined });
    return;
  }
  const frame = parsed.value;
  if (!Array.isArray(frame) || typeof frame[0] !== 'string' || !isObject(frame[1])) {
    assert.deepEqual(out, { kind: 'undecodable', reason: 'not a ["method", {params}] array', method: undefined, qid: undefined });
    return;
  }
  const method = frame[0];
  const params = frame[1];
  if (method.endsWith('_result')) {
    assert.equal(out.kind, 'reply');
    assert.ok(out.kind === 'reply' && same(out.params, params) && same(out.qid, params.qid), 'a reply carries its params and qid');
    return;
  }
  const flat = nonEmpty(params.class ?? params.eventclass) && nonEmpty(params.type ?? params.eventtype ?? params.event);
  const dot = method.indexOf('.');
  const named = dot > 0 && dot < method.length - 1;
  if (!flat && !named) {
    assert.equal(out.kind, 'undecodable');
    assert.equal(out.kind === 'undecodable' && out.reason, 'unknown envelope');
    assert.equal(out.kind === 'undecodable' && out.method, method);
    assert.ok(out.kind === 'undecodable' && same(out.qid, params.qid), 'the qid is passed on, to acknowledge the push');
    return;
  }
  assert.equal(out.kind, 'event', 'a frame with a class and a type, or a method "<class>.<type>", is an event');
  if (out.kind !== 'event') return;
  const ev = out.event;
  assert.ok(nonEmpty(ev.class) && nonEmpty(ev.type), 'class and type are non-empty strings');
  assert.equal(ev.topic, `${ev.class}.${ev.type}`);
  if (flat) {
    assert.equal(ev.class, params.class ?? params.eventclass);
    assert.equal(ev.type, params.type ?? params.eventtype ?? params.event);
    assert.ok(same(ev.payload, isObject(params.data) ? params.data : params), 'the payload is data, or the params');
  } else {
    assert.equal(ev.class, method.slice(0, dot));
    assert.equal(ev.type, method.slice(dot + 1));
    assert.ok(same(ev.payload, params), 'the payload is the params');
  }
  assert.ok(isObject(ev.payload), 'the payload is an object');
  assert.equal(ev.eventId, idText(ev.payload.eventid));
  assert.equal(ev.connectionId, idText(ev.payload.connectionid));
  assert.equal(ev.callId, idText(ev.payload.cid));
  assert.equal(ev.replayed, undefined);
  assert.equal(ev.call, undefined);
  assert.equal(out.method, method);
  assert.ok(same(out.qid, params.qid), 'the qid is passed on');
  assert.ok(same(out.subscriptionId, params.id), 'the subscription id is passed on');
}

/** Own properties of Object.prototype, to see that no frame polluted it. */
const prototypeKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

describe('fuzz: event decoder', function () {
  it('gives every random or mutated frame exactly one well-formed outcome, and never throws', function () {
    const rng = seeded('decoder');
    const before = prototypeKeys();
    const counts = { event: 0, reply: 0, undecodable: 0 };
    const FRAMES = 5000;
    for (let i = 0; i < FRAMES; i++) {
      const raw = fuzzFrame(rng);
      let outcomes: Outcome[];
      try {
        outcomes = decodeAll(raw);
        checkOutcome(raw, outcomes);
      } catch (err) {
        const shown = raw.length > 300 ? `${raw.slice(0, 300)}… (${raw.length} chars)` : raw;
        throw new Error(`frame #${i} (seed ${rng.seed}): ${err instanceof Error ? err.message : String(err)}\n  frame: ${shown}`);
      }
      counts[outcomes[0]!.kind]++;
    }
    assert.deepEqual(prototypeKeys(), before, 'Object.prototype is unchanged');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // The generator must reach every outcome, or the property says little.
    for (const [kind, n] of Object.entries(counts)) assert.ok(n > FRAMES / 50, `${kind}: only ${n} of ${FRAMES}`);
  });
});

describe('fuzz: a real client fed mutated frames', function () {
  this.timeout(20_000);
  let s: Simulator;

  beforeEach(async () => {
    s = await sim();
  });
  afterEach(async () => {
    await s.stop();
  });

  /** A connected client listening to everything, with the events it got. */
  async function connected() {
    const client = userClient(s.url, { pingIntervalMs: 1000, pingTimeoutMs: 1000 });
    const got = new Collector();
    client.listen({ events: ['callevents.*', 'ccsevents.*'], attachCall: true }, got.push);
    client.listen({ events: ['callevents.*'], objects: ['101'] }, () => undefined);
    await waitForState(client, 'connected');
    await subscribed(s, 2);
    return { client, got };
  }

  /**
   * Frames through the simulator; resolves once the client has read every one that is not a
   * reply, with how many the decoder says are undecodable and how many the client counted so.
   */
  async function feed(client: EraClient, frames: string[]): Promise<{ expected: number; counted: number }> {
    const start = client.stats;
    let pushes = 0;
    let undecodable = 0;
    for (const raw of frames) {
      const kind = decodeAll(raw)[0]!.kind;
      if (kind !== 'reply') pushes++;
      if (kind === 'undecodable') undecodable++;
    }
    for (let i = 0; i < frames.length; i += 200) {
      for (const raw of frames.slice(i, i + 200)) s.sendToSockets({ raw });
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(`the client to read ${pushes} pushes`, () => client.stats.received - start.received >= pushes, 10_000);
    return { expected: undecodable, counted: client.stats.undecodable - start.undecodable };
  }

  async function stillDelivers(client: EraClient, got: Collector): Promise<void> {
    assert.equal(client.state, 'connected');
    assert.equal(client.stats.reconnects, 0, 'the socket was never dropped');
    const call = s.startCall({ from: '+79990005555', to: '101' });
    await got.waitFor('a valid event after the junk', (ev) => ev.connectionId === call.connectionid && ev.topic === 'callevents.invite');
  }

  it('acknowledges pushes whose qid cannot be echoed without throwing from the socket callback', async () => {
    const { client, got } = await connected();
    try {
      const { expected, counted } = await feed(client, deepQidFrames());
      assert.equal(counted, expected, 'the client skipped exactly the frames the decoder cannot read');
      await stillDelivers(client, got);
    } finally {
      await client.close();
    }
  });

  it('survives thousands of mutated frames and still delivers a valid event after', async () => {
    const rng = seeded('client frames');
    const { client, got } = await connected();
    try {
      const frames = Array.from({ length: 3000 }, () => fuzzFrame(rng)).filter((f) => f.length < 1_000_000);
      const { expected, counted } = await feed(client, frames);
      assert.equal(counted, expected, 'the client skipped exactly the frames the decoder cannot read');
      await stillDelivers(client, got);
    } finally {
      await client.close();
    }
  });
});
