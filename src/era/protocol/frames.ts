/**
 * WebSocket frames (era-platform.md §3, §4): `["method", {params}]` requests and their
 * acknowledgements, and the one decoder of pushed events — three envelopes, since the real
 * one is not documented ([M]).
 */
import type { EraEvent, JsonObject } from '../types';
import { isObject, text } from './values';

export function encodeRequest(method: string, qid: number, params: JsonObject): string {
  return JSON.stringify([method, { ...params, qid }]);
}

/** The last method acknowledged, and the start of its acknowledgement: every push of a socket is one kind. */
let ackedMethod = '';
let ackPrefix = '';

/** The acknowledgement of a server push that carried a qid. */
export function encodeAck(method: string, qid: unknown): string {
  if (method !== ackedMethod) {
    ackPrefix = `[${JSON.stringify(`${method}_result`)},{"qid":`;
    ackedMethod = method;
  }
  const id = typeof qid === 'number' && Number.isFinite(qid) ? String(qid) : JSON.stringify(qid);
  return `${ackPrefix}${id},"result":"ok"}]`;
}

export type UndecodableReason = 'not JSON' | 'not a ["method", {params}] array' | 'unknown envelope';

/** Receives what one frame turned out to be; a visitor so that decoding allocates nothing of its own. */
export interface FrameSink {
  event(event: EraEvent, subscriptionId: unknown, method: string, qid: unknown): void;
  reply(qid: unknown, params: JsonObject): void;
  undecodable(reason: UndecodableReason, method: string | undefined, qid: unknown): void;
}

export function makeEvent(cls: string, type: string, payload: JsonObject): EraEvent {
  return {
    topic: `${cls}.${type}`,
    class: cls,
    type,
    payload,
    eventId: text(payload.eventid),
    connectionId: text(payload.connectionid),
    callId: text(payload.cid),
    replayed: undefined,
    call: undefined,
  };
}

/**
 * The event one pushed message carries, or undefined when it carries none. Three envelopes:
 * the model `["event", {qid, id, class, type, data}]` (whose params are also the documented
 * event object `{class, type, data, eventts}` a webhook delivers); the fields flat in params with
 * the type in `type`/`eventtype`/`event` and the class in `class`/`eventclass`; and a method
 * named `"<class>.<type>"`. The one decoder of events, for the socket and for webhooks alike.
 */
export function pushedEvent(method: string | undefined, params: JsonObject): EraEvent | undefined {
  const cls = params.class ?? params.eventclass;
  const type = params.type ?? params.eventtype ?? params.event;
  if (typeof cls === 'string' && typeof type === 'string' && cls !== '' && type !== '') {
    const data = params.data;
    return makeEvent(cls, type, isObject(data) ? data : params);
  }
  const dot = method === undefined ? -1 : method.indexOf('.');
  if (method !== undefined && dot > 0 && dot < method.length - 1) return makeEvent(method.slice(0, dot), method.slice(dot + 1), params);
  return undefined;
}

export function isFrame(value: unknown): value is [string, JsonObject] {
  return Array.isArray(value) && typeof value[0] === 'string' && isObject(value[1]);
}

/**
 * One frame, one JSON.parse. Replies are `<method>_result` frames, matched by qid elsewhere;
 * anything else is a push, decoded by pushedEvent.
 */
export function decodeFrame(raw: string, sink: FrameSink): void {
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    sink.undecodable('not JSON', undefined, undefined);
    return;
  }
  if (!isFrame(frame)) {
    sink.undecodable('not a ["method", {params}] array', undefined, undefined);
    return;
  }
  const method: string = frame[0];
  const params: JsonObject = frame[1];
  if (method.endsWith('_result')) {
    sink.reply(params.qid, params);
    return;
  }
  const ev = pushedEvent(method, params);
  if (ev !== undefined) sink.event(ev, params.id, method, params.qid);
  else sink.undecodable('unknown envelope', method, params.qid);
}
