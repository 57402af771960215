/**
 * The call logs of one client, each named by its owner (an era-call-log node's id). A redeploy
 * closes a node and starts its successor a moment later; a named log that closes keeps running
 * for the linger — its records still wait for their keys, records of calls that end meanwhile
 * are kept — and a successor with the same name takes it over, receiving what was kept first.
 * A full redeploy replaces the client too: what the named logs hold is taken from the old one and
 * given to the new one, as the live calls are. In a cluster of replicas each record goes out of
 * one replica (`once`, claimed by log and call).
 */
import { CallLog, type CallLogOptions, type LoggedCall, type WaitingRecord } from './call-log';
import type { CallFeed } from './feed';
import { invalid } from '../errors';
import { messageOf, shownValue } from '../util/text';
import { MAX_TIMER_MS } from '../util/timers';

export interface CallLogsDeps {
  feed: CallFeed;
  /** Runs `emit` unless another replica claimed `keys` first (at once without a cluster). */
  once(keys: readonly string[], emit: () => void): void;
  lingerMs: number;
  warnOnce(msg: string): void;
}

/** What one named log holds when its client goes: records waiting for keys, records waiting for a node. */
export interface CallLogHandOver {
  name: string;
  options: CallLogOptions;
  waiting: WaitingRecord[];
  kept: LoggedCall[];
}

/** A log's records kept for its successor at most. */
const KEPT_MAX = 10_000;
const DEFAULT_WAIT_RECORDING_MS = 10_000;
/** Records of one call log waiting for recording keys at most; beyond, the oldest goes out without its key. */
const PENDING_MAX = 10_000;

/** A call log's spec as a caller gives it (client.callLog), checked: ERA_INVALID_INPUT before anything runs. */
export function checkedCallLog(spec: unknown): { name: string | undefined; options: CallLogOptions } {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalid('callLog() needs { direction?, waitRecordingMs?, key? }');
  const { direction = 'all', waitRecordingMs = DEFAULT_WAIT_RECORDING_MS, key } = spec as Record<string, unknown>;
  if (direction !== 'all' && direction !== 'in' && direction !== 'out') throw invalid(`Unknown call log direction ${shownValue(direction)}: use all, in or out`);
  if (typeof waitRecordingMs !== 'number' || !Number.isFinite(waitRecordingMs) || waitRecordingMs < 0) {
    throw invalid(`The wait for a recording must be 0 or more milliseconds, not ${shownValue(waitRecordingMs)}`);
  }
  return {
    name: typeof key === 'string' && key !== '' ? key : undefined,
    options: { direction, waitRecordingMs: Math.min(waitRecordingMs, MAX_TIMER_MS), maxPending: PENDING_MAX },
  };
}

interface Named {
  readonly name: string;
  readonly log: CallLog;
  options: CallLogOptions;
  callback: ((logged: LoggedCall) => void) | undefined;
  /** Records that came while nobody owned the log (a redeploy in progress). */
  kept: LoggedCall[];
  lingerTimer: NodeJS.Timeout | undefined;
}

export class CallLogs {
  private readonly named = new Map<string, Named>();
  private anonymous = 0;

  constructor(private readonly deps: CallLogsDeps) {}

  /** `name`: the owner's id, the same on every replica; without one the log is private to this call. */
  add(name: string | undefined, options: CallLogOptions, callback: (logged: LoggedCall) => void): { close(): void } {
    const key = name ?? `anonymous-${++this.anonymous}`;
    const existing = this.named.get(key);
    if (existing !== undefined && existing.callback === undefined) {
      clearTimeout(existing.lingerTimer);
      existing.lingerTimer = undefined;
      existing.options = options;
      existing.log.configure(options);
      existing.callback = callback;
      const kept = existing.kept;
      existing.kept = [];
      // The successor's wires exist once the redeploy started every node: deliver on the next turn.
      if (kept.length > 0) setImmediate(() => this.deliverKept(existing, kept));
      return this.handle(existing, name !== undefined);
    }
    if (existing !== undefined) this.drop(existing);
    const entry = this.create(key, options, callback);
    return this.handle(entry, name !== undefined);
  }

  /** What the named logs hold, taken out (the client goes; a successor client may take it over). */
  take(): CallLogHandOver[] {
    const out: CallLogHandOver[] = [];
    for (const entry of this.named.values()) {
      if (entry.name.startsWith('anonymous-')) continue;
      const waiting = entry.log.take();
      if (waiting.length > 0 || entry.kept.length > 0) out.push({ name: entry.name, options: entry.options, waiting, kept: entry.kept });
      entry.kept = [];
    }
    return out;
  }

  /**
   * What another client's logs held: each waits, unowned, for the linger, for a log of the same
   * name to take it over — its records keep waiting for their keys meanwhile.
   */
  restore(handOvers: readonly CallLogHandOver[]): void {
    for (const h of handOvers) {
      if (this.named.has(h.name)) continue;
      const entry = this.create(h.name, h.options, undefined);
      entry.kept = h.kept.slice(0, KEPT_MAX);
      entry.log.restore(h.waiting);
      this.linger(entry);
    }
  }

  /** Every log stops; records still waiting are dropped. */
  close(): void {
    for (const entry of [...this.named.values()]) this.drop(entry);
  }

  private create(name: string, options: CallLogOptions, callback: ((logged: LoggedCall) => void) | undefined): Named {
    // The log emits through the entry that owns it, which needs the log first.
    let entry: Named;
    const log = new CallLog(options, (logged) => this.deps.once([`calllog:${name}:${logged.record.connectionId}`], () => this.deliver(entry, logged)));
    entry = { name, log, options, callback, kept: [], lingerTimer: undefined };
    this.named.set(name, entry);
    this.deps.feed.add(log);
    return entry;
  }

  private handle(entry: Named, lingers: boolean): { close(): void } {
    let open = true;
    return {
      close: () => {
        if (!open || entry.callback === undefined || this.named.get(entry.name) !== entry) return;
        open = false;
        entry.callback = undefined;
        if (lingers && this.deps.lingerMs > 0) this.linger(entry);
        else this.drop(entry);
      },
    };
  }

  private linger(entry: Named): void {
    entry.lingerTimer = setTimeout(() => this.drop(entry), this.deps.lingerMs);
    entry.lingerTimer.unref();
  }

  private drop(entry: Named): void {
    clearTimeout(entry.lingerTimer);
    entry.lingerTimer = undefined;
    entry.callback = undefined;
    entry.kept = [];
    this.deps.feed.remove(entry.log);
    entry.log.take();
    if (this.named.get(entry.name) === entry) this.named.delete(entry.name);
  }

  private deliver(entry: Named, logged: LoggedCall): void {
    if (this.named.get(entry.name) !== entry) return;
    // A successor may ask for another direction than the records that waited for it.
    const { direction } = entry.options;
    if (direction !== 'all' && logged.record.direction !== direction) return;
    const callback = entry.callback;
    if (callback === undefined) {
      if (entry.kept.length < KEPT_MAX) entry.kept.push(logged);
      else this.deps.warnOnce(`More than ${KEPT_MAX} calls ended while a call log node was being redeployed; later records were not kept for it`);
      return;
    }
    try {
      callback(logged);
    } catch (err) {
      this.deps.warnOnce(`A call log listener failed: ${messageOf(err)}`);
    }
  }

  private deliverKept(entry: Named, kept: LoggedCall[]): void {
    for (const logged of kept) this.deliver(entry, logged);
  }
}
