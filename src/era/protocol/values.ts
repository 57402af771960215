/**
 * Reading JSON the platform sent, without trusting its types: a value that is not what a
 * field should hold reads as absent. Shared by every wire shape of this folder.
 */
import type { CallDirection, JsonObject } from '../types';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** Fields of a body with the unset ones left out and the user's extra fields merged last. */
export function compact(fields: Record<string, unknown>, extra?: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(fields)) if (fields[key] !== undefined) out[key] = fields[key];
  return extra === undefined ? out : Object.assign(out, extra);
}

/** A call's direction as the platform writes it (`in`, `out`, `local`). */
export function callDirection(value: unknown): CallDirection | undefined {
  // The literals, not the payload's strings: a call table keeps the direction as long as the call.
  return value === 'in' ? 'in' : value === 'out' ? 'out' : value === 'local' ? 'local' : undefined;
}

/** A documented string flag ("true"/"false"/empty), or a boolean from a lenient server. */
export function flag(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}
