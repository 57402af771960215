/**
 * One call log (an era-call-log node): a record per finished call, once, after its end — and
 * after its recording's key, which comes a moment later (era-platform.md §5.3: dlg_end →
 * connection_set_record_info → dlg_stop). A record waits for the key at most `waitRecordingMs`;
 * a call no recording event announced waits only for its dlg_stop. Waits are bounded: beyond
 * `maxPending` the oldest record goes out without its key. A record that went out is held by
 * nothing here.
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

/** A record waiting for its call's recording key, as another client can take it over (a full redeploy). */
export interface WaitingRecord {
  logged: LoggedCall;
  /** A recording event announced the call: its key is worth the whole wait. */
  recording: boolean;
  /** When the wait ends (ms timestamp). */
  deadline: number;
}

interface Pending {
  connectionId: string;
  /** Undefined once the record went out: the queue keeps the entry, not the record. */
  waiting: WaitingRecord | undefined;
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
    // Nothing to wait for: the key is here, waiting is off, or no key can come any more. A made-up
    // end waits all the same: in a cluster, a replica that heard the real end should be first.
    if (c.recordingKey !== undefined || waitRecordingMs <= 0 || (!finished.recording && finished.last)) {
      this.emit(logged);
      return;
    }
    this.wait({ logged, recording: finished.recording, deadline: Date.now() + waitRecordingMs });
  }

  recorded(call: CallState): void {
    const entry = this.pending.get(call.connectionId);
    const waiting = entry?.waiting;
    if (entry === undefined || waiting === undefined || call.recordingKey === undefined) return;
    waiting.logged.record.recordingKey = call.recordingKey;
    waiting.logged.call.recordingKey = call.recordingKey;
    this.settle(entry);
  }

  stopped(call: CallState): void {
    const entry = this.pending.get(call.connectionId);
    if (entry?.waiting !== undefined && !entry.waiting.recording) this.settle(entry);
  }

  /** Records that waited in another client's log for the same calls (a full redeploy), waiting here now. */
  restore(waiting: readonly WaitingRecord[]): void {
    for (const w of waiting) this.wait(w);
  }

  /** Every record still waiting, taken out; nothing is kept or armed afterwards. */
  take(): WaitingRecord[] {
    const out: WaitingRecord[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const waiting = this.queue[i]!.waiting;
      if (waiting !== undefined) out.push(waiting);
    }
    this.pending.clear();
    this.queue = [];
    this.head = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return out;
  }

  private wait(waiting: WaitingRecord): void {
    const id = waiting.logged.record.connectionId;
    const earlier = this.pending.get(id);
    if (earlier !== undefined) this.settle(earlier);
    const entry: Pending = { connectionId: id, waiting };
    this.pending.set(id, entry);
    this.queue.push(entry);
    if (this.pending.size > this.options.maxPending) this.settleOldest();
    this.timer ??= this.arm(waiting.deadline - Date.now());
  }

  private settle(entry: Pending): void {
    const waiting = entry.waiting;
    if (waiting === undefined) return;
    entry.waiting = undefined;
    if (this.pending.get(entry.connectionId) === entry) this.pending.delete(entry.connectionId);
    this.emit(waiting.logged);
  }

  private settleOldest(): void {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head++]!;
      if (entry.waiting !== undefined) {
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
      if (entry.waiting !== undefined && entry.waiting.deadline > now) break;
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
      this.timer = this.arm(this.queue[this.head]!.waiting!.deadline - now);
    }
  }
}
