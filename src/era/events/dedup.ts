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
 * as the string. In the bench, maps of the ids' strings cost about 1.7 µs per event against a
 * stage that keeps nothing, mostly outside the maps' own code: each kept string outlived young
 * collections and was copied into the old generation. The bits cost about 0.7 µs. Ids that are
 * not uuids are kept as strings.
 */
import { randomBytes } from 'node:crypto';
import type { Group } from './subscriptions';

const GENERATION = 5_000;
/** Slots of a generation's table: a power of two over 1.6 times GENERATION. */
const SLOTS = 8_192;
const MASK = SLOTS - 1;
/**
 * The most slots a lookup reads. Ids chosen to share slots (a hostile webhook sender) would
 * otherwise make each lookup walk thousands: an id whose run is this long goes to the
 * generation's map instead, so a lookup costs at most this many reads and one map lookup.
 */
const MAX_PROBE = 32;

/** Which groups an event id reached: null for none yet, else one group or several. */
type Mark = Group | Group[] | null;

/** Hex digit values by char code, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

/** Per process, so that where an id goes cannot be worked out from outside. */
const SEED = randomBytes(16);
const S0 = SEED.readInt32LE(0);
const S1 = SEED.readInt32LE(4);
const S2 = SEED.readInt32LE(8);
const S3 = SEED.readInt32LE(12);

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

/** One word into the running hash, through a mix keyed by its own part of the seed. */
function mixIn(h: number, word: number, seed: number): number {
  let k = Math.imul(word ^ seed, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  return Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
}

function slotOfKey(): number {
  let h = mixIn(mixIn(mixIn(mixIn(S0 ^ S2, KEY[0]!, S1), KEY[1]!, S3), KEY[2]!, S1 ^ S3), KEY[3]!, S0 ^ S1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & MASK;
}

/** How a uuid is kept in a generation's map (its run was full): lower case, as one uuid is one id in either case. */
function keyText(id: string): string {
  return id.toLowerCase();
}

/**
 * One generation: uuids in an open-addressed table of 128-bit keys, other ids (and uuids whose
 * run was full) in a map. The table is allocated on the first uuid kept, so an idle client
 * holds none.
 */
class Generation {
  private words = new Int32Array(0);
  private filled = new Uint8Array(0);
  private marks: Mark[] = [];
  readonly others = new Map<string, Mark>();
  /** Ids kept, in the table and in the map. */
  size = 0;

  /** The slot holding KEY, or the bitwise complement of the free slot where it would go (-1 when its run is full). */
  find(): number {
    const filled = this.filled;
    if (filled.length === 0) return ~SLOTS;
    const w = this.words;
    let slot = slotOfKey();
    for (let probes = 0; probes < MAX_PROBE; probes++) {
      if (filled[slot] !== 1) return ~slot;
      const at = slot * 4;
      if (w[at] === KEY[0] && w[at + 1] === KEY[1] && w[at + 2] === KEY[2] && w[at + 3] === KEY[3]) return slot;
      slot = (slot + 1) & MASK;
    }
    return -1;
  }

  /** Puts KEY in the free `slot` find() named (SLOTS before the table exists). */
  put(slot: number, mark: Mark): void {
    if (this.filled.length === 0) {
      this.words = new Int32Array(SLOTS * 4);
      this.filled = new Uint8Array(SLOTS);
      this.marks = new Array<Mark>(SLOTS).fill(null);
      slot = slotOfKey();
    }
    this.words.set(KEY, slot * 4);
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
    if (slot >= 0) return false;
    const before = this.previous.find();
    if (before >= 0) return false;
    // A full run in either generation: the id may sit in that generation's map.
    if ((slot === -1 || before === -1) && this.inMaps(keyText(id))) return false;
    if (this.rotateIfFull()) this.keep(id, this.current.find(), group);
    else this.keep(id, slot, group);
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
    if (slot < 0) return this.reachOther(keyText(id), group);
    const next = added(gen.mark(slot), group);
    if (next === undefined) return false;
    gen.setMark(slot, next);
    return true;
  }

  /** Keeps the uuid in KEY in the current generation: in `slot` (from find()), or in its map when its run is full. */
  private keep(id: string, slot: number, group: Group | null): void {
    if (slot === -1) {
      this.current.others.set(keyText(id), group);
      this.current.size++;
    } else {
      this.current.put(~slot, group);
    }
  }

  private inMaps(key: string): boolean {
    return this.current.others.has(key) || this.previous.others.has(key);
  }

  private firstOther(id: string, group: Group | null): boolean {
    if (this.inMaps(id)) return false;
    this.rotateIfFull();
    this.current.others.set(id, group);
    this.current.size++;
    return true;
  }

  /** For an id kept in a map (or forgotten): a uuid passes its lower-case form. */
  private reachOther(key: string, group: Group): boolean {
    const gen = this.current.others.has(key) ? this.current : this.previous.others.has(key) ? this.previous : undefined;
    // Forgotten since first(): it is kept again, and reaches the group now.
    if (gen === undefined) return readUuid(key) ? this.first(key, group) : this.firstOther(key, group);
    const next = added(gen.others.get(key) ?? null, group);
    if (next === undefined) return false;
    gen.others.set(key, next);
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
