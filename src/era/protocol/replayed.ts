/**
 * Events the client makes up after an outage (gap fill, reconciliation): what their payload
 * says of the call, in the platform's field names.
 */
import type { CallState, EraEvent, JsonObject } from '../types';
import type { ListedCall } from './call-list';
import { makeEvent } from './frames';
import { compact } from './values';

/** What a made-up event says of its call: the same fields, whether known from events or from the list. */
type ReplayedCall = Pick<ListedCall, 'connectionId' | 'callId' | 'startedAt' | 'from' | 'to' | 'direction'>;

function replayedPayload(call: ReplayedCall, eventId: string, now: number, extra: JsonObject): JsonObject {
  return compact({
    eventid: eventId,
    eventts: now,
    cid: call.callId,
    connectionid: call.connectionId,
    invitets: call.startedAt,
    fromnum: call.from,
    tonum: call.to,
    dir: call.direction,
  }, extra);
}

/** Payload of the `callevents.dlg_end` made up for a call found ended after an outage. */
export function replayedEndPayload(call: CallState, eventId: string, now: number): JsonObject {
  return replayedPayload(call, eventId, now, { reason: 'unknown' });
}

/** Payload of the `callevents.invite` made up for a call that started during an outage. */
export function replayedInvitePayload(call: ListedCall, eventId: string, now: number): JsonObject {
  return replayedPayload(call, eventId, now, call.to === undefined ? {} : { callednum: call.to });
}

export function makeReplayedEvent(cls: string, type: string, payload: JsonObject): EraEvent {
  const ev = makeEvent(cls, type, payload);
  ev.replayed = true;
  return ev;
}
