/**
 * Reconciliation for a receiver whose deliveries may be lost: webhooks come at most once
 * (era-platform.md §8a), so any call may have started or ended unheard. The receiver keeps a
 * table of the calls it heard of, and on start, every interval and after a lapse of its
 * registration it runs the gap fill against the platform's list — the same GapFill the client
 * runs after a socket outage, treating every call live at that moment as possibly ended.
 *
 * Rounds fall on multiples of the interval since the epoch, so that the replicas of a cluster
 * reach the same round at the same moment and one of them, the one that claims the round, runs it.
 */
import { CallTable, SUPPRESSED } from '../calls/table';
import { GapFill } from './gapfill';
import { emptyCallEventFacts, readCallEvent } from '../protocol/call-events';
import { type ListedCall } from '../protocol/call-list';
import { type PlatformRequest } from '../protocol/paths';
import type { EraEvent } from '../types';
import { MAX_TIMER_MS } from '../util/timers';

/**
 * How long a round lets a call's own delivery come before it makes up its start or end: the
 * list can name a call whose delivery is on its way. A quarter of the interval at most (a round
 * waits twice: for starts, then for ends); a run that still outlasts the interval (a slow
 * platform) is left to finish (see run()).
 */
const SETTLE_MS = 2_000;

export interface ReconcileDeps {
  /** A REST request with the client's credentials; throws EraError for anything but 2xx (404: ERA_NOT_FOUND). */
  send(req: PlatformRequest): Promise<{ body: unknown }>;
  /** Delivers a made-up event (`replayed: true`); the table already holds its effect. Must not throw. */
  replay(ev: EraEvent, listed?: ListedCall): void;
  /** Runs `run` for round `round` unless another replica of a cluster runs that round (at once without one). */
  claimRound(round: number, run: () => void): void;
  /** Between runs; at most MAX_TIMER_MS. */
  intervalMs: number;
  maxCalls: number;
  endedCallGraceMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  debug(msg: string): void;
  warnOnce(msg: string): void;
  /** What a predecessor (the same receiver before a redeploy) knew; a new table when absent. */
  table?: CallTable;
}

export class Reconciler {
  /** The calls the receiver heard of (or made up): kept across a redeploy, so none is reported twice. */
  readonly table: CallTable;
  private readonly gapFill: GapFill;
  private readonly facts = emptyCallEventFacts();
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * The calls going on were learnt: from a predecessor's table, or from the platform's list
   * told to no one. A receiver that starts without a predecessor (a first deploy, a restart of
   * Node-RED) heard no call start: reporting every listed call as started unheard would make up
   * an `invite` for each call in progress. Only rounds after the calls were learnt report.
   */
  private learnt: boolean;

  constructor(private readonly deps: ReconcileDeps) {
    this.intervalMs = Math.min(Math.max(deps.intervalMs, 1), MAX_TIMER_MS);
    this.table = deps.table ?? new CallTable(deps.maxCalls, deps.endedCallGraceMs);
    this.learnt = deps.table !== undefined;
    this.gapFill = new GapFill({
      send: deps.send,
      table: this.table,
      replay: (ev, listed) => {
        this.table.apply(ev);
        if (listed !== undefined) this.table.align(listed);
        deps.replay(ev, listed);
      },
      maxCalls: deps.maxCalls,
      settleMs: Math.min(SETTLE_MS, this.intervalMs / 4),
      retryMinMs: deps.retryMinMs,
      retryMaxMs: deps.retryMaxMs,
      debug: deps.debug,
      warnOnce: deps.warnOnce,
    });
  }

  /**
   * A live event the receiver got: `old` when a made-up one already reported it (its live
   * `invite` or `dlg_end` came after the reconciliation did); `ended` when it may be the call's
   * end: it ended the call in the table, or it is a `dlg_end` of a call the table does not know
   * (in a cluster another replica may have heard its start, and may make its end up); else `new`
   * (a later dialog's end after the call's end, an older dialog's end after a newer one began).
   *
   * `dlg_stop` (the same end, 3 s after `dlg_end`) does not end a call here: deliveries are lost
   * one by one, so a call whose `dlg_end` was lost stays a candidate and gets its `dlg_end`.
   */
  heard(ev: EraEvent): 'old' | 'ended' | 'new' {
    if (ev.connectionId !== undefined) this.gapFill.heard(ev.connectionId);
    const kind = readCallEvent(ev, this.facts).kind;
    if (kind === 'stop') return 'new';
    const applied = this.table.apply(ev);
    if (applied === SUPPRESSED) return 'old';
    if (applied === undefined) return kind === 'end' ? 'ended' : 'new';
    return this.table.change === 'ended' ? 'ended' : 'new';
  }

  /** Reconciles now (learns the calls going on, without a predecessor), then at every round. */
  start(): void {
    if (this.learnt) this.now();
    else this.learn();
    this.schedule();
  }

  /** Reconciles at once, unless another replica runs the current round (a run still going is replaced). */
  now(): void {
    this.run(Math.floor(Date.now() / this.intervalMs), true);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.gapFill.reset();
  }

  /** `replace`: a run still going is replaced (a lapse); else the round leaves it to finish. */
  private run(round: number, replace: boolean): void {
    if (this.stopped) return;
    // A slow platform, or the wait for deliveries on their way, can make a run outlast the
    // interval: replaced at every round, none would finish. One waiting to try again after a
    // failure is replaced (the round reads the list afresh). Checked before the claim, so that in
    // a cluster another replica takes the round.
    if (!replace && this.gapFill.busy && !this.gapFill.retrying) {
      this.deps.debug('a reconciliation round is left to another replica or the next round: the run before it is still going');
      return;
    }
    this.deps.claimRound(round, () => {
      if (this.stopped) return;
      // Still learning (the platform did not answer yet): a round would report every call going on.
      if (!this.learnt) return this.learn();
      this.gapFill.outage();
      void this.gapFill.start();
    });
  }

  /** Every replica learns for itself, unclaimed: nothing is told, only its own table is filled. */
  private learn(): void {
    if (this.stopped) return;
    void this.gapFill.seed().then((done) => {
      if (done) this.learnt = true;
    });
  }

  /** The round after `after` begins at the next multiple of the interval (by the wall clock, which a timer may wake a little before). */
  private schedule(after = Math.floor(Date.now() / this.intervalMs)): void {
    const next = Math.max(Math.floor(Date.now() / this.intervalMs), after) + 1;
    this.timer = setTimeout(() => {
      this.run(next, false);
      if (!this.stopped) this.schedule(next);
    }, Math.min(Math.max(next * this.intervalMs - Date.now(), 0), this.intervalMs));
    this.timer.unref();
  }
}
