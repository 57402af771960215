/**
 * Several replicas of one flow hear the same events; each event must reach the flows of one
 * of them. Before an exclusive listener gets an event, the replica claims the event's keys in
 * a store the replicas share (src/cluster/ implements it on Redis): only the winner delivers.
 *
 * The client stays store-agnostic: it asks an `EventClaims` and keeps arrival order itself.
 * Claims are answered in their own time, so deliveries wait in one FIFO and leave it head
 * first as their claims settle; a claim not answered within CLAIM_TIMEOUT_MS counts as won,
 * since an event emitted twice does less harm than one never emitted.
 */
import { createHash } from 'node:crypto';
import type { EraEvent, EventClaims } from '../types';
import { messageOf } from '../util/text';

/** How long a delivery waits for its claim before it goes out anyway. */
export const CLAIM_TIMEOUT_MS = 2_000;

/** Claims remembered per replica, so that an event reaching several listeners is claimed once. */
const REMEMBERED_CLAIMS = 10_000;

const INVITE = 'callevents.invite';

/**
 * The keys an event is claimed under: its id (the platform's, or the derived id of a replayed
 * event, the same on every replica), else a hash of what it says; plus a call-level key for
 * the start of a call (`call:<connectionId>:invite`) and for the event that ended it
 * (`call:<connectionId>:end`): a made-up start or end on one replica and the live one on another
 * carry different ids but report the same thing. Only the end of the CALL is claimed per call:
 * a call's later dialogs end with events of their own (era-platform.md §5.4), each delivered.
 * `endsCall`: this event ended the call in the call table (by default: it is a dlg_end).
 */
export function claimKeys(ev: EraEvent, endsCall = ev.topic === 'callevents.dlg_end'): string[] {
  const own = ev.eventId ?? `hash:${createHash('sha1').update(`${ev.topic}\n${JSON.stringify(ev.payload)}`).digest('base64url')}`;
  if (ev.connectionId === undefined) return [own];
  if (endsCall) return [own, `call:${ev.connectionId}:end`];
  return ev.topic === INVITE ? [own, `call:${ev.connectionId}:invite`] : [own];
}

interface Claim {
  settled: boolean;
  won: boolean;
}

interface Entry {
  claim: Claim;
  deadline: number;
  run: () => void;
}

export interface ClaimReporter {
  warnOnce(msg: string): void;
}

/** Deliveries that wait for their claims, in arrival order. */
export class ClaimQueue {
  private entries: Entry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly recent = new Map<string, Claim>();
  private readonly ring: Array<string | undefined> = new Array<string | undefined>(REMEMBERED_CLAIMS);
  private next = 0;
  /** The last event's keys: every exclusive listener of one event asks for them in turn. */
  private lastEvent: EraEvent | undefined;
  private lastKeys: string[] = [];

  constructor(
    private readonly claims: EventClaims,
    private readonly report: ClaimReporter,
  ) {}

  /**
   * Runs `run` once the event is claimed by this replica (never, when another replica won it).
   * `endsCall` as claimKeys takes it; every submission of one event must give the same.
   */
  submitEvent(ev: EraEvent, endsCall: boolean, run: () => void): void {
    if (ev !== this.lastEvent) {
      this.lastEvent = ev;
      this.lastKeys = claimKeys(ev, endsCall);
    }
    this.submit(this.lastKeys, run);
  }

  /** Runs `run` once `keys` are claimed by this replica, after every earlier submission settled. */
  submit(keys: readonly string[], run: () => void): void {
    if (this.closed) return;
    const claim = this.claimOf(keys);
    if (claim.settled && this.head === this.entries.length) {
      if (claim.won) this.run(run);
      return;
    }
    this.entries.push({ claim, deadline: Date.now() + CLAIM_TIMEOUT_MS, run });
    this.timer ??= this.armed(CLAIM_TIMEOUT_MS);
  }

  /** Drops what waits; nothing runs afterwards. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.entries = [];
    this.head = 0;
    this.recent.clear();
  }

  private claimOf(keys: readonly string[]): Claim {
    const id = keys[0]!;
    const known = this.recent.get(id);
    if (known !== undefined) return known;
    const claim: Claim = { settled: false, won: false };
    const old = this.ring[this.next];
    if (old !== undefined) this.recent.delete(old);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % REMEMBERED_CLAIMS;
    this.recent.set(id, claim);
    let answer: Promise<boolean>;
    try {
      answer = this.claims.claim(keys);
    } catch {
      answer = Promise.resolve(true);
    }
    answer.then(
      (won) => this.settle(claim, won !== false),
      () => this.settle(claim, true),
    );
    return claim;
  }

  private settle(claim: Claim, won: boolean): void {
    if (claim.settled || this.closed) return;
    claim.settled = true;
    claim.won = won;
    this.drain();
  }

  private drain(): void {
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && entries[head]!.claim.settled) {
      const entry = entries[head++]!;
      if (entry.claim.won) this.run(entry.run);
      if (this.closed) return;
    }
    if (head === entries.length) {
      this.entries = [];
      this.head = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (head > 1024 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /** The head's claim is overdue: it and every overdue one behind it go out unclaimed. */
  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    let overdue = false;
    for (let i = this.head; i < this.entries.length && this.entries[i]!.deadline <= now; i++) {
      const claim = this.entries[i]!.claim;
      if (claim.settled) continue;
      claim.settled = true;
      claim.won = true;
      overdue = true;
    }
    if (overdue) this.claims.unanswered();
    this.drain();
    if (this.timer === undefined && this.head < this.entries.length) this.timer = this.armed(Math.max(1, this.entries[this.head]!.deadline - now));
  }

  private armed(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(), ms);
    timer.unref();
    return timer;
  }

  private run(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.report.warnOnce(`An event listener failed: ${messageOf(err)}`);
    }
  }
}
