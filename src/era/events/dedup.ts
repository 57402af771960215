/**
 * The dedup stage: the platform sends an event once per matching subscription (era-platform.md
 * §4), and a webhook copy and a socket copy of one event can both arrive. Each recent event id is
 * remembered together with the subscription groups it already reached, so the call table applies
 * an event once and every listener gets it once.
 *
 * Ids are kept in two generations of at most 5,000 each: between 5,000 and 10,000 of the latest
 * are remembered, O(1) per event. Dropping a whole generation instead of deleting the oldest id
 * one by one costs nothing per event.
 *
 * An event id is a uuid ([C] §5.1): a generation keeps it as its 128 bits in a typed array, not
 * as the string. Kept strings are what made this stage dear: every one outlived several young
 * collections and was copied into the old generation, about 1.7 µs per event in the bench
 * against a stage that keeps nothing. Ids that are not uuids are kept as strings, as before.
 */
import { randomBytes } from 'node:crypto';
import type { Group } from './subscriptions';

const GENERATION = 5_000;
/** Slots of a generation's table: a power of two over three times GENERATION, so probe runs stay short. */
const SLOTS = 16_384;
const MASK = SLOTS - 1;

/** Which groups an event id reached: null for none yet, else one group or several. */
type Mark = Group | Group[] | null;

/** Hex digit values by char code, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** Per process, so that ids chosen to share a slot (a hostile webhook sender) cannot be worked out. */
const SEED = randomBytes(4).readInt32LE(0);

/** The id being looked up, as four 32-bit words. */
const KEY = new Int32Array(4);

/** Reads a uuid (8-4-4-4-12 hex digits, either case) into KEY; false when `id` is not one. */
function readUuid(id: string): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let acc = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    acc = (acc << 4) | v;
    if (++digits === 8) {
      KEY[word++] = acc;
      acc = 0;
      digits = 0;
    }
  }
  return true;
}

function slotOfKey(): number {
  let h = SEED ^ KEY[0]! ^ Math.imul(KEY[1]!, 0x9e3779b1) ^ Math.imul(KEY[2]!, 0x85ebca77) ^ Math.imul(KEY[3]!, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) & MASK;
}

/** One generation: uuids in an open-addressed table of 128-bit keys, other ids in a map. */
class Generation {
  private readonly words = new Int32Array(SLOTS * 4);
  private readonly filled = new Uint8Array(SLOTS);
  private readonly marks: Mark[] = new Array<Mark>(SLOTS).fill(null);
  readonly others = new Map<string, Mark>();
  size = 0;

  /** The slot holding KEY, or the bitwise complement of the free slot where it would go. */
  find(): number {
    const w = this.words;
    let slot = slotOfKey();
    while (this.filled[slot] === 1) {
      const at = slot * 4;
      if (w[at] === KEY[0] && w[at + 1] === KEY[1] && w[at + 2] === KEY[2] && w[at + 3] === KEY[3]) return slot;
      slot = (slot + 1) & MASK;
    }
    return ~slot;
  }

  /** Puts KEY in the free `slot` find() named. */
  put(slot: number, mark: Mark): void {
    const at = slot * 4;
    this.words.set(KEY, at);
    this.filled[slot] = 1;
    this.marks[slot] = mark;
    this.size++;
  }

  mark(slot: number): Mark {
    return this.marks[slot]!;
  }

  setMark(slot: number, mark: Mark): void {
    this.marks[slot] = mark;
  }

  clear(): void {
    this.filled.fill(0);
    this.marks.fill(null);
    this.others.clear();
    this.size = 0;
  }
}

export class SeenEvents {
  private current = new Generation();
  private previous = new Generation();

  /**
   * True the first time `id` is seen. `group`: the one group it is known to go to (its envelope
   * named the subscription), marked as reached at once.
   */
  first(id: string, group: Group | null = null): boolean {
    if (!readUuid(id)) return this.firstOther(id, group);
    const slot = this.current.find();
    if (slot >= 0 || this.previous.find() >= 0) return false;
    if (this.rotateIfFull()) this.current.put(~this.current.find(), group);
    else this.current.put(~slot, group);
    return true;
  }

  /** True the first time `id` reaches `group` (`id` went through first() before). */
  reach(id: string, group: Group): boolean {
    if (!readUuid(id)) return this.reachOther(id, group);
    let gen = this.current;
    let slot = gen.find();
    if (slot < 0) {
      gen = this.previous;
      slot = gen.find();
    }
    if (slot < 0) {
      // Forgotten since first(): it reaches the group now.
      this.rotateIfFull();
      this.current.put(~this.current.find(), group);
      return true;
    }
    const mark = gen.mark(slot);
    const next = added(mark, group);
    if (next === undefined) return false;
    gen.setMark(slot, next);
    return true;
  }

  private firstOther(id: string, group: Group | null): boolean {
    if (this.current.others.has(id) || this.previous.others.has(id)) return false;
    this.rotateIfFull();
    this.current.others.set(id, group);
    this.current.size++;
    return true;
  }

  private reachOther(id: string, group: Group): boolean {
    const gen = this.current.others.has(id) ? this.current : this.previous.others.has(id) ? this.previous : undefined;
    if (gen === undefined) {
      this.rotateIfFull();
      this.current.others.set(id, group);
      this.current.size++;
      return true;
    }
    const next = added(gen.others.get(id) ?? null, group);
    if (next === undefined) return false;
    gen.others.set(id, next);
    return true;
  }

  /** Starts a new generation when the current one is full, forgetting the older one; true when it did. */
  private rotateIfFull(): boolean {
    if (this.current.size < GENERATION) return false;
    const emptied = this.previous;
    emptied.clear();
    this.previous = this.current;
    this.current = emptied;
    return true;
  }
}

/** `mark` with `group` added, or undefined when `group` was already in it. */
function added(mark: Mark, group: Group): Mark | undefined {
  if (mark === null) return group;
  if (mark === group) return undefined;
  if (Array.isArray(mark)) {
    if (mark.includes(group)) return undefined;
    mark.push(group);
    return mark;
  }
  return [mark, group];
}
