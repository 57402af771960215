/**
 * The call logs of one client, each named by its owner (an era-call-log node's id). A redeploy
 * closes a node and starts its successor a moment later; a named log that closes keeps running
 * for the linger — its records still wait for their keys, records of calls that end meanwhile
 * are kept — and a successor with the same name takes it over, receiving what was kept first.
 * In a cluster of replicas each record goes out of one replica (`once`, claimed by log and call).
 */
import { CallLog, type CallLogOptions, type LoggedCall } from './call-log';
import type { CallFeed } from './feed';
import { messageOf } from '../util/text';

export interface CallLogsDeps {
  feed: CallFeed;
  /** Runs `emit` unless another replica claimed `keys` first (at once without a cluster). */
  once(keys: readonly string[], emit: () => void): void;
  lingerMs: number;
  warnOnce(msg: string): void;
}

/** A log's records kept for its successor at most. */
const KEPT_MAX = 10_000;

interface Named {
  readonly name: string;
  readonly log: CallLog;
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
      existing.log.configure(options);
      existing.callback = callback;
      const kept = existing.kept;
      existing.kept = [];
      // The successor's wires exist once the redeploy started every node: deliver on the next turn.
      if (kept.length > 0) setImmediate(() => this.deliverKept(existing, kept));
      return this.handle(existing, name !== undefined);
    }
    if (existing !== undefined) this.drop(existing);
    // The log emits through the entry that owns it, which needs the log first.
    let entry: Named;
    const log = new CallLog(options, (logged) => this.deps.once([`calllog:${key}:${logged.record.connectionId}`], () => this.deliver(entry, logged)));
    entry = { name: key, log, callback, kept: [], lingerTimer: undefined };
    this.named.set(key, entry);
    this.deps.feed.add(entry.log);
    return this.handle(entry, name !== undefined);
  }

  /** Every log stops; records still waiting are dropped. */
  close(): void {
    for (const entry of [...this.named.values()]) this.drop(entry);
  }

  private handle(entry: Named, lingers: boolean): { close(): void } {
    let open = true;
    return {
      close: () => {
        if (!open || entry.callback === undefined || this.named.get(entry.name) !== entry) return;
        open = false;
        entry.callback = undefined;
        if (!lingers || this.deps.lingerMs <= 0) {
          this.drop(entry);
          return;
        }
        entry.lingerTimer = setTimeout(() => this.drop(entry), this.deps.lingerMs);
        entry.lingerTimer.unref();
      },
    };
  }

  private drop(entry: Named): void {
    clearTimeout(entry.lingerTimer);
    entry.lingerTimer = undefined;
    entry.callback = undefined;
    entry.kept = [];
    this.deps.feed.remove(entry.log);
    entry.log.drain();
    if (this.named.get(entry.name) === entry) this.named.delete(entry.name);
  }

  private deliver(entry: Named, logged: LoggedCall): void {
    if (this.named.get(entry.name) !== entry) return;
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
