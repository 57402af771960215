/**
 * Webhooks (era-platform.md §8a): the registration's requests and answers ([M] bodies), and the
 * events a delivery's body holds.
 */
import type { EraEvent, JsonObject } from '../types';
import { isFrame, pushedEvent } from './frames';
import { PATHS, type PlatformRequest } from './paths';
import { replyError, type ReplyError } from './replies';
import { grantedExpires } from './subscriptions';
import { isObject, text } from './values';

function webhookPath(id: string): string {
  return `${PATHS.webhooks}/${encodeURIComponent(id)}`;
}

/**
 * The documented classes a webhook can subscribe to (custom classes go by their own names).
 * A pattern whose class is a glob (`*.dlg_end`) asks for those of them it matches.
 */
export const WEBHOOK_CLASSES: readonly string[] = ['callevents', 'confevents', 'providerevents', 'statesevents'];

/** What a webhook asks for: where the platform sends, which classes, for how long (s). */
export interface WebhookSpec {
  url: string;
  classes: readonly string[];
  expires: number;
}

/**
 * The body of the create and renew requests: not shown by the vendor, so ours. The vendor says
 * the platform sends to the `url` of the integration channel, so a real installation may ignore
 * the `url` here and deliver wherever the channel's settings point.
 */
function webhookBody(spec: WebhookSpec): JsonObject {
  return { url: spec.url, classes: [...spec.classes], expires: spec.expires };
}

export function webhookCreateRequest(spec: WebhookSpec): PlatformRequest {
  return { method: 'POST', path: PATHS.webhooks, body: webhookBody(spec) };
}

/** A renewal: the same webhook (id) again, with its whole body and a fresh lifetime. */
export function webhookRenewRequest(id: string, spec: WebhookSpec): PlatformRequest {
  return { method: 'PUT', path: webhookPath(id), body: webhookBody(spec) };
}

export function webhookDeleteRequest(id: string): PlatformRequest {
  return { method: 'DELETE', path: webhookPath(id) };
}

/**
 * A create or renew answer: the webhook's id (`id`, else `webhook_id`; a renewal may leave it
 * out) and the lifetime granted (`expires`, else what was asked), or the platform's refusal
 * (an answer of 2xx can still say `result: "error"`).
 */
export function webhookAnswer(responseBody: unknown, asked: number): { id: string | undefined; expires: number } | { error: ReplyError } {
  const params = isObject(responseBody) ? responseBody : {};
  const failure = replyError(params, false);
  if (failure !== undefined) return { error: failure };
  return { id: text(params.id) ?? text(params.webhook_id), expires: grantedExpires(params, asked) };
}

/** What one webhook delivery held: its events, and how many items in it were none. */
export interface DeliveryContents {
  events: EraEvent[];
  skipped: number;
}

/**
 * The events of a webhook delivery's body, parsed as JSON. A body is the documented event object
 * `{class, type, data, eventts}`, a frame in any envelope the socket accepts (`["event", {...}]`,
 * the flat form, `["callevents.invite", {...}]`), or an array of such items (one event per
 * request is the model; several cost nothing to accept).
 */
export function deliveryEvents(body: unknown): DeliveryContents {
  const out: DeliveryContents = { events: [], skipped: 0 };
  const items: readonly unknown[] = Array.isArray(body) && !isFrame(body) ? body : [body];
  for (const item of items) {
    const ev = isObject(item)
      ? pushedEvent(undefined, item)
      : isFrame(item) && !item[0].endsWith('_result') ? pushedEvent(item[0], item[1]) : undefined;
    if (ev === undefined) out.skipped++;
    else out.events.push(ev);
  }
  return out;
}
