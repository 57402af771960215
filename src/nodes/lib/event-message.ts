import type { EraEvent } from '../../era';
import type { NodeMessage } from './red';

/**
 * The message of one event, as era-events and era-webhook emit it (nodes.md). The payload is
 * taken as it is: the client gives each listener a payload of its own, and a webhook's
 * delivery is read for its node alone.
 */
export function eventMessage(ev: EraEvent, attachCall: boolean): NodeMessage {
  const msg: NodeMessage = { topic: ev.topic, payload: ev.payload };
  if (ev.connectionId !== undefined) msg.connectionId = ev.connectionId;
  if (ev.callId !== undefined) msg.callId = ev.callId;
  if (ev.eventId !== undefined) msg.eventId = ev.eventId;
  if (attachCall && ev.call) msg.call = ev.call;
  if (ev.replayed) msg.replayed = true;
  return msg;
}
