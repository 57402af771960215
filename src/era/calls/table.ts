/**
 * The call-state table: what the client knows of each call from the events it received.
 * Fed once per distinct event; bounded (ended calls leave after a grace period, and a cap
 * evicts the oldest, ended ones first) so a busy installation cannot grow it without end.
 * No timer: expired entries are swept when the table is touched. What it learns that others
 * build on (a call finished, its recording's key came) goes to one observer: the call log and
 * the live figures consume those changes, not the raw events.
 */
import { EraError } from '../errors';
import { listedCall, type ListedCall } from '../protocol/call-list';
import { emptyCallEventFacts, readCallEvent, type CallEventKind } from '../protocol/call-events';
import { copyDialogs, endsCall, isOtherDialog, noteDialog, type DialogRole, type DialogTrack } from './dialogs';
import type { CallState, EraEvent } from '../types';

interface Entry extends DialogTrack {
  state: CallState;
  /** Local time the call ended (for the grace period), 0 while it goes on. */
  endedAt: number;
  /** A dlg_end / invite was made up by a gap fill: the live one, if it ever comes, is not news. */
  replayedEnd: boolean;
  replayedInvite: boolean;
  /** The number that answered first (a ring group's or a queue's phone), before any transfer. */
  answeredBy: string | undefined;
  /** When the current hold began (event time), and the hold time before it. */
  heldSince: number | undefined;
  heldMs: number;
  /** Ended by a failure before it became a dialog (ccsevents.connection_failure). */
  failed: boolean;
  /** A recording event said the call is recorded: its key will come after the end. */
  recording: boolean;
  /** The answer was heard only from a leg's state: a dialog's pickup or answer still names the phone. */
  answeredByLeg: boolean;
  /** The dialogs whose transfer was counted: their other referred events repeat it. */
  transferDialogs: string[] | undefined;
  /** Ended by dlg_stop, its dlg_end unheard: that dialog's dlg_end still to come is the same end (webhook deliveries can pass each other). */
  endedByStop: boolean;
}

/** What a client hands its successor of a live call (a full redeploy): the state and the rest of what the table knew. */
export type CallHandOver = CallState & { answeredBy?: string; heldMs?: number; recording?: boolean; dialogs?: DialogTrack };

/** Returned by apply() for a live event that only repeats what a replayed one already said. */
export const SUPPRESSED = Symbol('suppressed');

/**
 * What the last apply() did to its call, beyond its state: `ended` (the call ended with this
 * event), `continued` (a dialog event for a call the table holds as ended: the platform went on
 * after the end — a ring group or transfer sequenced otherwise than modelled), or `none`.
 */
export type CallChange = 'none' | 'ended' | 'continued';

/** A finished call as the table knew it at its end, for those who build on it. */
export interface FinishedCall {
  /** The table's live state (not a copy): read it in the callback, copy what is kept. */
  call: CallState;
  /** The end was made up after an outage (gap fill), not heard. */
  replayed: boolean;
  /** It ended by a failure before anyone answered (connection_failure). */
  failed: boolean;
  answeredBy: string | undefined;
  heldMs: number;
  /** A recording event said it was recorded: its key may still come. */
  recording: boolean;
  /** It ended with the dialog's last word (dlg_stop): nothing more will come for it. */
  last: boolean;
}

export interface CallTableObserver {
  /** A call ended (once per call). */
  ended(finished: FinishedCall): void;
  /** The recording's key of a call that had already ended came. */
  recorded(call: CallState): void;
  /** The dialog's last word (dlg_stop) came for an ended call: nothing more will (era-platform.md §5.3). */
  stopped(call: CallState): void;
}

export function snapshot(state: CallState): CallState {
  return { ...state, legs: state.legs.slice(), transfers: state.transfers.slice() };
}

/** A call's legs and transfers kept at most: a broken or hostile platform could name any number. */
const MAX_LIST = 64;

function addLeg(state: CallState, leg: string | undefined): void {
  // A new list of the exact length: push() would leave room for 16, which an ended call keeps for a minute.
  if (leg !== undefined && state.legs.length < MAX_LIST && !state.legs.includes(leg)) state.legs = state.legs.concat(leg);
}

/** A call as the platform lists it (`GET /rest/v1/uc/calls/<id>`), in the shape of the table's state. */
export function callFromPlatform(body: unknown): CallState {
  const listed = listedCall(body);
  if (listed === undefined) throw new EraError('ERA_HTTP', 'The platform\'s answer does not describe a call');
  return stateFromListed(listed);
}

function stateFromListed(listed: ListedCall): CallState {
  const state: CallState = {
    connectionId: listed.connectionId,
    state: listed.state ?? 'ringing',
    legs: [],
    held: listed.state === 'held',
    transfers: [],
  };
  if (listed.callId !== undefined) state.callId = listed.callId;
  if (listed.direction !== undefined) state.direction = listed.direction;
  if (listed.from !== undefined) state.from = listed.from;
  if (listed.to !== undefined) state.to = listed.to;
  if (listed.startedAt !== undefined) state.startedAt = listed.startedAt;
  return state;
}

/** Whether an event of this kind, for a call the table does not know, is worth an entry: it is going on. */
function startsEntry(kind: CallEventKind, legState: string | undefined): boolean {
  switch (kind) {
    case 'other':
    case 'end':
    case 'stop':
    case 'failure':
    case 'record':
      return false;
    case 'leg':
      return legState !== 'end';
    default:
      return true;
  }
}

/** Event kinds that open or advance a dialog: after the call's end they mean the platform went on. */
const DIALOG_KINDS = new Set(['progress', 'pickup', 'answer', 'end']);

/** dlg_stop is "the same end, sent 3 seconds later" (era-platform.md §5.1). */
const STOP_DELAY_MS = 3_000;
/** Calls remembered as gone after the table dropped them, so that a late event does not start them again. */
const GONE_KEPT = 10_000;

export class CallTable {
  private readonly entries = new Map<string, Entry>();
  /**
   * Ended calls in the order they ended, read from `endedHead`: they leave the table only from
   * the front (the grace period over, or the cap reached), so a queue does what a map ordered by
   * end did without a hash operation or an iterator per call.
   */
  private ended: Array<Entry | undefined> = [];
  private endedHead = 0;
  /** Calls that ended and left the table, the latest GONE_KEPT of them. */
  private readonly gone = new Set<string>();
  private readonly facts = emptyCallEventFacts();
  /** What the last apply() did (see CallChange). */
  change: CallChange = 'none';
  /**
   * How far the local clock is ahead of the platform's (ms), from when events arrive against
   * their `eventts`, smoothed: durations counted up to now from a platform's time ("ringing for
   * 20 s") use it, so that two clocks that disagree do not show up as a call ringing for minutes.
   */
  clockOffsetMs = 0;
  private clockSamples = 0;
  /** Told of finished calls and late recording keys; one per table (the client's call feed). */
  observer: CallTableObserver | undefined;

  constructor(
    private readonly cap: number,
    private readonly graceMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** A copy of the call's state, or undefined when the table does not know it. */
  get(connectionId: string): CallState | undefined {
    this.sweep(Date.now());
    const entry = this.entries.get(connectionId);
    return entry === undefined ? undefined : snapshot(entry.state);
  }

  /** Copies of every known call, oldest first. */
  list(): CallState[] {
    this.sweep(Date.now());
    const out: CallState[] = [];
    for (const entry of this.entries.values()) out.push(snapshot(entry.state));
    return out;
  }

  /** The live state of a call (not a copy), for the client's own use. */
  peek(connectionId: string): CallState | undefined {
    return this.entries.get(connectionId)?.state;
  }

  /** Live (not ended) calls, for comparing with the platform's list after an outage. */
  *active(): IterableIterator<CallState> {
    for (const entry of this.entries.values()) if (entry.state.state !== 'ended') yield entry.state;
  }

  /**
   * Applies an event. Returns the call's live state, undefined when the event is not about
   * a call, or SUPPRESSED for a live event a replay already reported.
   */
  apply(ev: EraEvent): CallState | undefined | typeof SUPPRESSED {
    this.change = 'none';
    const f = readCallEvent(ev, this.facts);
    const id = f.connectionId;
    if (id === undefined) return undefined;
    let entry = this.entries.get(id);
    if (entry === undefined) {
      // A call that ended and left the table, heard of again: the platform went on after its end.
      if (this.gone.has(id)) {
        if (ev.class === 'callevents' && DIALOG_KINDS.has(f.kind)) this.change = 'continued';
        return undefined;
      }
      // The tail of a call the table never heard of (after a restart, an end heard without its
      // start) says too little to tell its story: it would come out as a bogus call, or ring forever.
      if (!startsEntry(f.kind, f.legState)) return undefined;
      entry = this.insert(id);
    }
    const replayed = ev.replayed === true;
    if (!replayed) {
      if (f.kind === 'end' && entry.replayedEnd) return SUPPRESSED;
      if (f.kind === 'invite' && entry.replayedInvite) return SUPPRESSED;
    }
    const s = entry.state;
    // Which of the call's dialogs this event is of (calls/dialogs.ts); an event naming none is the call's.
    let role: DialogRole = 'current';
    if (ev.class === 'callevents' && f.dialogId !== undefined) {
      if (s.state === 'ended') {
        if (isOtherDialog(entry, f.dialogId)) role = 'other';
      } else if (f.kind === 'invite' || f.kind === 'progress' || f.kind === 'pickup' || f.kind === 'answer') {
        role = noteDialog(entry, f.dialogId, f.at, f.transfer !== undefined);
      }
    }
    if (s.state === 'ended' && ev.class === 'callevents' && DIALOG_KINDS.has(f.kind) && role === 'current') {
      // A dlg_end after the dlg_stop that ended the call is that same end, come late.
      if (f.kind === 'end' && entry.endedByStop && (f.dialogId === undefined || entry.dialog === undefined || f.dialogId === entry.dialog)) entry.endedByStop = false;
      else this.change = 'continued';
    }
    if (s.callId === undefined && f.callId !== undefined) s.callId = f.callId;
    if (s.direction === undefined && f.direction !== undefined) s.direction = f.direction;
    if (s.from === undefined && f.from !== undefined) s.from = f.from;
    if (s.to === undefined && f.to !== undefined) s.to = f.to;
    const now = Date.now();
    if (s.startedAt === undefined) s.startedAt = f.startedAt ?? f.at ?? now;
    addLeg(s, f.legA);
    addLeg(s, f.legB);
    addLeg(s, f.leg);
    const at = f.at ?? now;
    if (f.at !== undefined && !replayed) this.clockSample(now - f.at);
    switch (f.kind) {
      case 'invite':
        if (replayed) entry.replayedInvite = true;
        break;
      case 'progress': {
        // A referred dialog's init and call both name the transfer: it is counted once per dialog.
        if (f.transfer === undefined || role === 'other') break;
        if (f.dialogId !== undefined) {
          if (entry.transferDialogs?.includes(f.dialogId)) break;
          if ((entry.transferDialogs ??= []).length < MAX_LIST) entry.transferDialogs.push(f.dialogId);
        }
        const full = s.transfers.length >= MAX_LIST;
        if (role === 'current') {
          s.to = f.transfer;
          if (!full) s.transfers.push(f.transfer);
        } else if (!full) {
          // A transfer heard after the one that came since (its dialog replaced already): it goes before that one.
          s.transfers.splice(Math.max(0, s.transfers.length - 1), 0, f.transfer);
        }
        break;
      }
      case 'pickup':
      case 'answer':
        if (s.state === 'ended') break;
        if (role !== 'current') {
          // A replaced dialog's or a sibling's answer, come late: the call was answered then, by
          // its phone (an IVR that transferred at once); who the call is with now stays.
          if (f.kind === 'answer' && (s.answeredAt === undefined || at < s.answeredAt)) {
            s.answeredAt = at;
            entry.answeredBy = f.to ?? entry.answeredBy;
            if (s.state === 'ringing') s.state = s.held ? 'held' : 'talking';
          }
          break;
        }
        // The phone that picked up or answered, not the group or queue number dialled
        // (era-platform.md §5.4) — also when a leg's state told of the answer first.
        if (f.to !== undefined && (s.answeredAt === undefined || entry.answeredByLeg)) {
          s.to = f.to;
          if (entry.answeredByLeg) entry.answeredBy = f.to;
        }
        if (f.kind === 'pickup') break;
        entry.answeredByLeg = false;
        this.answered(entry, at);
        s.state = s.held ? 'held' : 'talking';
        break;
      case 'leg':
        if (s.state === 'ended') break;
        if (f.legState === 'hold') {
          if (!s.held) entry.heldSince = at;
          s.held = true;
          s.state = 'held';
        } else if (f.legState === 'talk') {
          this.resumed(entry, at);
          s.state = 'talking';
          if (s.answeredAt === undefined) entry.answeredByLeg = true;
          this.answered(entry, at);
        }
        break;
      case 'recording':
        if (f.recording) entry.recording = true;
        break;
      case 'record':
        if (f.recordingKey === undefined) break;
        s.recordingKey = f.recordingKey;
        if (s.state === 'ended') this.observer?.recorded(s);
        break;
      case 'end':
      case 'stop':
      case 'failure':
        // A dialog a transfer replaced, or a fork that did not answer, ending is not the call's
        // end, nor is its dlg_stop, 3 s later — also after the call's own end (calls/dialogs.ts).
        if (f.kind !== 'failure' && (role === 'other' || (s.state !== 'ended' && !endsCall(entry, f.dialogId, f.at)))) break;
        // A dlg_stop heard without its dlg_end: the same end, 3 s earlier, with the same reason.
        if (s.endReason === undefined && f.reason !== undefined && (f.kind !== 'stop' || s.state !== 'ended')) s.endReason = f.reason;
        if (s.state !== 'ended') this.end(entry, f.kind === 'stop' ? Math.max(s.answeredAt ?? s.startedAt ?? 0, at - STOP_DELAY_MS) : at, replayed, f.kind === 'failure', f.kind === 'stop');
        else if (f.kind === 'stop') this.observer?.stopped(s);
        if (replayed && f.kind === 'end') entry.replayedEnd = true;
        break;
      case 'other':
        break;
    }
    return s;
  }

  /** The live calls with what the table knows of them beyond their state, for a successor (a full redeploy). */
  handOver(): CallHandOver[] {
    this.sweep(Date.now());
    const out: CallHandOver[] = [];
    for (const entry of this.entries.values()) {
      if (entry.state.state === 'ended') continue;
      const heldMs = entry.heldMs + (entry.heldSince === undefined ? 0 : Math.max(0, Date.now() - entry.heldSince));
      const dialogs = entry.dialog === undefined ? undefined : copyDialogs(entry);
      out.push({ ...snapshot(entry.state), answeredBy: entry.answeredBy, heldMs, recording: entry.recording, dialogs });
    }
    return out;
  }

  /** Takes over a call another client knew (a predecessor across a redeploy); a known call stays as it is. */
  restore(call: CallHandOver): void {
    if (this.entries.has(call.connectionId) || call.state === 'ended') return;
    const { answeredBy, heldMs, recording, dialogs, ...state } = call;
    const entry = this.insert(state.connectionId);
    entry.state = snapshot(state);
    if (dialogs !== undefined) Object.assign(entry, copyDialogs(dialogs));
    entry.answeredBy = answeredBy ?? (state.answeredAt !== undefined ? state.to : undefined);
    entry.heldMs = typeof heldMs === 'number' && heldMs > 0 ? heldMs : 0;
    entry.recording = recording === true;
    if (state.held) entry.heldSince = Date.now();
  }

  /**
   * Takes over a call another client knew as ended whose record still waits for its recording's
   * key (a full redeploy): the key, when it comes, then finds it. Tells no observer of its end.
   */
  restoreEnded(state: CallState): void {
    if (this.entries.has(state.connectionId) || state.state !== 'ended') return;
    const entry = this.insert(state.connectionId);
    entry.state = snapshot(state);
    this.markEnded(entry, Date.now());
  }

  /** Forgets everything: without a socket the table cannot be kept true. */
  clear(): void {
    this.entries.clear();
    this.ended = [];
    this.endedHead = 0;
    this.gone.clear();
  }

  /**
   * A call the platform lists, going on when the client first connected (nobody listened
   * before): it enters the table as listed, telling no one; a call the table knows is aligned.
   */
  seed(listed: ListedCall): void {
    if (this.gone.has(listed.connectionId) || listed.state === 'ended') return;
    if (this.entries.has(listed.connectionId)) {
      this.align(listed);
      return;
    }
    const entry = this.insert(listed.connectionId);
    entry.state = stateFromListed(listed);
    entry.state.state = 'ringing';
    entry.state.held = false;
    this.align(listed);
  }

  /** Brings a known call's phase in line with the platform's list, without inventing events. */
  align(listed: ListedCall): void {
    const entry = this.entries.get(listed.connectionId);
    const s = entry?.state;
    if (entry === undefined || s === undefined || s.state === 'ended' || listed.state === undefined || listed.state === 'ended') return;
    const now = Date.now();
    if (listed.state === 'held' && !s.held) entry.heldSince = now;
    if (listed.state !== 'held' && s.held) this.resumed(entry, now);
    // Answered while unheard (an outage): the answer's time is unknown, not its having happened,
    // nor who answered — the listed B party (a ring group's or queue's phone, not its number).
    if (listed.state !== 'ringing' && s.answeredAt === undefined && listed.to !== undefined) s.to = listed.to;
    if (listed.state !== 'ringing') this.answered(entry, now);
    s.state = listed.state;
    s.held = listed.state === 'held';
  }

  private clockSample(offset: number): void {
    // The first samples count fully; later ones move the estimate a tenth of the way.
    this.clockSamples = Math.min(this.clockSamples + 1, 10);
    this.clockOffsetMs += (offset - this.clockOffsetMs) / this.clockSamples;
  }

  private answered(entry: Entry, at: number): void {
    const s = entry.state;
    if (s.answeredAt !== undefined) return;
    s.answeredAt = at;
    entry.answeredBy = s.to;
  }

  private resumed(entry: Entry, at: number): void {
    if (entry.heldSince !== undefined) entry.heldMs += Math.max(0, at - entry.heldSince);
    entry.heldSince = undefined;
    entry.state.held = false;
  }

  private end(entry: Entry, at: number, replayed: boolean, failed: boolean, last: boolean): void {
    const s = entry.state;
    this.resumed(entry, at);
    s.state = 'ended';
    s.endedAt = at;
    entry.failed = failed;
    entry.endedByStop = last;
    // Only a call going on compares dialogs, and one ended by dlg_stop, with the dlg_end still to come.
    if (!last) entry.dialog = undefined;
    this.change = 'ended';
    const now = Date.now();
    this.markEnded(entry, now);
    this.sweep(now);
    this.observer?.ended({ call: s, replayed, failed, answeredBy: entry.answeredBy, heldMs: entry.heldMs, recording: entry.recording, last });
  }

  private insert(id: string): Entry {
    const entry: Entry = {
      state: { connectionId: id, state: 'ringing', legs: [], held: false, transfers: [] },
      endedAt: 0,
      replayedEnd: false,
      replayedInvite: false,
      answeredBy: undefined,
      heldSince: undefined,
      heldMs: 0,
      failed: false,
      recording: false,
      dialog: undefined,
      dialogAt: undefined,
      dialogByTransfer: false,
      olderDialogs: undefined,
      otherDialogs: undefined,
      answeredByLeg: false,
      transferDialogs: undefined,
      endedByStop: false,
    };
    this.entries.set(id, entry);
    if (this.entries.size > this.cap) this.evictOne();
    return entry;
  }

  private evictOne(): void {
    if (this.endedHead < this.ended.length) {
      this.forgetOldestEnded();
      return;
    }
    const victim = this.entries.keys().next().value;
    if (victim !== undefined) this.entries.delete(victim);
  }

  private markEnded(entry: Entry, now: number): void {
    entry.endedAt = now;
    this.ended.push(entry);
  }

  private sweep(now: number): void {
    while (this.endedHead < this.ended.length && now - this.ended[this.endedHead]!.endedAt >= this.graceMs) this.forgetOldestEnded();
  }

  /** The call that ended first leaves the table; its id is remembered a while longer, so that it does not start again. */
  private forgetOldestEnded(): void {
    const entry = this.ended[this.endedHead]!;
    this.ended[this.endedHead++] = undefined;
    // The queue's front is dropped once it is half the queue: each entry is moved at most once more.
    if (this.endedHead >= 1024 && this.endedHead * 2 >= this.ended.length) {
      this.ended = this.ended.slice(this.endedHead);
      this.endedHead = 0;
    }
    const id = entry.state.connectionId;
    this.entries.delete(id);
    this.gone.add(id);
    if (this.gone.size > GONE_KEPT) this.gone.delete(this.gone.values().next().value as string);
  }
}
