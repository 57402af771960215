/**
 * Errors as the platform words them: in a WebSocket reply (`result`/`errormsg`, or an `error`
 * object or string) or a REST body; and how an older build says it does not know a method.
 */
import type { JsonObject } from '../types';
import { isObject, text } from './values';

export interface ReplyError {
  code?: string | number;
  message: string;
}

/**
 * The error of a WebSocket reply (or of a REST body of the same shape). The platform's own
 * words come in `errormsg` beside `result: "error"`; an `error` field (object or bare string)
 * or a result of `"error"` is also a failure. With `okOnly`, for requests whose only success
 * answer is `"ok"`, any other string result is the error message itself.
 */
export function replyError(params: JsonObject, okOnly: boolean): ReplyError | undefined {
  const { error, result } = params;
  const errormsg = text(params.errormsg);
  if (isObject(error)) {
    const code = typeof error.code === 'string' || typeof error.code === 'number' ? error.code : undefined;
    return { code, message: errormsg ?? text(error.message) ?? text(error.text) ?? text(error.errormsg) ?? 'no message' };
  }
  if (typeof error === 'string' && error !== '') return { message: errormsg ?? error };
  if (result === 'error' || (errormsg !== undefined && result !== 'ok')) return { message: errormsg ?? 'no message' };
  if (okOnly && typeof result === 'string' && result !== 'ok') return { message: result };
  return undefined;
}

/**
 * An error reply saying the installation does not know `method` (an older build): the
 * platform's text names it as unknown, or its code says so.
 */
export function isUnknownMethodReply(error: ReplyError, method: string): boolean {
  if (typeof error.code === 'string' && /unknown.?method|not.?implemented|unsupported.?method/i.test(error.code)) return true;
  // A name is looked for in the platform's words; anything longer than a method name is none.
  const name = method.length > 64 ? '' : method.toLowerCase().replace(/[^a-z0-9_]/g, '');
  const words = error.message.toLowerCase();
  return /unknown (method|command|request)|(method|command|request) (is )?(not found|unknown|not supported|not implemented)|no such (method|command)/.test(words)
    || (name !== '' && new RegExp(`unknown:? ["'\`]?${name}\\b|\\b${name}["'\`]? (is )?(not supported|unsupported|not implemented)`).test(words));
}

/** HTTP statuses by which a server says it does not know a request's method. */
export function isUnknownVerbStatus(statusCode: number): boolean {
  return statusCode === 405 || statusCode === 501;
}

/** A reply error meaning "no such thing" (so the client raises ERA_NOT_FOUND). */
export function isNotFoundReply(error: ReplyError): boolean {
  if (error.code === 404 || error.code === '404' || (typeof error.code === 'string' && /not.?found/i.test(error.code))) return true;
  // A reply with only `errormsg` says it in words.
  return error.code === undefined && /not found|no such|does not exist|unknown (key|call|connection)|^no \w+ with/i.test(error.message);
}

const EXCERPT_MAX = 200;

/** At most ~200 characters of a text body, HTML tags stripped and whitespace collapsed. */
export function excerpt(raw: string): string {
  const flat = raw
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > EXCERPT_MAX ? `${flat.slice(0, EXCERPT_MAX - 1)}…` : flat;
}

/** The reason in a REST error body: `{"error": {code, message}}`, else a short excerpt; '' when empty. */
export function errorBodyText(responseBody: unknown): string {
  if (responseBody === null || responseBody === undefined) return '';
  if (typeof responseBody === 'string') return excerpt(responseBody);
  if (isObject(responseBody)) {
    const failure = replyError(responseBody, false) ?? (text(responseBody.message) ? { message: String(responseBody.message) } : undefined);
    if (failure) return excerpt(failure.code === undefined ? failure.message : `${failure.message} (code ${failure.code})`);
  }
  return excerpt(JSON.stringify(responseBody));
}
