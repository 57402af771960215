/**
 * Random values of the kinds that reach the package from outside: message properties set by
 * other nodes, and fields of frames sent by a platform. Each generator mixes plausible values
 * with the hostile ones (path climbing, prototype keys, huge and strange text, non-finite
 * numbers, wrong types).
 */
import type { Rng } from './prng';

/** Keys that mean something to JavaScript objects, used as data keys. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'] as const;

const FIXED_STRINGS = [
  '',
  ' ',
  '\t\n',
  '101',
  ' 102 ',
  '+79990001122',
  '0',
  '-1',
  '1e999',
  'NaN',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '../../etc/passwd',
  '..',
  '../',
  'a/../../b',
  '..\\..\\windows',
  '%2e%2e%2f%2e%2e%2f',
  'fs:main1:Srv-001/2024-01-01/../../../x.mp3',
  'key\0with-nul',
  'x\r\nHost: evil.example',
  '/rest/v1/uc/calls',
  '/rest/../../admin',
  '/a b',
  '/звонки',
  'звонок',
  '📞☎️',
  '\ud800',
  '\u202e101',
  '\ufeff',
  '12#',
  '*#AbCd',
  '0123456789*#ABCD',
  'E',
  '123x',
  ...PROTOTYPE_KEYS,
];

const FIXED_NUMBERS = [
  0,
  -0,
  1,
  -1,
  101,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e21,
  -1e21,
];

function charFrom(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return String.fromCharCode(rng.between(0x20, 0x7e));
    case 1:
      return String.fromCharCode(rng.between(0, 0x1f));
    case 2:
      return String.fromCharCode(rng.between(0x400, 0x4ff)); // Cyrillic
    case 3:
      return String.fromCodePoint(rng.between(0x1f300, 0x1f6ff)); // emoji
    default:
      return String.fromCharCode(rng.between(0xd800, 0xdfff)); // lone surrogate
  }
}

/** A string: a fixed hostile or plausible one, random characters, or a huge one. */
export function randomString(rng: Rng, hugeChance = 0.02): string {
  if (rng.chance(hugeChance)) return rng.pick(['9', 'x', 'я', '../']).repeat(rng.between(10_000, 300_000));
  if (rng.chance(0.6)) return rng.pick(FIXED_STRINGS);
  let out = '';
  for (let i = rng.int(40); i > 0; i--) out += charFrom(rng);
  return out;
}

export function randomNumber(rng: Rng): number {
  if (rng.chance(0.6)) return rng.pick(FIXED_NUMBERS);
  return rng.chance(0.5) ? rng.between(-1000, 100_000) : (rng.float() - 0.5) * 10 ** rng.between(-5, 300);
}

/** An object whose keys may be prototype keys, set as own properties (as JSON.parse makes them). */
export function objectWith(entries: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A JSON-like value: what a message or a frame can carry. */
export function randomJson(rng: Rng, depth = 0): unknown {
  const kind = depth > 3 ? rng.int(5) : rng.int(8);
  switch (kind) {
    case 0:
      return randomString(rng);
    case 1:
      return randomNumber(rng);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4:
      return rng.chance(0.5) ? undefined : randomString(rng, 0);
    case 5: {
      const items: unknown[] = [];
      for (let i = rng.int(4); i > 0; i--) items.push(randomJson(rng, depth + 1));
      return items;
    }
    case 6:
      return deepNest(rng.between(10, 200), rng.chance(0.5));
    default: {
      const entries: Array<[string, unknown]> = [];
      for (let i = rng.int(4); i > 0; i--) {
        const key = rng.chance(0.3) ? rng.pick(PROTOTYPE_KEYS) : randomString(rng, 0);
        entries.push([key, randomJson(rng, depth + 1)]);
      }
      return objectWith(entries);
    }
  }
}

/** Arrays (or objects) nested `depth` deep around a number. */
export function deepNest(depth: number, arrays: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

/** A value that only JavaScript code (a function node) can put in a message. */
export function randomExotic(rng: Rng): unknown {
  switch (rng.int(9)) {
    case 0:
      return BigInt(rng.between(0, 1000));
    case 1:
      return Symbol('fuzz');
    case 2:
      return () => 'fn';
    case 3: {
      const loop: Record<string, unknown> = { a: 1 };
      loop.self = loop;
      return loop;
    }
    case 4:
      return Object.create(null) as unknown;
    case 5:
      return new Date(0);
    case 6:
      return Buffer.from('101');
    case 7:
      return new Map([['a', 1]]);
    default:
      return { toString: () => { throw new Error('toString throws'); } };
  }
}

/** Any value at all: mostly JSON-like, sometimes exotic. */
export function randomValue(rng: Rng, exoticChance = 0.08): unknown {
  return rng.chance(exoticChance) ? randomExotic(rng) : randomJson(rng);
}
