/**
 * Every shape of the Era platform API that the project had to decide itself ([M] in the
 * spec), and the confirmed paths and verbs they go with. When a real installation
 * disagrees, this is the one file to change; nothing else in the client knows a field name
 * of a request body, a reply or an event.
 */
import type { ValidCommand } from './commands';
import type { CallDirection, CallPhase, CallState, EraEvent, JsonObject } from './types';

export const PATHS = {
  sessions: '/rest/v1/iam/sessions',
  currentSession: '/rest/v1/iam/sessions/current',
  calls: '/rest/v1/uc/calls',
  callRecords: '/api/admin/v1/callrecords',
  webhooks: '/rest/v1/service/webhooks',
  wsUser: '/ws',
  wsToken: '/ws/token/v1',
} as const;

export type Query = Record<string, string | number>;

/** A REST request as the platform expects it, before credentials are added. */
export interface PlatformRequest {
  method: string;
  path: string;
  body?: JsonObject;
  query?: Query;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Login

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
 * A login the platform refused because the address is banned rather than because the password
 * is wrong. The status codes are not documented: 403 is what a ban filter answers, and the
 * body may say so.
 */
export function isBanAnswer(statusCode: number, responseBody: unknown): boolean {
  if (statusCode === 403 || statusCode === 429) return true;
  return statusCode >= 400 && /\bban/i.test(errorBodyText(responseBody));
}

// ---------------------------------------------------------------------------------------
// Connection setup and the socket's own login (§2.3)

export const SETUP_METHOD = 'setup';
export const WS_LOGIN_METHOD = 'login';

/** The capabilities the package asks for: events, call control over the socket, recording links. */
export const PACKAGE_CAPABILITIES = ['subscr', 'ccs', 'callrecord'] as const;
export type Capability = (typeof PACKAGE_CAPABILITIES)[number];

export function setupParams(capabilities: readonly string[]): JsonObject {
  return { capabilities: capabilities.map((key) => ({ key })) };
}

export function wsLoginBySession(sessionId: string): JsonObject {
  return { rsessionid: sessionId };
}

/** Older builds read the domain from `domain` instead of `td`: both are sent, so either reads it. */
export function wsLoginByPassword(domain: string, login: string, password: string): JsonObject {
  return { login, pwd: password, td: domain, domain };
}

/** One capability's answer: granted, or refused with the platform's words. */
export interface CapabilityResult {
  ok: boolean;
  errormsg?: string;
}

/**
 * The per-capability results of a `setup_result` or `login_result`, undefined when the reply
 * lists none. Entries are `{key, result, errormsg}` objects or bare names (granted).
 */
export function capabilityResults(params: JsonObject): Map<string, CapabilityResult> | undefined {
  const list = params.capabilities;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out = new Map<string, CapabilityResult>();
  for (const item of list) {
    if (typeof item === 'string' && item !== '') {
      out.set(item, { ok: true });
    } else if (isObject(item) && typeof item.key === 'string' && item.key !== '') {
      const failure = replyError(item, true);
      out.set(item.key, failure === undefined ? { ok: true } : { ok: false, errormsg: failure.message });
    }
  }
  return out.size === 0 ? undefined : out;
}

// ---------------------------------------------------------------------------------------
// Call control (REST)

function callPath(id: string): string {
  return `${PATHS.calls}/${encodeURIComponent(id)}`;
}

/** Fields of a body with the unset ones left out and the user's extra fields merged last. */
function body(fields: Record<string, unknown>, extra: JsonObject | undefined): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(fields)) if (fields[key] !== undefined) out[key] = fields[key];
  return extra === undefined ? out : Object.assign(out, extra);
}

export function buildCallRequest(cmd: ValidCommand): PlatformRequest {
  switch (cmd.op) {
    case 'dial':
      if (cmd.mode === 'ivr') {
        return { method: 'INVITEBYIVR', path: PATHS.calls, body: body({ to: cmd.to, ivr: cmd.ivr }, cmd.extra) };
      }
      return {
        method: cmd.mode === 'invite' ? 'INVITE' : 'POST',
        path: PATHS.calls,
        body: body({ from: cmd.from, to: cmd.to }, cmd.extra),
      };
    case 'transfer':
      return cmd.mode === 'attended'
        ? { method: 'REFERREPLACES', path: callPath(cmd.call), body: body({ replaces: cmd.replaces, idcall: cmd.leg }, cmd.extra) }
        : { method: 'REFER', path: callPath(cmd.call), body: body({ to: cmd.to, idcall: cmd.leg }, cmd.extra) };
    case 'conference':
      return cmd.mode === 'join'
        ? { method: 'REFERCONF', path: callPath(cmd.call), body: body({ conference: cmd.conference }, cmd.extra) }
        : { method: 'SWITCHCONF', path: callPath(cmd.call), body: body({}, cmd.extra) };
    case 'hold':
    case 'unhold':
      return {
        method: 'NOTIFY',
        path: callPath(cmd.call),
        body: body({ idcall: cmd.leg, event: cmd.op === 'unhold' ? 'talk' : 'hold' }, cmd.extra),
      };
    case 'answer':
      return { method: 'NOTIFY', path: callPath(cmd.call), body: body({ idcall: cmd.leg, event: 'talk' }, cmd.extra) };
    case 'dtmf':
      return { method: 'SEND_DTMF', path: callPath(cmd.call), body: body({ idcall: cmd.leg, dtmf: cmd.digits }, cmd.extra) };
    case 'record':
      return { method: 'SETUP_RECORD', path: callPath(cmd.call), body: body({ record: cmd.record }, cmd.extra) };
    case 'hangup':
      return { method: 'DELETE', path: callPath(cmd.call) };
    case 'lookup':
      return { method: 'LOOKUP', path: PATHS.calls, body: body({ key: cmd.key }, cmd.extra) };
    case 'list': {
      const query: Query = {};
      if (cmd.offset !== undefined) query.offset = cmd.offset;
      if (cmd.limit !== undefined) query.limit = cmd.limit;
      return { method: 'GET', path: PATHS.calls, query };
    }
    case 'get':
      return { method: 'GET', path: callPath(cmd.call) };
  }
}

/** The new call's id in a dial response (`{"id": connectionid}`). */
export function connectionIdFromResponse(responseBody: unknown): string | undefined {
  return isObject(responseBody) ? text(responseBody.id) ?? text(responseBody.connectionid) : undefined;
}

// ---------------------------------------------------------------------------------------
// Calls as the platform lists them

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

function direction(value: unknown): CallDirection | undefined {
  return value === 'in' || value === 'out' || value === 'local' ? value : undefined;
}

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
    direction: direction(value.dir),
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

export function callListRequest(offset: number, limit: number): PlatformRequest {
  return { method: 'GET', path: PATHS.calls, query: { offset, limit } };
}

// ---------------------------------------------------------------------------------------
// Recordings

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

// ---------------------------------------------------------------------------------------
// Errors in bodies and replies

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

// ---------------------------------------------------------------------------------------
// WebSocket frames

export function encodeRequest(method: string, qid: number, params: JsonObject): string {
  return JSON.stringify([method, { ...params, qid }]);
}

/** The acknowledgement of a server push that carried a qid. */
export function encodeAck(method: string, qid: unknown): string {
  return `[${JSON.stringify(`${method}_result`)},{"qid":${JSON.stringify(qid)},"result":"ok"}]`;
}

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

export type UndecodableReason = 'not JSON' | 'not a ["method", {params}] array' | 'unknown envelope';

/** Receives what one frame turned out to be; a visitor so that decoding allocates nothing of its own. */
export interface FrameSink {
  event(event: EraEvent, subscriptionId: unknown, method: string, qid: unknown): void;
  reply(qid: unknown, params: JsonObject): void;
  undecodable(reason: UndecodableReason, method: string | undefined, qid: unknown): void;
}

function makeEvent(cls: string, type: string, payload: JsonObject): EraEvent {
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
function pushedEvent(method: string | undefined, params: JsonObject): EraEvent | undefined {
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

function isFrame(value: unknown): value is [string, JsonObject] {
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

// ---------------------------------------------------------------------------------------
// Webhooks (§8a): the registration's requests and answers, and what a delivery's body holds

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
 * The events of a webhook delivery's body, undefined when it is not JSON. A body is the
 * documented event object `{class, type, data, eventts}`, a frame in any envelope the socket
 * accepts (`["event", {...}]`, the flat form, `["callevents.invite", {...}]`), or an array of
 * such items (one event per request is the model; several cost nothing to accept).
 */
export function decodeDelivery(raw: string): DeliveryContents | undefined {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
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

// ---------------------------------------------------------------------------------------
// What an event's fields mean for the state of its call

export type CallEventKind = 'invite' | 'progress' | 'pickup' | 'answer' | 'end' | 'stop' | 'leg' | 'record' | 'failure' | 'other';

/** Scratch record filled by readCallEvent; reused for every event so reading allocates nothing. */
export interface CallEventFacts {
  kind: CallEventKind;
  connectionId: string | undefined;
  callId: string | undefined;
  at: number | undefined;
  startedAt: number | undefined;
  from: string | undefined;
  to: string | undefined;
  direction: CallDirection | undefined;
  legA: string | undefined;
  legB: string | undefined;
  /** A leg event's leg and its state (ccsevents.call_*). */
  leg: string | undefined;
  legState: 'ring' | 'talk' | 'hold' | 'end' | undefined;
  reason: string | undefined;
  recordingKey: string | undefined;
  /** The new B party of a blind transfer (a referred dialog calling B again). */
  transfer: string | undefined;
}

export function emptyCallEventFacts(): CallEventFacts {
  return {
    kind: 'other', connectionId: undefined, callId: undefined, at: undefined, startedAt: undefined,
    from: undefined, to: undefined, direction: undefined, legA: undefined, legB: undefined,
    leg: undefined, legState: undefined, reason: undefined, recordingKey: undefined, transfer: undefined,
  };
}

const CALLEVENT_KINDS = new Map<string, CallEventKind>([
  ['invite', 'invite'],
  ['dlg_init', 'progress'],
  ['dlg_call', 'progress'],
  ['fork_start', 'progress'],
  ['dlg_pickup', 'pickup'],
  ['referring_invite', 'progress'],
  ['route_referred', 'progress'],
  ['replaces_refer', 'progress'],
  ['replaces_invite', 'progress'],
  ['dlg_start', 'answer'],
  ['dlg_end', 'end'],
  ['dlg_stop', 'stop'],
]);

const CCSEVENT_KINDS = new Map<string, CallEventKind>([
  ['call_create', 'leg'],
  ['call_update', 'leg'],
  ['call_set_state', 'leg'],
  ['call_delete', 'leg'],
  ['call_dtmf', 'leg'],
  ['connection_set_record_info', 'record'],
  // One build's recording page names the same event so.
  ['set_call_record_info', 'record'],
  ['connection_failure', 'failure'],
]);

/** The dialog's last word (§5.3): after it, nothing more comes for the call. */
export const DIALOG_STOP_TOPIC = 'callevents.dlg_stop';

/** The topics of the event that brings a finished recording's key (one build names it differently). */
export const RECORDING_TOPICS: readonly string[] = ['ccsevents.connection_set_record_info', 'ccsevents.set_call_record_info'];

/**
 * Events a call still sends after dlg_end (the tail of §5.3): its legs and connection
 * deleted, the recording's key, dlg_stop.
 */
export const AFTER_END_TOPICS: readonly string[] = [
  DIALOG_STOP_TOPIC,
  'ccsevents.call_set_state',
  'ccsevents.call_delete',
  ...RECORDING_TOPICS,
  'ccsevents.connection_delete',
];

/**
 * What the call table subscribes to: every call event, and of the call-centre layer only the
 * types it reads (named one by one: the documentation shows `*` only for "all types").
 */
export const CALL_TABLE_EVENTS: readonly string[] = ['callevents.*', ...[...CCSEVENT_KINDS.keys()].map((t) => `ccsevents.${t}`)];

/** The dialog events by which a referred (transferred) dialog calls its new B party. */
const REFERRED_DIALOG_TYPES = new Set(['dlg_init', 'dlg_call']);

/** A documented string flag ("true"/"false"/empty), or a boolean from a lenient server. */
function flag(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

function legState(value: unknown): CallEventFacts['legState'] {
  return value === 'ring' || value === 'talk' || value === 'hold' || value === 'end' ? value : undefined;
}

/** Fills `out` with what `ev` says about its call. */
export function readCallEvent(ev: EraEvent, out: CallEventFacts): CallEventFacts {
  const p = ev.payload;
  const kinds = ev.class === 'callevents' ? CALLEVENT_KINDS : ev.class === 'ccsevents' ? CCSEVENT_KINDS : undefined;
  out.kind = kinds?.get(ev.type) ?? 'other';
  out.connectionId = ev.connectionId;
  out.callId = ev.callId;
  out.at = num(p.eventts);
  out.startedAt = num(p.invitets);
  out.from = text(p.fromnum) ?? text(p.fromusername);
  out.to = text(p.tonum) ?? text(p.callednum);
  out.direction = direction(p.dir) ?? (flag(p.fromouter) ? 'in' : undefined);
  out.legA = text(p.acallid);
  out.legB = text(p.bcallid);
  out.leg = text(p.idcall);
  out.legState = legState(p.state);
  out.reason = text(p.reason);
  out.recordingKey = text(p.key);
  // A dialog that calls B again with `isreferred` is a transfer; with `isreplacing` it is an
  // attended one, whose replaced call only the command names. The platform sends both flags
  // as strings ("true"/"false"/empty); booleans and the old `isreplaced` are read too.
  out.transfer = REFERRED_DIALOG_TYPES.has(ev.type) && ev.class === 'callevents' && flag(p.isreferred)
    && !flag(p.isreplacing) && !flag(p.isreplaced)
    ? out.to
    : undefined;
  return out;
}

/** Does the event name one of `objects` as a party? (For subscriptions with an objects filter.) */
export function eventNamesParty(payload: JsonObject, objects: ReadonlySet<string>): boolean {
  for (const field of ['fromnum', 'tonum', 'callednum', 'fromusername'] as const) {
    const value = text(payload[field]);
    if (value !== undefined && objects.has(value)) return true;
  }
  return false;
}

/** What a made-up event says of its call: the same fields, whether known from events or from the list. */
type ReplayedCall = Pick<ListedCall, 'connectionId' | 'callId' | 'startedAt' | 'from' | 'to' | 'direction'>;

function replayedPayload(call: ReplayedCall, eventId: string, now: number, extra: JsonObject): JsonObject {
  return body({
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
