/**
 * The call-state table: what the client knows of each call from the events it received.
 * Fed once per distinct event; bounded (ended calls leave after a grace period, and a cap
 * evicts the oldest, ended ones first) so a busy installation cannot grow it without end.
 * No timer: expired entries are swept when the table is touched.
 */
import { EraError } from '../errors';
import { emptyCallEventFacts, readCallEvent } from '../protocol/call-events';
import { listedCall, type ListedCall } from '../protocol/call-list';
import type { CallState, EraEvent } from '../types';

interface Entry {
  state: CallState;
  /** A dlg_end / invite was made up by a gap fill: the live one, if it ever comes, is not news. */
  replayedEnd: boolean;
  replayedInvite: boolean;
}

/** Returned by apply() for a live event that only repeats what a replayed one already said. */
export const SUPPRESSED = Symbol('suppressed');

export function snapshot(state: CallState): CallState {
  return { ...state, legs: state.legs.slice(), transfers: state.transfers.slice() };
}

function addLeg(state: CallState, leg: string | undefined): void {
  if (leg !== undefined && !state.legs.includes(leg)) state.legs.push(leg);
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

export class CallTable {
  private readonly entries = new Map<string, Entry>();
  /** Ended calls in the order they ended, with the local time they did. */
  private readonly ended = new Map<string, number>();
  private readonly facts = emptyCallEventFacts();

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
    const f = readCallEvent(ev, this.facts);
    const id = f.connectionId;
    if (id === undefined) return undefined;
    let entry = this.entries.get(id);
    if (entry === undefined) {
      if (f.kind === 'other') return undefined;
      entry = this.insert(id);
    }
    const replayed = ev.replayed === true;
    if (!replayed) {
      if (f.kind === 'end' && entry.replayedEnd) return SUPPRESSED;
      if (f.kind === 'invite' && entry.replayedInvite) return SUPPRESSED;
    }
    const s = entry.state;
    if (s.callId === undefined && f.callId !== undefined) s.callId = f.callId;
    if (s.direction === undefined && f.direction !== undefined) s.direction = f.direction;
    if (s.from === undefined && f.from !== undefined) s.from = f.from;
    if (s.to === undefined && f.to !== undefined) s.to = f.to;
    if (s.startedAt === undefined) s.startedAt = f.startedAt ?? f.at ?? Date.now();
    addLeg(s, f.legA);
    addLeg(s, f.legB);
    addLeg(s, f.leg);
    const at = f.at ?? Date.now();
    switch (f.kind) {
      case 'invite':
        if (replayed) entry.replayedInvite = true;
        break;
      case 'progress':
        if (f.transfer !== undefined) {
          s.to = f.transfer;
          s.transfers.push(f.transfer);
        }
        break;
      case 'pickup':
        // Someone else took the ringing call: the party on the B side is now the one who picked up.
        if (s.state === 'ringing' && f.to !== undefined) s.to = f.to;
        break;
      case 'answer':
        if (s.state !== 'ended') {
          s.state = s.held ? 'held' : 'talking';
          s.answeredAt ??= at;
        }
        break;
      case 'leg':
        if (s.state === 'ended') break;
        if (f.legState === 'hold') {
          s.held = true;
          s.state = 'held';
        } else if (f.legState === 'talk') {
          s.held = false;
          s.state = 'talking';
          s.answeredAt ??= at;
        }
        break;
      case 'record':
        if (f.recordingKey !== undefined) s.recordingKey = f.recordingKey;
        break;
      case 'end':
      case 'stop':
      case 'failure':
        if (s.endReason === undefined && f.reason !== undefined && f.kind !== 'stop') s.endReason = f.reason;
        if (s.state !== 'ended') this.end(id, s, at);
        if (replayed && f.kind === 'end') entry.replayedEnd = true;
        break;
      case 'other':
        break;
    }
    return s;
  }

  /** Takes over a call another client knew (a predecessor across a redeploy); a known call stays as it is. */
  restore(state: CallState): void {
    if (this.entries.has(state.connectionId) || state.state === 'ended') return;
    this.insert(state.connectionId).state = snapshot(state);
  }

  /** Forgets everything: without a socket the table cannot be kept true. */
  clear(): void {
    this.entries.clear();
    this.ended.clear();
  }

  /** Records the call an attended transfer replaced (events name only the new party). */
  noteTransfer(connectionId: string, target: string): void {
    this.entries.get(connectionId)?.state.transfers.push(target);
  }

  /** Brings a known call's phase in line with the platform's list, without inventing events. */
  align(listed: ListedCall): void {
    const s = this.entries.get(listed.connectionId)?.state;
    if (s === undefined || s.state === 'ended' || listed.state === undefined || listed.state === 'ended') return;
    s.state = listed.state;
    s.held = listed.state === 'held';
  }

  private end(id: string, s: CallState, at: number): void {
    s.state = 'ended';
    s.held = false;
    s.endedAt = at;
    this.ended.set(id, Date.now());
    this.sweep(Date.now());
  }

  private insert(id: string): Entry {
    const entry: Entry = {
      state: { connectionId: id, state: 'ringing', legs: [], held: false, transfers: [] },
      replayedEnd: false,
      replayedInvite: false,
    };
    this.entries.set(id, entry);
    if (this.entries.size > this.cap) this.evictOne();
    return entry;
  }

  private evictOne(): void {
    const oldestEnded = this.ended.keys().next();
    const victim = oldestEnded.done ? this.entries.keys().next().value : oldestEnded.value;
    if (victim === undefined) return;
    this.entries.delete(victim);
    this.ended.delete(victim);
  }

  private sweep(now: number): void {
    for (const [id, endedAt] of this.ended) {
      if (now - endedAt < this.graceMs) return;
      this.ended.delete(id);
      this.entries.delete(id);
    }
  }
}
