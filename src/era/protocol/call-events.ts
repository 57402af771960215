/**
 * What an event's fields mean for the state of its call ([C] event names, [M] where the fields
 * sit): read into one reused record, so that reading allocates nothing.
 */
import type { CallDirection, EraEvent, JsonObject } from '../types';
import { callDirection, flag, num, text } from './values';

export type CallEventKind = 'invite' | 'progress' | 'pickup' | 'answer' | 'end' | 'stop' | 'leg' | 'recording' | 'record' | 'failure' | 'other';

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
  /** A recording event says the dialog is being recorded (rec_info's `isrec`, connection_start_record). */
  recording: boolean;
  /** The new B party of a transfer, blind or attended (a referred dialog calling B again). */
  transfer: string | undefined;
  /** The dialog a dlg_* event belongs to (`dialogid`). */
  dialogId: string | undefined;
}

export function emptyCallEventFacts(): CallEventFacts {
  return {
    kind: 'other', connectionId: undefined, callId: undefined, at: undefined, startedAt: undefined,
    from: undefined, to: undefined, direction: undefined, legA: undefined, legB: undefined,
    leg: undefined, legState: undefined, reason: undefined, recordingKey: undefined, recording: false, transfer: undefined,
    dialogId: undefined,
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
  ['rec_info', 'recording'],
]);

const CCSEVENT_KINDS = new Map<string, CallEventKind>([
  ['call_create', 'leg'],
  ['call_update', 'leg'],
  ['call_set_state', 'leg'],
  ['call_delete', 'leg'],
  ['call_dtmf', 'leg'],
  ['connection_start_record', 'recording'],
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
 * types that change what it knows (named one by one: the documentation shows `*` only for "all
 * types"): a leg's state (hold), the recording's key, a failure. The other leg events
 * (create, update, delete, DTMF) would only repeat leg ids the dialog events and the leg's state
 * already carry; each pushed frame costs a parse and an acknowledgement, so they are left out.
 * A listener that subscribes to them still feeds the table.
 */
export const CALL_TABLE_EVENTS: readonly string[] = [
  'callevents.*',
  'ccsevents.call_set_state',
  ...RECORDING_TOPICS,
  'ccsevents.connection_failure',
];

/** A number short enough to be an extension, not a subscriber's: the platform's own phones. */
const EXTENSION = /^\d{1,5}$/;

/**
 * A call's direction from the documented `fromouter` (A is external) when no `dir` says it: an
 * external caller's call is inbound; an internal caller's is internal when it calls an extension,
 * else outbound ([M]: the documentation names no field for the callee's side).
 */
function directionFromCaller(fromouter: unknown, callee: string | undefined): CallDirection | undefined {
  if (fromouter === undefined || fromouter === null || fromouter === '') return undefined;
  if (flag(fromouter)) return 'in';
  return callee !== undefined && EXTENSION.test(callee) ? 'local' : 'out';
}

/** The dialog events by which a referred (transferred) dialog calls its new B party. */
const REFERRED_DIALOG_TYPES = new Set(['dlg_init', 'dlg_call']);

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
  out.direction = callDirection(p.dir) ?? directionFromCaller(p.fromouter, out.to);
  out.legA = text(p.acallid);
  out.legB = text(p.bcallid);
  out.leg = text(p.idcall);
  out.legState = legState(p.state);
  out.reason = text(p.reason);
  out.recordingKey = text(p.key);
  out.recording = out.kind === 'recording' && (ev.type === 'connection_start_record' || flag(p.isrec));
  // A dialog that calls B again with `isreferred` is a transfer (attended when `isreplacing`:
  // either way its B party is the one transferred to). The platform sends the flags as strings
  // ("true"/"false"/empty); booleans are read too.
  out.transfer = REFERRED_DIALOG_TYPES.has(ev.type) && ev.class === 'callevents' && flag(p.isreferred) ? out.to : undefined;
  out.dialogId = text(p.dialogid);
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
