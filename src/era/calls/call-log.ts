/**
 * One call log (an era-call-log node): a record per finished call, once, after its end — and
 * after its recording's key, which comes a moment later (era-platform.md §5.3: dlg_end →
 * connection_set_record_info → dlg_stop). A record waits for the key at most `waitRecordingMs`;
 * a call no recording event announced waits only for its dlg_stop. Waits are bounded: beyond
 * `maxPending` the oldest record goes out without its key.
 */
import type { CallState } from '../types';
import { callRecord, type CallRecord } from './record';
import { snapshot, type CallTableObserver, type FinishedCall } from './table';

export type CallLogDirection = 'all' | 'in' | 'out';

export interface CallLogOptions {
  direction: CallLogDirection;
  /** 0: emit at the end, without waiting for the key. */
  waitRecordingMs: number;
  maxPending: number;
}

/** A finished call's record, its final state, and whether its end was made up after an outage. */
export interface LoggedCall {
  record: CallRecord;
  call: CallState;
  replayed: boolean;
}

interface Pending {
  logged: LoggedCall;
  /** A recording event announced the call: its key is worth the whole wait. */
  recording: boolean;
  deadline: number;
  done: boolean;
}

export class CallLog implements CallTableObserver {
  private readonly pending = new Map<string, Pending>();
  /** Waits in the order they began; with one wait length, also in the order they end. */
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private options: CallLogOptions,
    /** Receives each record once; must not throw. */
    private readonly emit: (logged: LoggedCall) => void,
  ) {}

  /** New options apply to calls that end from now on. */
  configure(options: CallLogOptions): void {
    this.options = options;
  }

  get waiting(): number {
    return this.pending.size;
  }

  ended(finished: FinishedCall): void {
    const direction = this.options.direction;
    const c = finished.call;
    if (direction !== 'all' && c.direction !== direction) return;
    const logged: LoggedCall = { record: callRecord(finished), call: snapshot(c), replayed: finished.replayed };
    const { waitRecordingMs } = this.options;
    // Nothing to wait for: the key is here, waiting is off, or no key can come any more.
    if (c.recordingKey !== undefined || waitRecordingMs <= 0 || (!finished.recording && (finished.last || finished.replayed))) {
      this.emit(logged);
      return;
    }
    const entry: Pending = { logged, recording: finished.recording, deadline: Date.now() + waitRecordingMs, done: false };
    const earlier = this.pending.get(c.connectionId);
    if (earlier !== undefined) this.settle(earlier);
    this.pending.set(c.connectionId, entry);
    this.queue.push(entry);
    if (this.pending.size > this.options.maxPending) this.settleOldest();
    this.timer ??= this.arm(waitRecordingMs);
  }

  recorded(call: CallState): void {
    const entry = this.pending.get(call.connectionId);
    if (entry === undefined || call.recordingKey === undefined) return;
    entry.logged.record.recordingKey = call.recordingKey;
    entry.logged.call.recordingKey = call.recordingKey;
    this.settle(entry);
  }

  stopped(call: CallState): void {
    const entry = this.pending.get(call.connectionId);
    if (entry !== undefined && !entry.recording) this.settle(entry);
  }

  /** Every record still waiting, out now without its key; nothing is kept or armed afterwards. */
  drain(): LoggedCall[] {
    const out: LoggedCall[] = [];
    for (const entry of this.queue.slice(this.head)) {
      if (entry.done) continue;
      entry.done = true;
      out.push(entry.logged);
    }
    this.pending.clear();
    this.queue = [];
    this.head = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return out;
  }

  private settle(entry: Pending): void {
    if (entry.done) return;
    entry.done = true;
    if (this.pending.get(entry.logged.record.connectionId) === entry) this.pending.delete(entry.logged.record.connectionId);
    this.emit(entry.logged);
  }

  private settleOldest(): void {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head++]!;
      if (!entry.done) {
        this.settle(entry);
        return;
      }
    }
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(), Math.max(1, ms));
    timer.unref();
    return timer;
  }

  /** The waits at the head of the queue are over: their records go out without a key. */
  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      if (!entry.done && entry.deadline > now) break;
      this.head++;
      this.settle(entry);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.timer = this.arm(this.queue[this.head]!.deadline - now);
    }
  }
}
