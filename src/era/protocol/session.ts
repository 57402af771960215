/**
 * The REST login (era-platform.md §2.1): its request, what a session is made of (a bearer token
 * or the session cookie, and the session's id), the headers that present it, and how a ban
 * shows in an answer.
 */
import { PATHS, type PlatformRequest } from './paths';
import { errorBodyText } from './replies';
import { isObject, text } from './values';

export function loginRequest(domain: string, login: string, password: string): PlatformRequest {
  return {
    method: 'POST',
    path: PATHS.sessions,
    // "token" is the documented value: the session's id comes back as `session_token`.
    body: { domain, login, pwd: password, session_type: 'token' },
  };
}

/** What a login gave us: a bearer token, or the session cookie(s) to send back, and the session's id. */
export interface SessionCredentials {
  token?: string;
  /** `name=value` pairs as the server set them, joined for a Cookie header. */
  cookie?: string;
  /** The REST session's id, for the socket's `login` with `rsessionid`; undefined until known. */
  id?: string;
}

/**
 * The REST session's id in a login or `GET /rest/v1/iam/sessions/current` answer. The vendor's
 * page says the id for a socket `login` comes from the current session; the field name is ours.
 */
export function sessionIdFrom(body: unknown): string | undefined {
  return isObject(body) ? text(body.session_id) ?? text(body.sessionid) ?? text(body.id) : undefined;
}

/**
 * Reads the session from a login response; undefined when it carries neither token nor cookie.
 * The cookie is named EraSession on some builds and RSession on others, so every cookie the
 * login set is kept under its own name.
 */
export function sessionFromLogin(body: unknown, setCookie: string | string[] | undefined): SessionCredentials | undefined {
  const token = isObject(body) ? text(body.session_token) : undefined;
  const pairs: string[] = [];
  for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const pair = line.split(';', 1)[0]?.trim() ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0 && eq < pair.length - 1) pairs.push(pair);
  }
  if (token === undefined && pairs.length === 0) return undefined;
  const creds: SessionCredentials = {};
  if (token !== undefined) creds.token = token;
  if (pairs.length > 0) creds.cookie = pairs.join('; ');
  const id = sessionIdFrom(body);
  if (id !== undefined) creds.id = id;
  return creds;
}

/** The value of the first cookie of a Cookie header (the session cookie's value is its id). */
export function cookieValue(cookie: string): string | undefined {
  const first = cookie.split(';', 1)[0] ?? '';
  const value = first.slice(first.indexOf('=') + 1).trim();
  return value === '' ? undefined : value;
}

export function sessionHeaders(session: SessionCredentials): Record<string, string> {
  const headers: Record<string, string> = {};
  if (session.token !== undefined) headers.authorization = `Bearer ${session.token}`;
  if (session.cookie !== undefined) headers.cookie = session.cookie;
  return headers;
}

export function tokenHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * Words of a ban, whole (never "Bandwidth", "banner", "bank", "urban"): English ban, bans,
 * banned, banning; Russian бан in its cases, забанен…; заблокирован… only beside адрес or IP,
 * since a blocked number or account is no ban of this address.
 */
const BAN_WORDS = /(?<![\p{L}\p{N}_])(?:ban|bans|banned|banning|бан|бана|бану|баном|бане|забанен|забанена|забанено|забанены)(?![\p{L}\p{N}_])/iu;
const BLOCKED_ADDRESS = /(?<![\p{L}\p{N}_])(?:(?:ip|адрес)[\p{L}-]*(?:\s+[\p{L}\p{N}.:-]+){0,3}\s+заблокирован\p{L}*|заблокирован\p{L}*(?:\s+[\p{L}\p{N}.:-]+){0,3}\s+(?:ip|адрес)[\p{L}-]*)/iu;
/** The address, in the words that name what is banned: address, IP, адрес. */
const ADDRESS_WORDS = /(?<![\p{L}\p{N}_])(?:address|addresses|ip|адрес\p{L}*)(?![\p{L}\p{N}_])/iu;

/** Whether the platform's words speak of a ban. */
export function saysBanned(words: string): boolean {
  return BAN_WORDS.test(words) || BLOCKED_ADDRESS.test(words);
}

/** Whether the platform's words say this ADDRESS is banned (a socket login's refusal), not an account or a number. */
export function saysAddressBanned(words: string): boolean {
  return BLOCKED_ADDRESS.test(words) || (BAN_WORDS.test(words) && ADDRESS_WORDS.test(words));
}

/**
 * A login (or a WebSocket upgrade) the platform refused because the address is banned rather
 * than because the password is wrong. The status codes are not documented: 403 is what a ban
 * filter answers, 429 what a rate limit does; any other refusal is one only when its words
 * say the address is banned, and a 5xx never is (a proxy's page).
 */
export function isBanAnswer(statusCode: number, responseBody: unknown): boolean {
  if (statusCode === 403 || statusCode === 429) return true;
  return statusCode >= 400 && statusCode < 500 && saysAddressBanned(errorBodyText(responseBody));
}

/**
 * An ordinary request's answer that is the ban: a 429, or a 403 whose words say so. A bare 403
 * there is an account without the right to that request, not a ban, and no other status is one
 * whatever its words ("number is banned by the routing rules" is a refused dial).
 */
export function isBanReply(statusCode: number, responseBody: unknown): boolean {
  return statusCode === 429 || (statusCode === 403 && saysBanned(errorBodyText(responseBody)));
}

/** A Retry-After this long or longer is taken as this long: a wrong clock must not stop a node for days. */
const RETRY_AFTER_MAX_MS = 60 * 60_000;

/** Retry-After (RFC 9110: seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined || raw === '') return undefined;
  // An HTTP date names its day and month in letters; Date.parse would also read "-5" as a year.
  const ms = /^\d+$/.test(raw) ? Number(raw) * 1000 : /[a-z]{3}/i.test(raw) ? Date.parse(raw) - now : NaN;
  return Number.isNaN(ms) ? undefined : Math.min(RETRY_AFTER_MAX_MS, Math.max(0, ms));
}
