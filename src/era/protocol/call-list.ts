/**
 * Calls as the platform lists them (`GET /rest/v1/uc/calls[/<id>]`, [M] shape), in the client's terms.
 */
import type { CallDirection, CallPhase, JsonObject } from '../types';
import { callDirection, isObject, num, text } from './values';

/** A call of `GET /rest/v1/uc/calls` (or `/<id>`), in the client's terms. */
export interface ListedCall {
  connectionId: string;
  callId?: string;
  startedAt?: number;
  from?: string;
  to?: string;
  direction?: CallDirection;
  state?: CallPhase;
}

// Maps, not object literals: keys come from the server and must not reach Object.prototype.
const LISTED_STATES = new Map<unknown, CallPhase>([['ring', 'ringing'], ['talk', 'talking'], ['hold', 'held'], ['ended', 'ended']]);

export function listedCall(value: unknown): ListedCall | undefined {
  if (!isObject(value)) return undefined;
  const connectionId = text(value.connectionid) ?? text(value.id);
  if (connectionId === undefined) return undefined;
  return {
    connectionId,
    callId: text(value.cid),
    startedAt: num(value.invitets),
    from: text(value.fromnum),
    to: text(value.tonum),
    direction: callDirection(value.dir),
    state: LISTED_STATES.get(value.state),
  };
}

/** The items of a list response as sent: an array, or an array under `calls` / `items`. Undefined: not a list. */
export function callListItems(responseBody: unknown): JsonObject[] | undefined {
  const items: unknown = Array.isArray(responseBody)
    ? responseBody
    : isObject(responseBody) && Array.isArray(responseBody.calls)
      ? responseBody.calls
      : isObject(responseBody) && Array.isArray(responseBody.items)
        ? responseBody.items
        : undefined;
  return Array.isArray(items) ? items.filter(isObject) : undefined;
}

/** The calls of a list response, in the client's terms. Undefined: not a list. */
export function listedCalls(responseBody: unknown): ListedCall[] | undefined {
  const items = callListItems(responseBody);
  if (items === undefined) return undefined;
  const calls: ListedCall[] = [];
  for (const item of items) {
    const call = listedCall(item);
    if (call !== undefined) calls.push(call);
  }
  return calls;
}
