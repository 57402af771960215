/**
 * The call model: calls, their legs and conferences, and the events every change produces, in
 * the order of era-platform.md §5.3. Everything that changes a call goes through here, whether
 * it came from REST, the WebSocket API, the control API or the traffic generator.
 *
 * Leg events (`call_*`) are about the B leg (`idcall` = `bcallid`) unless a request named
 * another leg of the call; `call_dtmf` names the leg whose party pressed the keys.
 */
import { badRequest, invalidState, notFound } from './errors';
import { isInternal, sipCallId, uuid } from './ids';
import type { Recordings } from './recordings';
import { TimerSet } from './timers';
import type { CallDir, EventClass, RecordEventName, SimCall, SimCallState, SimEvent, SimEventData } from './types';

/** An event together with what subscriptions are matched against. */
export interface PlatformEvent extends SimEvent {
  /** `class.type`. */
  key: string;
  /** The numbers of the event's call, for a subscription's `objects` filter. */
  numbers: readonly string[];
}

export interface CallRecord {
  readonly id: string;
  readonly cid: string;
  readonly invitets: number;
  readonly invitedt: string;
  fromnum: string;
  tonum: string;
  readonly callednum: string;
  readonly dir: CallDir;
  state: SimCallState;
  readonly acallid: string;
  bcallid: string;
  dialogid: string;
  readonly fromusername: string;
  /** Recording wanted (at creation or by SETUP_RECORD). */
  record: boolean;
  /** Something was recorded, so the end of the call produces a key. */
  recorded: boolean;
  isreferred: boolean;
  recordingKey?: string;
  conference?: string;
  reason?: string;
  /** fromnum, tonum, callednum: what a subscription's `objects` are compared with. */
  numbers: readonly string[];
}

export interface NewCall {
  /** Checked here: they often come straight from a JSON body. */
  from: unknown;
  to: unknown;
  dir?: CallDir;
  record?: boolean;
  answer?: boolean;
  fromusername?: string;
}

export interface ConferenceView {
  id: string;
  createdts: number;
  calls: string[];
  participants: string[];
}

interface Conference {
  id: string;
  createdts: number;
  calls: Set<string>;
}

export type CallModelDeps = {
  publish(event: PlatformEvent): void;
  recordings: Recordings;
  dlgStopDelayMs: number;
  domain: string;
  /** The documented event fields and transfer steps (era-platform.md §5.1) instead of our older ones. */
  strict: boolean;
  recordEventName: RecordEventName;
};

/** Ended calls remembered for the control API; older ones are forgotten. */
const ENDED_CAPACITY = 10_000;
const DTMF = /^[0-9*#A-D]+$/;

export class CallModel {
  private readonly active = new Map<string, CallRecord>();
  private readonly ended = new Map<string, CallRecord>();
  private readonly conferences = new Map<string, Conference>();
  /** Timers of calls and of the scenarios driving them; cleared by reset and stop. */
  readonly timers = new TimerSet();
  /** Events produced since start, for the burst's rate. */
  eventCount = 0;

  constructor(private readonly deps: CallModelDeps) {}

  start(spec: NewCall): CallRecord {
    const from = requireNumber(spec.from, 'from');
    const to = requireNumber(spec.to, 'to');
    const cid = uuid();
    const invitets = Date.now();
    const call: CallRecord = {
      id: `${cid}.${invitets}`,
      cid,
      invitets,
      invitedt: new Date(invitets).toISOString(),
      fromnum: from,
      tonum: to,
      callednum: to,
      dir: spec.dir ?? directionOf(from, to),
      state: 'ring',
      acallid: sipCallId(),
      bcallid: sipCallId(),
      dialogid: uuid(),
      fromusername: spec.fromusername ?? (isInternal(from) ? `Operator ${from}` : from),
      record: spec.record === true,
      recorded: false,
      isreferred: false,
      numbers: [from, to],
    };
    this.active.set(call.id, call);

    this.callEvent('invite', call, this.inviteFields(call));
    this.ccsEvent('connection_create', call, { fromnum: call.fromnum, tonum: call.tonum, dir: call.dir });
    this.dialogEvent('dlg_init', call);
    this.dialogEvent('dlg_call', call, this.transferFlags(false));
    this.ccsEvent('call_create', call, { idcall: call.bcallid });
    this.ccsEvent('call_set_state', call, { idcall: call.bcallid, state: 'ring' });
    if (spec.answer === true) this.answer(call);
    return call;
  }

  /** Another phone picks up a ringing call (§5.1 `dlg_pickup`): it becomes the B side and answers. */
  pickup(call: CallRecord, by: unknown): void {
    const picker = requireNumber(by, 'by');
    if (call.state !== 'ring') throw invalidState(`call ${call.id} is not ringing (${call.state})`);
    this.retarget(call, picker);
    this.dialogEvent('dlg_pickup', call);
    this.answer(call);
  }

  /** B answers. */
  answer(call: CallRecord, idcall = call.bcallid): void {
    if (call.state !== 'ring') throw invalidState(`call ${call.id} is not ringing (${call.state})`);
    call.state = 'talk';
    this.dialogEvent('dlg_start', call);
    this.ccsEvent('call_set_state', call, { idcall, state: 'talk' });
    if (call.record) this.startRecording(call);
  }

  /** The device-control NOTIFY: `talk` answers or resumes, `hold` holds. */
  notify(call: CallRecord, event: unknown, leg?: unknown): void {
    const idcall = this.leg(call, leg, 'b');
    if (event === 'talk') {
      if (call.state === 'ring') this.answer(call, idcall);
      else if (call.state === 'hold') this.setState(call, 'talk', idcall);
    } else if (event === 'hold') {
      if (call.state === 'ring') throw invalidState(`call ${call.id} is ringing and cannot be held`);
      if (call.state === 'talk') this.setState(call, 'hold', idcall);
    } else {
      throw badRequest('"event" must be "talk" or "hold"');
    }
  }

  dtmf(call: CallRecord, digits: unknown, leg: unknown, defaultLeg: 'a' | 'b'): void {
    if (typeof digits !== 'string' || !DTMF.test(digits)) throw badRequest('DTMF digits must be 0-9, *, #, A-D');
    this.ccsEvent('call_dtmf', call, { idcall: this.leg(call, leg, defaultLeg), dtmf: digits });
  }

  setupRecord(call: CallRecord, record: unknown): void {
    if (typeof record !== 'boolean') throw badRequest('"record" must be true or false');
    call.record = record;
    if (record && !call.recorded && call.state !== 'ring') this.startRecording(call);
  }

  /** Blind transfer: the B side is replaced by `to`, who answers at once. */
  refer(call: CallRecord, to: unknown, leg?: unknown): void {
    if (leg !== undefined) this.leg(call, leg, 'b');
    const target = requireNumber(to, 'to');
    if (this.deps.strict) this.callEvent('referring_invite', call, { tonum: target });
    this.replaceB(call, target, false);
  }

  /** Attended transfer: the other call ends ("replaced") and its party joins this call. */
  referReplaces(call: CallRecord, replaces: unknown, leg?: unknown): void {
    if (typeof replaces !== 'string' || replaces === '') throw badRequest('"replaces" must name another call');
    if (replaces === call.id) throw badRequest('a call cannot replace itself');
    if (leg !== undefined) this.leg(call, leg, 'b');
    const other = this.activeCall(replaces);
    const mine = new Set([call.fromnum, call.tonum]);
    const party = mine.has(other.tonum) ? other.fromnum : other.tonum;
    if (this.deps.strict) {
      // The REFER with Replaces and the INVITE it causes come before the replaced dialog ends.
      this.callEvent('replaces_refer', call, { tonum: party });
      this.callEvent('replaces_invite', call, { tonum: party });
    }
    this.hangup(other, 'replaced');
    this.replaceB(call, party, true);
  }

  /** SWITCHCONF: the call becomes a conference (again the same one if it already is). */
  switchConference(call: CallRecord): string {
    if (call.conference !== undefined) return call.conference;
    const conference: Conference = { id: uuid(), createdts: Date.now(), calls: new Set() };
    this.conferences.set(conference.id, conference);
    this.enterConference(call, conference);
    return conference.id;
  }

  joinConference(call: CallRecord, conferenceId: unknown): void {
    if (typeof conferenceId !== 'string' || conferenceId === '') throw badRequest('"conference" must name a conference');
    const conference = this.conferences.get(conferenceId);
    if (!conference) throw notFound(`no conference ${conferenceId}`);
    if (call.conference === conference.id) return;
    this.leaveConference(call);
    this.enterConference(call, conference);
  }

  /** End the dialog: dlg_end now, dlg_stop after `stopDelayMs` (0: at once). */
  hangup(call: CallRecord, reason: string, stopDelayMs = this.deps.dlgStopDelayMs): void {
    if (call.state === 'ended') throw invalidState(`call ${call.id} has already ended`);
    call.state = 'ended';
    call.reason = reason;
    this.active.delete(call.id);
    this.ended.set(call.id, call);
    if (this.ended.size > ENDED_CAPACITY) this.ended.delete(this.ended.keys().next().value as string);
    this.leaveConference(call);

    this.dialogEvent('dlg_end', call, { reason });
    this.ccsEvent('call_set_state', call, { idcall: call.bcallid, state: 'end' });
    this.ccsEvent('call_delete', call, { idcall: call.bcallid });
    if (call.recorded) {
      call.recordingKey = this.deps.recordings.add(call.id, call.invitets);
      this.ccsEvent(this.deps.recordEventName, call, { key: call.recordingKey });
    }
    this.ccsEvent('connection_delete', call, {});
    const stop = (): void => this.dialogEvent('dlg_stop', call, { reason });
    if (stopDelayMs <= 0) stop();
    else this.timers.after(stopDelayMs, stop);
  }

  /** An active call, or a 404. */
  activeCall(id: string): CallRecord {
    const call = this.active.get(id);
    if (!call) throw notFound(`no active call ${id}`);
    return call;
  }

  /** Any call the simulator remembers, ended ones too. */
  knownCall(id: string): CallRecord {
    const call = this.active.get(id) ?? this.ended.get(id);
    if (!call) throw notFound(`no call ${id}`);
    return call;
  }

  isActive(call: CallRecord): boolean {
    return this.active.get(call.id) === call;
  }

  /** LOOKUP: an active call by cid, connectionid or a leg's Call-Id. */
  lookup(key: string): CallRecord | undefined {
    const direct = this.active.get(key);
    if (direct) return direct;
    for (const call of this.active.values()) {
      if (call.cid === key || call.acallid === key || call.bcallid === key) return call;
    }
    return undefined;
  }

  activeCalls(): CallRecord[] {
    return [...this.active.values()];
  }

  allCalls(): CallRecord[] {
    return [...this.ended.values(), ...this.active.values()].sort((a, b) => a.invitets - b.invitets);
  }

  conferenceList(): ConferenceView[] {
    return [...this.conferences.values()].map((c) => this.conferenceView(c));
  }

  conference(id: string): ConferenceView {
    const conference = this.conferences.get(id);
    if (!conference) throw notFound(`no conference ${id}`);
    return this.conferenceView(conference);
  }

  /** Deleting a conference ends every call in it. */
  endConference(id: string): void {
    const conference = this.conferences.get(id);
    if (!conference) throw notFound(`no conference ${id}`);
    for (const callId of [...conference.calls]) {
      const call = this.active.get(callId);
      if (call) this.hangup(call, 'call_terminate');
    }
    this.conferences.delete(id);
  }

  reset(): void {
    this.timers.clear();
    this.active.clear();
    this.ended.clear();
    this.conferences.clear();
  }

  /** A leg of the call named by a request: its Call-Id, or "a"/"b"; absent = `fallback`. */
  leg(call: CallRecord, leg: unknown, fallback: 'a' | 'b'): string {
    const name = leg === undefined || leg === null || leg === '' ? fallback : leg;
    if (name === 'a' || name === call.acallid) return call.acallid;
    if (name === 'b' || name === call.bcallid) return call.bcallid;
    throw notFound(`call ${call.id} has no leg ${String(name)}`);
  }

  private replaceB(call: CallRecord, tonum: string, replacing: boolean): void {
    const oldLeg = call.bcallid;
    call.bcallid = sipCallId();
    call.dialogid = uuid();
    this.retarget(call, tonum);
    call.isreferred = true;
    this.dialogEvent('dlg_call', call, this.transferFlags(true, replacing));
    this.ccsEvent('call_delete', call, { idcall: oldLeg });
    this.ccsEvent('call_create', call, { idcall: call.bcallid });
    this.ccsEvent('connection_update', call, { fromnum: call.fromnum, tonum: call.tonum });
    call.state = 'talk';
    this.dialogEvent('dlg_start', call, this.transferFlags(true));
    this.ccsEvent('call_set_state', call, { idcall: call.bcallid, state: 'talk' });
    if (call.record && !call.recorded) this.startRecording(call);
  }

  /** A new B party; the number first dialled stays among the numbers `objects` match. */
  private retarget(call: CallRecord, tonum: string): void {
    call.tonum = tonum;
    call.numbers = [call.fromnum, tonum, call.callednum];
  }

  private inviteFields(call: CallRecord): Record<string, unknown> {
    const fields = { fromusername: call.fromusername, fromouter: !isInternal(call.fromnum), ...this.transferFlags(false, false) };
    if (!this.deps.strict) return fields;
    const { domain } = this.deps;
    // A fresh call was referred by nobody: the platform sends the field empty.
    return { ...fields, fromdomain: domain, urifrom: `sip:${call.fromnum}@${domain}`, urito: `sip:${call.tonum}@${domain}`, urireferedby: '' };
  }

  /**
   * The transfer flags of an event. The platform sends `isreferred`/`isreplacing` as strings
   * (§5.1); the lenient simulator keeps the booleans and the `isreplaced` name it always had.
   */
  private transferFlags(referred: boolean, replacing?: boolean): Record<string, unknown> {
    if (this.deps.strict) return { isreferred: String(referred), ...(replacing !== undefined && { isreplacing: String(replacing) }) };
    return { isreferred: referred, ...(replacing !== undefined && { isreplaced: replacing }) };
  }

  private setState(call: CallRecord, state: 'talk' | 'hold', idcall: string): void {
    call.state = state;
    this.ccsEvent('call_set_state', call, { idcall, state });
  }

  private startRecording(call: CallRecord): void {
    call.recorded = true;
    this.ccsEvent('connection_start_record', call, {});
    this.callEvent('rec_info', call, { isrec: true, domain: this.deps.domain });
  }

  private enterConference(call: CallRecord, conference: Conference): void {
    conference.calls.add(call.id);
    call.conference = conference.id;
    this.ccsEvent('connection_update', call, { fromnum: call.fromnum, tonum: call.tonum, conference: conference.id });
  }

  private leaveConference(call: CallRecord): void {
    if (call.conference === undefined) return;
    const conference = this.conferences.get(call.conference);
    if (!conference) return;
    conference.calls.delete(call.id);
    if (conference.calls.size === 0) this.conferences.delete(conference.id);
  }

  private conferenceView(conference: Conference): ConferenceView {
    const participants = new Set<string>();
    for (const id of conference.calls) {
      const call = this.active.get(id);
      if (call) participants.add(call.fromnum).add(call.tonum);
    }
    return { id: conference.id, createdts: conference.createdts, calls: [...conference.calls], participants: [...participants] };
  }

  /** The fields every event of a call carries, §5.1 and §5.2. */
  private eventBase(call: CallRecord): SimEventData {
    return {
      eventid: uuid(),
      eventts: Date.now(),
      cid: call.cid,
      invitets: call.invitets,
      invitedt: call.invitedt,
      connectionid: call.id,
    };
  }

  private callEvent(type: string, call: CallRecord, extra: Record<string, unknown>): void {
    const data: SimEventData = {
      ...this.eventBase(call),
      acallid: call.acallid,
      fromnum: call.fromnum,
      tonum: call.tonum,
      callednum: call.callednum,
      dir: call.dir,
      ...extra,
    };
    this.publish('callevents', type, call, data);
  }

  private dialogEvent(type: string, call: CallRecord, extra: Record<string, unknown> = {}): void {
    this.callEvent(type, call, { dialogid: call.dialogid, bcallid: call.bcallid, ...extra });
  }

  private ccsEvent(type: string, call: CallRecord, extra: Record<string, unknown>): void {
    const data: SimEventData = { ...this.eventBase(call), ...extra };
    this.publish('ccsevents', type, call, data);
  }

  private publish(cls: EventClass, type: string, call: CallRecord, data: SimEventData): void {
    this.eventCount++;
    this.deps.publish({ class: cls, type, data, key: `${cls}.${type}`, numbers: call.numbers });
  }
}

export function simView(call: CallRecord): SimCall {
  return {
    ...restView(call),
    record: call.record,
    isreferred: call.isreferred,
    ...(call.recordingKey !== undefined && { recordingKey: call.recordingKey }),
    ...(call.reason !== undefined && { reason: call.reason }),
  };
}

/** The platform's view of an active call (`GET /rest/v1/uc/calls`). */
export function restView(call: CallRecord): Omit<SimCall, 'record' | 'isreferred' | 'recordingKey' | 'reason'> {
  return {
    id: call.id,
    connectionid: call.id,
    cid: call.cid,
    invitets: call.invitets,
    fromnum: call.fromnum,
    tonum: call.tonum,
    callednum: call.callednum,
    dir: call.dir,
    state: call.state,
    acallid: call.acallid,
    bcallid: call.bcallid,
    ...(call.conference !== undefined && { conference: call.conference }),
  };
}

function requireNumber(value: unknown, name: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`"${name}" must be a phone number`);
  return value.trim();
}

function directionOf(from: string, to: string): CallDir {
  if (isInternal(from)) return isInternal(to) ? 'local' : 'out';
  return 'in';
}
