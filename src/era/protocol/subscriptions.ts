/**
 * The `subscribe` request (era-platform.md §4): asking for events, renewing, deleting, and the
 * lifetime a reply grants ([M]: the reply's `expires`).
 */
import type { JsonObject } from '../types';
import { num } from './values';

export function subscribeParams(id: string, events: readonly string[], objects: readonly string[] | undefined, expires: number): JsonObject {
  return objects === undefined ? { id, events, expires } : { id, events, objects, expires };
}

export function unsubscribeParams(id: string): JsonObject {
  return { id, expires: 0 };
}

/** The lifetime the server granted: the reply's `expires` when it names one, else what we asked. */
export function grantedExpires(params: JsonObject, asked: number): number {
  const granted = num(params.expires);
  return granted !== undefined && granted > 0 ? granted : asked;
}
