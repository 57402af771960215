import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest } from './errors';
import type { CallDir } from './types';

export const uuid = (): string => randomUUID();

/** A SIP Call-Id as PBXs write them: random hex at the host that made it. */
export function sipCallId(): string {
  return `${randomBytes(12).toString('hex')}@10.20.${randomInt(0, 255)}.${randomInt(1, 254)}`;
}

/** A SIP tag (From/To `tag=`): a short random token. */
export const sipTag = (): string => randomBytes(5).toString('hex');

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random lower-case letters and digits, like the platform's temporary file names. */
export function randomName(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

/** A session token: opaque, long enough not to be guessed. */
export const sessionToken = (): string => randomBytes(24).toString('base64url');

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** A Russian mobile number in E.164: +7 9xx xxx xx xx. */
export function russianMobile(): string {
  return `+79${String(randomInt(0, 99)).padStart(2, '0')}${String(randomInt(0, 9_999_999)).padStart(7, '0')}`;
}

/** An internal extension of the demo office, 101…120. */
export const extension = (): string => String(randomInt(101, 120));

/** Internal numbers are short; anything else is outside the PBX. */
export const isInternal = (num: string): boolean => /^\d{2,6}$/.test(num);

/** A phone number from a request: a non-blank string (trimmed) or a finite number; else a 400 naming `name`. */
export function requireNumber(value: unknown, name: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`"${name}" must be a phone number`);
  return value.trim();
}

/** A call's direction from its numbers: internal→internal `local`, internal→outside `out`, else `in`. */
export function directionOf(from: string, to: string): CallDir {
  if (isInternal(from)) return isInternal(to) ? 'local' : 'out';
  return 'in';
}
