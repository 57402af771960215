/**
 * The dedup stage on its own (events/dedup.ts): uuids are kept as their bits and other ids as
 * strings; either way an id is news once, reaches each group once, and is remembered for at
 * least the latest 5,000 ids. A uuid whose slots are taken further than a lookup reads is kept
 * as a string: among 5,000 random uuids a few are, so the runs of 25,000 below go that way too.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SeenEvents } from '../../src/era/events/dedup';
import type { Group } from '../../src/era/events/subscriptions';

/** Groups are compared by identity only. */
const groups = [{}, {}, {}] as unknown as Group[];

/** The stage's contract as plain maps, with nothing forgotten (the runs below stay under 5,000 ids). */
class Model {
  private readonly reached = new Map<string, Set<Group>>();
  private key(id: string): string {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : id;
  }
  first(id: string, group: Group | null): boolean {
    const k = this.key(id);
    if (this.reached.has(k)) return false;
    this.reached.set(k, new Set(group === null ? [] : [group]));
    return true;
  }
  reach(id: string, group: Group): boolean {
    const k = this.key(id);
    const set = this.reached.get(k) ?? new Set<Group>();
    this.reached.set(k, set);
    if (set.has(group)) return false;
    set.add(group);
    return true;
  }
}

/** A small deterministic generator, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('client: the dedup stage', () => {
  it('answers as a plain map would, for uuids in either case, near-uuids, other ids and every group', () => {
    const random = rng(17);
    const uuids = Array.from({ length: 300 }, () => randomUUID());
    const pool = [
      ...uuids,
      ...uuids.slice(0, 50).map((u) => u.toUpperCase()),
      // Not uuids: kept as strings, never confused with the uuid they resemble.
      ...uuids.slice(0, 30).map((u) => u.replace(/-/g, '')),
      ...uuids.slice(0, 30).map((u) => `${u} `),
      ...uuids.slice(0, 30).map((u) => u.slice(0, 35) + 'g'),
      ...uuids.slice(0, 30).map((u) => u.replace('-', '+')),
      'e1', '', '12345', 'событие-1', 'evt\r\n2', '__proto__', 'constructor',
    ];
    const seen = new SeenEvents();
    const model = new Model();
    for (let i = 0; i < 4_000; i++) {
      const id = pool[Math.floor(random() * pool.length)]!;
      const g = Math.floor(random() * 4);
      if (random() < 0.5) {
        const group = g === 3 ? null : groups[g]!;
        assert.equal(seen.first(id, group), model.first(id, group), `first(${JSON.stringify(id)}) at step ${i}`);
      } else {
        const group = groups[g % 3]!;
        assert.equal(seen.reach(id, group), model.reach(id, group), `reach(${JSON.stringify(id)}) at step ${i}`);
      }
    }
  });

  it('remembers the latest 5,000 ids and forgets those 10,000 ids back, uuids and others alike', () => {
    for (const make of [() => randomUUID(), (() => { let n = 0; return () => `event-${n++}`; })()]) {
      const seen = new SeenEvents();
      const ids = Array.from({ length: 25_000 }, make);
      for (const id of ids) assert.equal(seen.first(id), true);
      for (const id of ids.slice(-5_000)) assert.equal(seen.first(id), false, 'one of the latest 5,000 was forgotten');
      // A uuid in upper case is the same id, wherever it was kept (a few of each generation go to its map).
      if (ids[0]!.length === 36) for (const id of ids.slice(-5_000)) assert.equal(seen.first(id.toUpperCase()), false, 'the same uuid in upper case');
      const forgotten = ids.slice(0, 10_000).filter((id) => seen.first(id)).length;
      assert.equal(forgotten, 10_000, 'ids 15,000 back are still remembered: the stage grows without end');
    }
  });

  it('an id forgotten after first() reaches a group once more, and only once', () => {
    const seen = new SeenEvents();
    const old = randomUUID();
    assert.equal(seen.first(old), true);
    for (let i = 0; i < 10_001; i++) seen.first(randomUUID());
    assert.equal(seen.reach(old, groups[0]!), true);
    assert.equal(seen.reach(old, groups[0]!), false);
    assert.equal(seen.reach(old, groups[1]!), true);
  });
});
