/**
 * A small seeded PRNG for property tests and fault scenarios. Every test that uses one prints
 * its seed; FUZZ_SEED=<n> replays a run exactly (the inputs, not the timing).
 */
import { randomInt } from 'node:crypto';

/** mulberry32: 32 bits of state, good enough to spread test inputs, fully reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** A new generator derived from this one, so that one part of a test does not shift another's inputs. */
  fork(): Rng {
    return new Rng(this.int(0x1_0000_0000));
  }
}

/**
 * The seed for this run: FUZZ_SEED when set (to replay a failure), else a fresh one. Printed
 * so that a failing run can be replayed; `what` names the test in the line.
 */
export function seeded(what: string): Rng {
  const fromEnv = process.env.FUZZ_SEED;
  let seed: number;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    seed = Number(fromEnv);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`FUZZ_SEED must be an integer from 0 to 4294967295, got "${fromEnv}"`);
  } else {
    seed = randomInt(0, 0xffff_ffff);
  }
  process.stdout.write(`      [${what}] seed ${seed} (replay with FUZZ_SEED=${seed})\n`);
  return new Rng(seed);
}
