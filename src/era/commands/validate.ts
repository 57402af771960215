/**
 * Call commands as the action nodes express them, and their validation. Validation runs
 * before anything is sent, treats every field as untrusted (values come from msg, flow
 * and global context), and explains a refusal in one sentence a flow author understands.
 */
import { invalid } from '../errors';
import type { ConferenceMode, DialMode, JsonObject, TransferMode, ValidCommand } from '../types';
import { PATHS } from '../protocol/paths';
import { describeType, shownValue } from '../util/text';
import { MAX_TIMER_MS } from '../util/timers';

type Loose<C> = C extends unknown ? { [K in keyof C]: K extends 'op' ? C[K] : unknown } : never;

/**
 * A command as callers give it: the same fields, each of any type (values come from
 * messages and context), checked by validateCommand. Modes may be left out.
 */
export type CallCommand = Loose<ValidCommand> extends infer C
  ? C extends { mode: unknown } ? Omit<C, 'mode'> & { mode?: unknown } : C
  : never;

const DTMF_MAX = 64;
const DTMF_ALLOWED = /^[0-9*#A-D]+$/;
const DTMF_BAD_CHAR = /[^0-9*#A-D]/;


/** Text that is not well-formed UTF-16 (half a surrogate pair) cannot be put in a URL or sent as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A required id or number: text or a finite number, not blank. `what` names it for the user. */
function requiredText(value: unknown, what: string, hint: string): string {
  const text = optionalText(value, what);
  if (text === undefined) throw invalid(`${what} is empty: ${hint}`);
  return text;
}

/** An optional id or number: absent, null and blank mean "not given". */
function optionalText(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${what} must be text or a number, got ${String(value)}`);
    return String(value);
  }
  if (typeof value !== 'string') throw invalid(`${what} must be text or a number, got ${describeType(value)}`);
  const text = value.trim();
  if (LONE_SURROGATE.test(text)) throw invalid(`${what} ${shownValue(text)} contains a broken character (half of a surrogate pair)`);
  return text === '' ? undefined : text;
}

function choice<T extends string>(value: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const shown = typeof value === 'string' ? shownValue(value) : describeType(value);
  throw invalid(`Unknown ${what} ${shown}: use ${allowed.join(', ')}`);
}

function extraFields(value: unknown): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const why = unserialisable(value);
      if (why !== undefined) throw invalid(`Extra fields cannot be sent as JSON: ${why}`);
      return value as JsonObject;
    }
  }
  throw invalid(`Extra fields must be a JSON object such as {"idcall": "..."}, got ${describeType(value)}`);
}

/** Why a value cannot be sent as JSON (a BigInt, a loop), or undefined when it can. */
export function unserialisable(value: unknown): string | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

/** DTMF: 1 to 64 of 0-9 * # A-D; lower-case a-d are accepted and sent upper-case. */
export function validateDigits(value: unknown): string {
  const digits = requiredText(value, 'The DTMF digits field', `give 1 to ${DTMF_MAX} of 0-9, *, #, A-D`).toUpperCase();
  if (!DTMF_ALLOWED.test(digits)) {
    const bad = DTMF_BAD_CHAR.exec(digits)?.[0] ?? '';
    const given = String(value).trim();
    // Report the character as the user typed it, not upper-cased.
    const typed = given[digits.indexOf(bad)] ?? bad;
    throw invalid(`DTMF digits ${shownValue(given)} contain "${typed}": only 0-9, *, #, A-D are allowed`);
  }
  if (digits.length > DTMF_MAX) {
    throw invalid(`DTMF digits are ${digits.length} long: at most ${DTMF_MAX} are allowed`);
  }
  return digits;
}

const CALL_HINT = 'set "call" to the call\'s connectionId (msg.connectionId of an era-events message)';

function callId(value: unknown): string {
  return requiredText(value, 'The call id', CALL_HINT);
}

/** A call id from a message or a field, checked as every command checks it (ERA_INVALID_INPUT). */
export function validateCallId(value: unknown): string {
  return callId(value);
}

function paging(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw invalid(`${what} must be a whole number of 0 or more, got ${describeType(value)}`);
}

/**
 * Checks a command and returns it normalised (ids and numbers as trimmed strings, modes
 * defaulted as the nodes default them). Throws EraError ERA_INVALID_INPUT.
 */
export function validateCommand(input: unknown): ValidCommand {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(`A call command must be an object, got ${describeType(input)}`);
  }
  const c = input as Record<string, unknown>;
  switch (c.op) {
    case 'dial': {
      const mode = choice<DialMode>(c.mode, ['post', 'invite', 'ivr'], 'post', 'dial mode');
      const to = requiredText(c.to, 'The number to call', 'set "to" (by default msg.payload)');
      const from = optionalText(c.from, 'The operator number ("from")');
      const ivr = mode === 'ivr'
        ? requiredText(c.ivr, 'The IVR scenario', 'mode "ivr" needs the scenario code in "ivr"')
        : undefined;
      return { op: 'dial', mode, to, from, ivr, extra: extraFields(c.extra) };
    }
    case 'transfer': {
      const mode = choice<TransferMode>(c.mode, ['blind', 'attended'], 'blind', 'transfer mode');
      const call = callId(c.call);
      const leg = optionalText(c.leg, 'The leg');
      const extra = extraFields(c.extra);
      if (mode === 'blind') {
        const to = requiredText(c.to, 'The number to transfer to', 'a blind transfer needs "to"');
        return { op: 'transfer', mode, call, to, leg, extra };
      }
      const replaces = requiredText(c.replaces, 'The call to join with',
        'an attended transfer needs the other call\'s connectionId in "replaces"');
      return { op: 'transfer', mode, call, replaces, leg, extra };
    }
    case 'conference': {
      const mode = choice<ConferenceMode>(c.mode, ['switch', 'join'], 'switch', 'conference mode');
      const call = callId(c.call);
      const conference = mode === 'join'
        ? requiredText(c.conference, 'The conference id', 'mode "join" needs the conference to move the call into')
        : undefined;
      return { op: 'conference', mode, call, conference, extra: extraFields(c.extra) };
    }
    case 'hold':
    case 'unhold':
      return { op: c.op, call: callId(c.call), leg: optionalText(c.leg, 'The leg'), extra: extraFields(c.extra) };
    case 'answer':
      return { op: 'answer', call: callId(c.call), leg: optionalText(c.leg, 'The leg'), extra: extraFields(c.extra) };
    case 'dtmf':
      return {
        op: 'dtmf',
        call: callId(c.call),
        leg: optionalText(c.leg, 'The leg'),
        digits: validateDigits(c.digits),
        extra: extraFields(c.extra),
      };
    case 'record':
      if (typeof c.record !== 'boolean') {
        throw invalid(`"record" must be true (start recording) or false (stop), got ${describeType(c.record)}`);
      }
      return { op: 'record', call: callId(c.call), record: c.record, extra: extraFields(c.extra) };
    case 'hangup':
      return { op: 'hangup', call: callId(c.call) };
    case 'lookup':
      return {
        op: 'lookup',
        key: requiredText(c.key, 'The lookup key', 'set "key" to what the call should be found by'),
        extra: extraFields(c.extra),
      };
    case 'list':
      return { op: 'list', offset: paging(c.offset, '"offset"'), limit: paging(c.limit, '"limit"') };
    case 'get':
      return { op: 'get', call: callId(c.call) };
    default: {
      const shown = typeof c.op === 'string' ? shownValue(c.op) : describeType(c.op);
      throw invalid(`Unknown call command ${shown}: use dial, transfer, conference, hold, unhold, answer, dtmf, record, hangup, lookup, list or get`);
    }
  }
}

/** An HTTP method token; the platform's longest verb is 13 letters, so 32 is generous. */
const METHOD_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$/;
/** A request target as HTTP/1.1 sends it: printable ASCII, no spaces. */
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;

/** Any REST request (era-request): a method token, a path that can travel as it is, a body JSON can carry. */
export function validateRestRequest(method: unknown, path: unknown, body: unknown): { method: string; path: string } {
  if (typeof method !== 'string' || !METHOD_TOKEN.test(method)) {
    throw invalid(`${shownValue(method)} is not an HTTP method: use GET, POST, REFER, ...`);
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw invalid(`The path ${shownValue(path)} must start with "/", e.g. ${PATHS.calls}`);
  }
  if (!REQUEST_TARGET.test(path)) {
    throw invalid(`The path ${shownValue(path)} has spaces or characters that must be percent-encoded (encodeURIComponent)`);
  }
  const why = unserialisable(body);
  if (why !== undefined) throw invalid(`The request body cannot be sent as JSON: ${why}`);
  return { method, path };
}

/**
 * A request's own `timeoutMs`: absent (the client's `requestTimeoutMs`), or a positive number
 * of milliseconds, shortened to the longest a timer can wait (24.8 days).
 */
export function validateTimeout(timeoutMs: unknown): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid(`timeoutMs must be a positive number of milliseconds, got ${shownValue(timeoutMs)}`);
  }
  return Math.min(timeoutMs, MAX_TIMER_MS);
}

/** Any WebSocket request (era-request): a method's name, params JSON can carry. Returns the name, trimmed. */
export function validateWsRequest(method: unknown, params: unknown): string {
  if (typeof method !== 'string' || method.trim() === '') throw invalid('The WebSocket method is empty');
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw invalid('WebSocket parameters must be a JSON object');
  const why = unserialisable(params);
  if (why !== undefined) throw invalid(`WebSocket parameters cannot be sent as JSON: ${why}`);
  return method.trim();
}
