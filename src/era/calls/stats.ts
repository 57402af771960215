/**
 * Live call-centre figures (nodes.md, "Live figures node"): the calls going on now, read from the
 * call table when asked, and the calls that ended within a window, from the table's finished calls
 * with their outcome as the call log names it.
 *
 * The window holds counts, not calls: a ring of time buckets, each with its totals and a tally per
 * number (operator), so its memory is bounded by the number of buckets and of numbers in them,
 * whatever the traffic. Its trailing edge moves a bucket at a time: the figures cover the calls
 * that ended in the last `window` minus at most one bucket (1/120 of the window, at least 1 s).
 */
import { invalid } from '../errors';
import type { CallState } from '../types';
import { shownValue } from '../util/text';
import { callRecord, type CallRecord } from './record';
import type { CallTable, CallTableObserver, FinishedCall } from './table';

const MAX_BUCKETS = 120;
const MIN_BUCKET_MS = 1000;
/** Number-in-a-bucket tallies kept at most; beyond it a finished call counts in the totals only. */
export const MAX_OPERATOR_TALLIES = 50_000;

export type OperatorState = 'ringing' | 'talking' | 'held' | 'free';

export interface LiveFigures {
  ringing: number;
  talking: number;
  held: number;
  total: number;
}

export interface WindowFigures {
  minutes: number;
  inbound: number;
  outbound: number;
  answered: number;
  missed: number;
  unanswered: number;
  failed: number;
  /** % of inbound calls answered within the service level (one decimal), null without inbound calls. */
  serviceLevel: number | null;
  /** Over every call of the window (start to answer, or to the end when unanswered). */
  averageRingSeconds: number;
  /** Over the answered calls of the window. */
  averageTalkSeconds: number;
}

export interface OperatorFigures {
  /** null while the client is not connected: what the table holds may no longer be true. */
  state: OperatorState | null;
  calls: number;
  talkSeconds: number;
}

export interface CallStatsSnapshot {
  at: number;
  /** The client's connection is up: the live figures are current. */
  connected: boolean;
  /** The client's connection state ('connected', 'connecting', 'disconnected', 'auth_failed', 'idle'). */
  connection: string;
  /** null while not connected. */
  live: LiveFigures | null;
  /** The longest-waiting unanswered call, 0 when none; null while not connected. */
  longestRingingSeconds: number | null;
  window: WindowFigures;
  operators: Record<string, OperatorFigures>;
}

interface Tally {
  calls: number;
  talkSeconds: number;
}

class Bucket {
  /** Which bucket of time (ms / bucketMs) this slot of the ring holds; -1 for none. */
  index = -1;
  inbound = 0;
  outbound = 0;
  answered = 0;
  missed = 0;
  unanswered = 0;
  failed = 0;
  inboundInTime = 0;
  calls = 0;
  ringSeconds = 0;
  talkSeconds = 0;
  readonly operators = new Map<string, Tally>();

  add(record: CallRecord, serviceLevelMs: number): void {
    this.calls++;
    this.ringSeconds += record.ringSeconds;
    this[record.outcome]++;
    if (record.outcome === 'answered') this.talkSeconds += record.talkSeconds;
    if (record.direction === 'out') {
      this.outbound++;
    } else if (record.direction !== 'local') {
      // A call the platform gave no direction counts as inbound, as its outcome (missed) does.
      this.inbound++;
      if (record.outcome === 'answered' && record.ringSeconds * 1000 <= serviceLevelMs) this.inboundInTime++;
    }
  }

  clear(): void {
    this.index = -1;
    this.inbound = this.outbound = this.answered = this.missed = this.unanswered = this.failed = 0;
    this.inboundInTime = this.calls = this.ringSeconds = this.talkSeconds = 0;
    this.operators.clear();
  }
}

/**
 * The numbers a finished call counts for: whoever answered an inbound call, whoever made an
 * outbound one; an internal call counts for both its caller and whoever answered it.
 */
function windowOperators(record: CallRecord): string[] {
  const answeredBy = record.outcome === 'answered' ? record.answeredBy ?? record.to : undefined;
  if (record.direction === 'out') return record.from === undefined ? [] : [record.from];
  if (record.direction !== 'local') return answeredBy === undefined ? [] : [answeredBy];
  const out = record.from === undefined ? [] : [record.from];
  if (answeredBy !== undefined && answeredBy !== record.from) out.push(answeredBy);
  return out;
}

/** The numbers a live call keeps busy: the called one of an inbound call, the caller of an outbound one, both of an internal one. */
function liveOperators(call: CallState): Array<string | undefined> {
  if (call.direction === 'out') return [call.from];
  if (call.direction === 'local') return [call.from, call.to];
  return [call.to];
}

/** A number on several calls shows the busiest: talking, then held, then ringing. */
const BUSY: Record<Exclude<OperatorState, 'free'>, number> = { ringing: 1, held: 2, talking: 3 };

function oneDecimal(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The finished calls of the last `windowMs`, as counts per bucket of time. Knows nothing of the table. */
const DAY_MS = 86_400_000;

/**
 * The window live figures count into, for a spec as a caller gives it (client.callStats): a
 * predecessor's (`resume`, a redeploy) when it was kept with the same window and service level,
 * else a new one. ERA_INVALID_INPUT for a window or service level out of range, before anything runs.
 */
export function statsWindowFor(spec: unknown): StatsWindow {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalid('callStats() needs { windowMs, serviceLevelMs }');
  const { windowMs, serviceLevelMs, resume } = spec as Record<string, unknown>;
  if (typeof windowMs !== 'number' || !(windowMs >= 1000 && windowMs <= DAY_MS)) throw invalid(`The window of the figures must be 1 s to a day, not ${shownValue(windowMs)} ms`);
  if (typeof serviceLevelMs !== 'number' || !(serviceLevelMs >= 0 && serviceLevelMs <= DAY_MS)) throw invalid(`The service level must be 0 s to a day, not ${shownValue(serviceLevelMs)} ms`);
  const carried = resume instanceof StatsWindow && resume.windowMs === windowMs && resume.serviceLevelMs === serviceLevelMs;
  return carried ? resume : new StatsWindow(windowMs, serviceLevelMs);
}

export class StatsWindow {
  readonly bucketMs: number;
  private readonly ring: Bucket[];
  /** Each number's tallies summed over the ring's buckets. */
  private readonly operatorTotals = new Map<string, Tally>();
  private tallies = 0;

  constructor(
    readonly windowMs: number,
    readonly serviceLevelMs: number,
  ) {
    this.bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(windowMs / MAX_BUCKETS));
    this.ring = Array.from({ length: Math.ceil(windowMs / this.bucketMs) }, () => new Bucket());
  }

  /** Number-in-a-bucket tallies held now (bounded by MAX_OPERATOR_TALLIES). */
  get tallyCount(): number {
    return this.tallies;
  }

  /**
   * Counts a finished call at `endedAt` (ignored when that is outside the window). Returns false
   * when a number of it was left out of the operators because the tallies are at their cap.
   */
  add(record: CallRecord, endedAt: number, now: number): boolean {
    const index = Math.floor(endedAt / this.bucketMs);
    if (!this.inWindow(index, now)) return true;
    const bucket = this.ring[index % this.ring.length]!;
    if (bucket.index !== index) {
      // A slot holding a later bucket than this one means the clock went back: keep the later one.
      if (bucket.index > index) return true;
      this.retire(bucket);
      bucket.index = index;
    }
    bucket.add(record, this.serviceLevelMs);
    let complete = true;
    for (const number of windowOperators(record)) {
      let tally = bucket.operators.get(number);
      if (tally === undefined) {
        if (this.tallies >= MAX_OPERATOR_TALLIES) {
          complete = false;
          continue;
        }
        tally = { calls: 0, talkSeconds: 0 };
        bucket.operators.set(number, tally);
        this.tallies++;
      }
      tally.calls++;
      tally.talkSeconds += record.talkSeconds;
      let total = this.operatorTotals.get(number);
      if (total === undefined) this.operatorTotals.set(number, (total = { calls: 0, talkSeconds: 0 }));
      total.calls++;
      total.talkSeconds += record.talkSeconds;
    }
    return complete;
  }

  /** The window's figures at `now`; buckets that fell out of it are emptied first. */
  figures(now: number): WindowFigures {
    this.expire(now);
    const sum = new Bucket();
    for (const b of this.ring) {
      if (b.index < 0) continue;
      sum.inbound += b.inbound;
      sum.outbound += b.outbound;
      sum.answered += b.answered;
      sum.missed += b.missed;
      sum.unanswered += b.unanswered;
      sum.failed += b.failed;
      sum.inboundInTime += b.inboundInTime;
      sum.calls += b.calls;
      sum.ringSeconds += b.ringSeconds;
      sum.talkSeconds += b.talkSeconds;
    }
    return {
      minutes: this.windowMs / 60_000,
      inbound: sum.inbound,
      outbound: sum.outbound,
      answered: sum.answered,
      missed: sum.missed,
      unanswered: sum.unanswered,
      failed: sum.failed,
      serviceLevel: sum.inbound === 0 ? null : oneDecimal((100 * sum.inboundInTime) / sum.inbound),
      averageRingSeconds: sum.calls === 0 ? 0 : oneDecimal(sum.ringSeconds / sum.calls),
      averageTalkSeconds: sum.answered === 0 ? 0 : oneDecimal(sum.talkSeconds / sum.answered),
    };
  }

  /** Each number's calls and talk time in the window (call figures() first: it expires what is old). */
  operators(): ReadonlyMap<string, Readonly<Tally>> {
    return this.operatorTotals;
  }

  private inWindow(index: number, now: number): boolean {
    return index > Math.floor(now / this.bucketMs) - this.ring.length;
  }

  private expire(now: number): void {
    for (const b of this.ring) if (b.index >= 0 && !this.inWindow(b.index, now)) this.retire(b);
  }

  private retire(bucket: Bucket): void {
    for (const [number, tally] of bucket.operators) {
      const total = this.operatorTotals.get(number)!;
      total.calls -= tally.calls;
      total.talkSeconds -= tally.talkSeconds;
      if (total.calls <= 0) this.operatorTotals.delete(number);
    }
    this.tallies -= bucket.operators.size;
    bucket.clear();
  }
}

/**
 * The operators as the message's object. A number is a key a platform sends: "__proto__" is no
 * phone's, and as a key it would become the object's prototype once Node-RED copies the message.
 */
function operatorsObject(operators: Map<string, OperatorFigures>): Record<string, OperatorFigures> {
  operators.delete('__proto__');
  return Object.fromEntries(operators);
}

/** A consumer of the call table: finished calls into its window, live calls read from the table on each snapshot. */
export class CallStats implements CallTableObserver {
  constructor(
    private readonly table: CallTable,
    readonly window: StatsWindow,
    /** Told when the operator tallies are at their cap (each time: the caller warns once); must not throw. */
    private readonly warn: (msg: string) => void,
  ) {}

  ended(finished: FinishedCall): void {
    const now = Date.now();
    // A live end is counted now; one made up after an outage, when it happened (never later than now).
    const endedAt = finished.replayed ? Math.min(now, finished.call.endedAt ?? now) : now;
    if (!this.window.add(callRecord(finished), endedAt, now)) {
      this.warn(`The live figures hold ${MAX_OPERATOR_TALLIES.toLocaleString('en')} tallies of operators in their window, as many as they may: calls of further numbers count in the totals but not in payload.operators`);
    }
  }

  // A recording's key or the dialog's last word changes no figure.
  recorded(): void {}

  stopped(): void {}

  /** `connection`: the client's state; only 'connected' vouches for the live figures. */
  snapshot(connection: string, now = Date.now()): CallStatsSnapshot {
    const connected = connection === 'connected';
    const window = this.window.figures(now);
    const operators = new Map<string, OperatorFigures>();
    let live: LiveFigures | null = null;
    let longestRingingMs: number | null = null;
    if (connected) {
      live = { ringing: 0, talking: 0, held: 0, total: 0 };
      longestRingingMs = 0;
      for (const call of this.table.active()) {
        const state = call.state as Exclude<OperatorState, 'free'>;
        live[state]++;
        live.total++;
        // The start is the platform's time: counted on its clock, not on this machine's.
        if (state === 'ringing' && call.startedAt !== undefined) longestRingingMs = Math.max(longestRingingMs, now - this.table.clockOffsetMs - call.startedAt);
        for (const number of liveOperators(call)) {
          if (number === undefined) continue;
          const known = operators.get(number);
          if (known === undefined) operators.set(number, { state, calls: 0, talkSeconds: 0 });
          else if (BUSY[state] > BUSY[known.state as Exclude<OperatorState, 'free'>]) known.state = state;
        }
      }
    }
    for (const [number, tally] of this.window.operators()) {
      const known = operators.get(number);
      if (known === undefined) operators.set(number, { state: connected ? 'free' : null, calls: tally.calls, talkSeconds: tally.talkSeconds });
      else {
        known.calls = tally.calls;
        known.talkSeconds = tally.talkSeconds;
      }
    }
    return {
      at: now,
      connected,
      connection,
      live,
      longestRingingSeconds: longestRingingMs === null ? null : Math.round(longestRingingMs / 1000),
      window,
      operators: operatorsObject(operators),
    };
  }
}
