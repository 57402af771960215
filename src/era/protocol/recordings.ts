/**
 * Recording links (era-platform.md §7): over the token socket (`callrecord_get_path`) or over
 * REST ([M] query and answer).
 */
import type { JsonObject } from '../types';
import { PATHS, type PlatformRequest } from './paths';
import { replyError, type ReplyError } from './replies';
import { isObject, text } from './values';

export const RECORD_LINK_WS_METHOD = 'callrecord_get_path';

export function recordLinkWsParams(key: string): JsonObject {
  return { key };
}

export function recordLinkRestRequest(key: string): PlatformRequest {
  return { method: 'GET', path: PATHS.callRecords, query: { key } };
}

function looksLikeLink(value: string): boolean {
  return value.startsWith('/') || /^https?:\/\//i.test(value);
}

/** The temporary link in a REST answer (`{"url": ...}`; a bare string body is accepted too). */
export function recordLinkFromRest(responseBody: unknown): string | undefined {
  const link = isObject(responseBody) ? text(responseBody.url) ?? text(responseBody.path) : text(responseBody);
  return link !== undefined && looksLikeLink(link) ? link : undefined;
}

/**
 * The temporary link in a `callrecord_get_path_result`: the path is the `result` itself,
 * so a string result that is not a path is the platform's error message.
 */
export function recordLinkFromWs(params: JsonObject): { link: string } | { error: ReplyError } {
  const failure = replyError(params, false);
  if (failure) return { error: failure };
  const result = text(params.result) ?? text(params.path) ?? text(params.url);
  if (result !== undefined && looksLikeLink(result)) return { link: result };
  return { error: { message: result ?? 'the reply carries no link' } };
}
