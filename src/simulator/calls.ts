/**
 * The call model: calls, their legs and conferences, and the events every change produces, in
 * the order of era-platform.md §5.3 and §5.4. Everything that changes a call goes through here,
 * whether it came from REST, the WebSocket API, the control API or the traffic generator.
 *
 * Leg events (`call_*`) are about the B leg (`idcall` = `bcallid`) unless a request named
 * another leg of the call; `call_dtmf` names the leg whose party pressed the keys. A ring group
 * or queue call (forks.ts) has a leg per fork: each fork's `call_*` events name its
 * `forkcallid`, and `bcallid` is the leg of the first fork ringing (a queue: the latest) until
 * a phone answers, then that phone's.
 */
import { badRequest, invalidState, notFound } from './errors';
import { forkingOf, forkPlan, forkView, newFork, ringingForks, type Fork, type Forking } from './forks';
import { directionOf, isInternal, requireNumber, sipCallId, uuid } from './ids';
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
  /** fromnum, tonum, callednum and a group's or queue's phones: what a subscription's `objects` are compared with. */
  numbers: readonly string[];
  /** The phones of a ring group or queue call; undefined for a call to one phone. */
  readonly forking?: Forking;
}

export interface NewCall {
  /** Checked here: they often come straight from a JSON body. */
  from: unknown;
  to: unknown;
  dir?: CallDir;
  record?: boolean;
  answer?: boolean;
  fromusername?: string;
  group?: unknown;
  queue?: unknown;
  ringMs?: unknown;
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
    const plan = forkPlan(spec);
    const forking = plan && forkingOf(plan);
    // A group rings every phone at once, a queue its first one.
    if (forking) forking.forks.push(...forking.phones.slice(0, forking.kind === 'group' ? undefined : 1).map(newFork));
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
      bcallid: forking?.forks[0]?.callid ?? sipCallId(),
      dialogid: uuid(),
      fromusername: spec.fromusername ?? (isInternal(from) ? `Operator ${from}` : from),
      record: spec.record === true,
      recorded: false,
      isreferred: false,
      numbers: [from, to, ...(forking?.phones ?? [])],
      ...(forking && { forking }),
    };
    this.active.set(call.id, call);

    this.callEvent('invite', call, this.inviteFields(call));
    this.ccsEvent('connection_create', call, { fromnum: call.fromnum, tonum: call.tonum, dir: call.dir });
    this.dialogEvent('dlg_init', call);
    for (const fork of forking?.forks ?? []) this.forkEvent(call, fork);
    this.dialogEvent('dlg_call', call, this.transferFlags(false));
    if (forking) {
      for (const fork of forking.forks) this.ringLeg(call, fork.callid);
      this.startRingTime(call, forking);
    } else {
      this.ringLeg(call, call.bcallid);
    }
    if (spec.answer === true) this.answer(call);
    return call;
  }

  /**
   * A phone answers: `by`, or when left out the called phone (a group's or queue's first phone
   * ringing). A group's or queue's phone answers with `dlg_pickup` before `dlg_start` (§5.4).
   */
  answer(call: CallRecord, by?: unknown): void {
    this.requireRinging(call);
    const phone = by === undefined ? undefined : requireNumber(by, 'by');
    if (!call.forking) {
      if (phone !== undefined && phone !== call.tonum) throw invalidState(`phone ${phone} is not ringing on call ${call.id}`);
      this.talk(call, call.bcallid);
      return;
    }
    const fork = ringingForks(call.forking).find((f) => phone === undefined || f.phone === phone);
    if (!fork) throw invalidState(phone === undefined ? `no phone is ringing on call ${call.id}` : `phone ${phone} is not ringing on call ${call.id}`);
    this.takeFork(call, fork);
  }

  /**
   * Another phone picks up a ringing call (§5.1 `dlg_pickup`): it becomes the B side and
   * answers. A group's or queue's own phone ringing now answers as itself; any other phone
   * silences the forks and talks on a new leg.
   */
  pickup(call: CallRecord, by: unknown): void {
    const picker = requireNumber(by, 'by');
    this.requireRinging(call);
    const { forking } = call;
    if (!forking) {
      this.retarget(call, picker);
      this.dialogEvent('dlg_pickup', call);
      this.talk(call, call.bcallid);
      return;
    }
    const own = ringingForks(forking).find((f) => f.phone === picker);
    if (own) {
      this.takeFork(call, own);
      return;
    }
    call.bcallid = sipCallId();
    this.retarget(call, picker);
    this.dialogEvent('dlg_pickup', call);
    this.endLegs(call, this.silenceForks(forking));
    this.ccsEvent('call_create', call, { idcall: call.bcallid });
    this.talk(call, call.bcallid);
  }

  /**
   * A queue moves on (§5.4): the phone ringing now stops (its leg ends; the dialog goes on) and
   * the next one rings; with `ring` false the queue waits between the two until `next` again.
   * With no phone left the dialog ends `timeout`.
   */
  nextPhone(call: CallRecord, ring = true): void {
    const { forking } = call;
    if (forking?.kind !== 'queue') throw invalidState(`call ${call.id} is not a queue call`);
    this.requireRinging(call);
    const stopped = this.silenceForks(forking);
    if (!ring && stopped.length === 0) throw invalidState(`no phone is ringing on call ${call.id}`);
    this.endLegs(call, stopped);
    const phone = forking.phones[forking.forks.length];
    if (phone === undefined) {
      this.hangup(call, 'timeout');
      return;
    }
    if (!ring) return;
    const fork = newFork(phone);
    forking.forks.push(fork);
    call.bcallid = fork.callid;
    this.forkEvent(call, fork);
    this.ringLeg(call, fork.callid);
    this.startRingTime(call, forking);
  }

  /** The device-control NOTIFY: `talk` answers or resumes, `hold` holds. */
  notify(call: CallRecord, event: unknown, leg?: unknown): void {
    const idcall = this.leg(call, leg, 'b');
    if (event === 'talk') {
      if (call.state === 'ring') this.answerLeg(call, idcall);
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
    // Unanswered, a group's or queue's legs are those of the phones still ringing (maybe none).
    const legs = call.forking && call.state === 'ring' ? this.silenceForks(call.forking) : [call.bcallid];
    call.state = 'ended';
    call.reason = reason;
    this.active.delete(call.id);
    this.ended.set(call.id, call);
    if (this.ended.size > ENDED_CAPACITY) this.ended.delete(this.ended.keys().next().value as string);
    this.leaveConference(call);

    this.dialogEvent('dlg_end', call, { reason });
    this.endLegs(call, legs);
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
    const fork = call.forking && ringingForks(call.forking).find((f) => f.callid === name);
    if (fork) return fork.callid;
    throw notFound(`call ${call.id} has no leg ${String(name)}`);
  }

  private replaceB(call: CallRecord, tonum: string, replacing: boolean): void {
    const oldLegs = call.forking && call.state === 'ring' ? this.silenceForks(call.forking) : [call.bcallid];
    call.bcallid = sipCallId();
    call.dialogid = uuid();
    this.retarget(call, tonum);
    call.isreferred = true;
    this.dialogEvent('dlg_call', call, this.transferFlags(true, replacing));
    for (const idcall of oldLegs) this.ccsEvent('call_delete', call, { idcall });
    this.ccsEvent('call_create', call, { idcall: call.bcallid });
    this.ccsEvent('connection_update', call, { fromnum: call.fromnum, tonum: call.tonum });
    call.state = 'talk';
    this.dialogEvent('dlg_start', call, this.transferFlags(true));
    this.ccsEvent('call_set_state', call, { idcall: call.bcallid, state: 'talk' });
    if (call.record && !call.recorded) this.startRecording(call);
  }

  /** A new B party; the number first dialled (and a group's phones) stay among the numbers `objects` match. */
  private retarget(call: CallRecord, tonum: string): void {
    call.tonum = tonum;
    call.numbers = [call.fromnum, tonum, call.callednum, ...(call.forking?.phones ?? [])];
  }

  private requireRinging(call: CallRecord): void {
    if (call.state !== 'ring') throw invalidState(`call ${call.id} is not ringing (${call.state})`);
  }

  /** The conversation starts on leg `idcall`. */
  private talk(call: CallRecord, idcall: string): void {
    call.state = 'talk';
    this.dialogEvent('dlg_start', call);
    this.ccsEvent('call_set_state', call, { idcall, state: 'talk' });
    if (call.record) this.startRecording(call);
  }

  /** NOTIFY talk on a ringing call: the leg named answers (a group's or queue's: one of its phones ringing). */
  private answerLeg(call: CallRecord, idcall: string): void {
    if (!call.forking) {
      this.talk(call, idcall);
      return;
    }
    const fork = ringingForks(call.forking).find((f) => f.callid === idcall);
    if (!fork) throw invalidState(`leg ${idcall} of call ${call.id} is not ringing`);
    this.takeFork(call, fork);
  }

  /** A fork's phone answers: `dlg_pickup`, the other phones stop ringing, `dlg_start`. */
  private takeFork(call: CallRecord, fork: Fork): void {
    fork.state = 'answered';
    call.bcallid = fork.callid;
    this.retarget(call, fork.phone);
    this.dialogEvent('dlg_pickup', call);
    this.endLegs(call, this.silenceForks(call.forking as Forking));
    this.talk(call, fork.callid);
  }

  /** A new leg rings. */
  private ringLeg(call: CallRecord, idcall: string): void {
    this.ccsEvent('call_create', call, { idcall });
    this.ccsEvent('call_set_state', call, { idcall, state: 'ring' });
  }

  /** Legs that stop: `call_set_state end` and `call_delete` each. */
  private endLegs(call: CallRecord, legs: readonly string[]): void {
    for (const idcall of legs) {
      this.ccsEvent('call_set_state', call, { idcall, state: 'end' });
      this.ccsEvent('call_delete', call, { idcall });
    }
  }

  /** The phones ringing now stop, with their ring timer; returns their legs (their events are the caller's to emit). */
  private silenceForks(forking: Forking): string[] {
    this.timers.cancel(forking.timer);
    forking.timer = undefined;
    const legs: string[] = [];
    for (const fork of ringingForks(forking)) {
      fork.state = 'stopped';
      legs.push(fork.callid);
    }
    return legs;
  }

  /** After `ringMs` unanswered, a queue tries its next phone and a group gives up (`timeout`). */
  private startRingTime(call: CallRecord, forking: Forking): void {
    if (forking.ringMs === 0) return;
    forking.timer = this.timers.after(forking.ringMs, () => {
      forking.timer = undefined;
      // Every change to the ringing phones cancels this timer; the check only keeps a timer from ever throwing.
      if (!this.isActive(call) || call.state !== 'ring') return;
      if (forking.kind === 'queue') this.nextPhone(call);
      else this.hangup(call, 'timeout');
    });
  }

  /** `fork_start` (§5.1): the dialog forks to one phone. */
  private forkEvent(call: CallRecord, fork: Fork): void {
    const { domain } = this.deps;
    this.callEvent('fork_start', call, {
      dialogid: call.dialogid,
      localuri: sipUri(call.fromnum, domain),
      localtag: (call.forking as Forking).localtag,
      remoteuri: sipUri(call.callednum, domain),
      forkrequesturi: sipUri(fork.phone, domain),
      forkremoteuri: sipUri(fork.phone, domain),
      forklocaltag: fork.localtag,
      forkcallid: fork.callid,
      forkcallednum: fork.phone,
      forkdir: call.dir,
    });
  }

  private inviteFields(call: CallRecord): Record<string, unknown> {
    const fields = { fromusername: call.fromusername, fromouter: !isInternal(call.fromnum), ...this.transferFlags(false, false) };
    if (!this.deps.strict) return fields;
    const { domain } = this.deps;
    // A fresh call was referred by nobody: the platform sends the field empty.
    return { ...fields, fromdomain: domain, urifrom: sipUri(call.fromnum, domain), urito: sipUri(call.tonum, domain), urireferedby: '' };
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
    ...(call.forking && { [call.forking.kind]: [...call.forking.phones], forks: call.forking.forks.map(forkView) }),
  };
}

/** The platform's view of an active call (`GET /rest/v1/uc/calls`). */
export function restView(call: CallRecord): Omit<SimCall, 'record' | 'isreferred' | 'recordingKey' | 'reason' | 'group' | 'queue' | 'forks'> {
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

function sipUri(num: string, domain: string): string {
  return `sip:${num}@${domain}`;
}
