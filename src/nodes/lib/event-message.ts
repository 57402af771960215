import { copyJson, type EraEvent } from '../../era';
import type { NodeMessage } from './red';

/** The message of one event, as era-events and era-webhook emit it (nodes.md). */
export function eventMessage(ev: EraEvent, attachCall: boolean): NodeMessage {
  // The payload may be shared by every listener of the event: each node's message gets its own.
  const msg: NodeMessage = { topic: ev.topic, payload: copyJson(ev.payload) };
  if (ev.connectionId !== undefined) msg.connectionId = ev.connectionId;
  if (ev.callId !== undefined) msg.callId = ev.callId;
  if (ev.eventId !== undefined) msg.eventId = ev.eventId;
  if (attachCall && ev.call) msg.call = ev.call;
  if (ev.replayed) msg.replayed = true;
  return msg;
}
