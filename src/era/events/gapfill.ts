/**
 * No event lost across an outage, and none made up: events produced while the client could
 * not hear them never come, so afterwards it compares what it knows with the platform's list
 * of active calls and reports the difference as replayed events (`replayed: true`).
 *
 * Only calls that were live when the outage began can have ended unheard (`outage()` remembers
 * them); one missing from the list is confirmed with `GET /rest/v1/uc/calls/<id>` (404 = ended)
 * before a `dlg_end` is made up, because the list is read page by page while it changes and can
 * skip a call. A call that appeared meanwhile is never a candidate. A failed read is tried again
 * with backoff until it succeeds, or until the call's own events settle it.
 *
 * What it missed longer ago than GAP_FILL_HORIZON_MS is brought into the call table but not
 * reported: replicas of a cluster know a call's start and end apart by a claim kept that long
 * (src/cluster/redis-claims.ts), so an older one could come out twice.
 */
import { Backoff } from '../util/backoff';
import type { CallTable } from '../calls/table';
import { EraError } from '../errors';
import { buildCallRequest, callListRequest } from '../protocol/commands';
import { listedCall, listedCalls, type ListedCall } from '../protocol/call-list';
import { makeReplayedEvent, replayedEndPayload, replayedInvitePayload } from '../protocol/replayed';
import { type PlatformRequest } from '../protocol/paths';
import type { EraEvent } from '../types';
import { messageOf, seconds } from '../util/text';

const PAGE = 1000;

/**
 * How far back gap fill reports: a call's end made up only while its outage began less long
 * ago, a call's start only while its `invitets` is. A cluster keeps the claims of calls'
 * starts and ends longer than this, so a made-up event and the live one another replica
 * emitted within it always meet on the same key.
 */
export const GAP_FILL_HORIZON_MS = 24 * 3_600_000;

export interface GapFillDeps {
  /** A REST request with credentials; throws EraError for anything but 2xx (404: ERA_NOT_FOUND). */
  send(req: PlatformRequest): Promise<{ body: unknown }>;
  table: CallTable;
  /** Delivers a made-up event (and brings the call in line with the list, when given). */
  replay(ev: EraEvent, listed?: ListedCall): void;
  /** At most this many calls are read (the call table's cap). */
  maxCalls: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** GAP_FILL_HORIZON_MS unless given (tests give a short one). */
  horizonMs?: number;
  /**
   * How long a start or an end found in the list waits for its own event before one is made up
   * (0 unless given). A webhook receiver's deliveries can be on their way while the list is
   * read: made up at once, the event would come out as `replayed` and the live one be dropped.
   */
  settleMs?: number;
  debug(msg: string): void;
  warnOnce(msg: string): void;
}

/**
 * The id of a made-up event: derived from the call and the event type, so that every client
 * (every replica of a cluster) that makes up the same event gives it the same id.
 */
export function replayedEventId(connectionId: string, type: string): string {
  return `replayed-${connectionId}-${type}`;
}

/** Every active call, page by page, each once however the pages shift while they are read. */
async function fetchActiveCalls(
  send: (req: PlatformRequest) => Promise<{ body: unknown }>,
  maxCalls: number,
): Promise<ListedCall[]> {
  const byId = new Map<string, ListedCall>();
  for (let offset = 0; offset < maxCalls; offset += PAGE) {
    const res = await send(callListRequest(offset, PAGE));
    const page = listedCalls(res.body);
    if (page === undefined) throw new EraError('ERA_HTTP', 'The list of calls has an unexpected shape');
    for (const call of page) if (!byId.has(call.connectionId)) byId.set(call.connectionId, call);
    if (page.length < PAGE) break;
  }
  return [...byId.values()];
}


export class GapFill {
  /** Calls that were live when an outage began and are not settled yet, with when it began. */
  private readonly candidates = new Map<string, number>();
  /** Bumped by every start() and stop(): an older run sees it and ends. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;
  /** The platform's list as this run read it (read once per run). */
  private listed: ListedCall[] | undefined;
  private running = false;
  private waitingToRetry = false;
  private readonly horizonMs: number;
  private readonly settleMs: number;
  /** While a run with a settle time reads the list and waits: the calls whose own events came meanwhile. */
  private heardMeanwhile: Set<string> | undefined;

  constructor(private readonly deps: GapFillDeps) {
    this.backoff = new Backoff(deps.retryMinMs, deps.retryMaxMs);
    this.horizonMs = deps.horizonMs ?? GAP_FILL_HORIZON_MS;
    this.settleMs = deps.settleMs ?? 0;
  }

  /** The connection is lost: every call live now may end unheard. */
  outage(): void {
    this.remember(Array.from(this.deps.table.active(), (call) => call.connectionId));
  }

  /**
   * These calls may have ended unheard (they were live when someone else stopped hearing them).
   * A call that already is a candidate keeps the time it became one: it may have ended since.
   */
  remember(connectionIds: Iterable<string>): void {
    const now = Date.now();
    for (const id of connectionIds) if (!this.candidates.has(id)) this.candidates.set(id, now);
  }

  /**
   * A live event of this call came (a webhook receiver tells of each one). A call heard of while
   * a run reads the list and waits is left to its own events and the next run: one whose start
   * was lost but whose end came meanwhile gets no made-up `invite` after that end.
   */
  heard(connectionId: string): void {
    this.heardMeanwhile?.add(connectionId);
  }

  /** Reconciles with the platform's list, retrying until done; resolves when done (true) or stopped (false). */
  async start(): Promise<boolean> {
    return this.run(async (generation) => {
      if (this.listed === undefined) {
        this.heardMeanwhile = this.settleMs > 0 ? new Set() : undefined;
        this.listed = await this.reportStarted(await fetchActiveCalls(this.deps.send, this.deps.maxCalls), generation);
      }
      if (this.listed === undefined || generation !== this.generation) return true;
      await this.settleCandidates(new Set(this.listed.map((c) => c.connectionId)), generation);
      return generation !== this.generation || this.candidates.size === 0;
    }, 'after an outage failed', 'so that calls that ended meanwhile are still reported');
  }

  /**
   * The first connection: the calls going on already enter the table, told to no one (nothing
   * was missed: nobody listened), so that they show in msg.call, the call log and live figures.
   * Resolves true once they did, false when another run or stop() ended it first.
   */
  async seed(): Promise<boolean> {
    return this.run(async (generation) => {
      const listed = await fetchActiveCalls(this.deps.send, this.deps.maxCalls);
      if (generation === this.generation) for (const call of listed) this.deps.table.seed(call);
      return true;
    }, 'on connecting failed', 'so that the calls going on already are known');
  }

  /** A run (start or seed) is under way: until it ends, the table may not know every call going on. */
  get busy(): boolean {
    return this.running;
  }

  /** The run under way waits to try again (a question failed): a new run loses nothing by replacing it. */
  get retrying(): boolean {
    return this.running && this.waitingToRetry;
  }

  /** One step, tried again with backoff until it says it is done, or another run or stop() ends it. */
  private async run(step: (generation: number) => Promise<boolean>, failed: string, why: string): Promise<boolean> {
    this.cancelWait();
    const generation = ++this.generation;
    // A run that replaces one waiting to retry keeps its backoff: the platform still fails, and
    // rounds replacing such runs would otherwise ask it at every round as if it had just come back.
    if (!this.waitingToRetry) this.backoff.reset();
    this.listed = undefined;
    this.running = true;
    this.waitingToRetry = false;
    try {
      for (;;) {
        try {
          if (await step(generation)) return generation === this.generation;
        } catch (err) {
          if (generation !== this.generation) return false;
          this.deps.warnOnce(`Reading the platform's calls ${failed} (${messageOf(err)}); trying again, ${why}`);
        }
        this.waitingToRetry = true;
        const goOn = await this.sleep(this.backoff.next(), generation);
        if (generation === this.generation) this.waitingToRetry = false;
        if (!goOn) return false;
      }
    } finally {
      if (generation === this.generation) this.running = false;
    }
  }

  /** Ends any run in progress (the connection dropped again, or the client closes). */
  stop(): void {
    this.generation++;
    this.running = false;
    this.waitingToRetry = false;
    this.cancelWait();
  }

  /** Stops, and forgets the candidates: the call table they refer to was cleared. */
  reset(): void {
    this.stop();
    this.candidates.clear();
  }

  /**
   * A listed call the table does not know started unheard: one made-up `invite`, once the
   * settle time passed without its own. Undefined when another run or stop() ended this one.
   */
  private async reportStarted(listed: ListedCall[], generation: number): Promise<ListedCall[] | undefined> {
    if (generation !== this.generation) return undefined;
    const { table } = this.deps;
    const unheard: ListedCall[] = [];
    for (const call of listed) {
      if (table.peek(call.connectionId) !== undefined) table.align(call);
      else unheard.push(call);
    }
    if (unheard.length > 0 && this.settleMs > 0 && !(await this.sleep(this.settleMs, generation))) return undefined;
    const now = Date.now();
    let made = 0;
    let old = 0;
    const heard = this.heardMeanwhile;
    this.heardMeanwhile = undefined;
    for (const call of unheard) {
      // Its own events came while the list waited: they tell its story, later than the list does.
      if (table.peek(call.connectionId) !== undefined || heard?.has(call.connectionId) === true) continue;
      const ev = makeReplayedEvent('callevents', 'invite', replayedInvitePayload(call, replayedEventId(call.connectionId, 'invite'), now));
      if (call.startedAt !== undefined && now - call.startedAt > this.horizonMs) {
        this.quietly(ev, call);
        old++;
        continue;
      }
      this.deps.replay(ev, call);
      made++;
    }
    if (made > 0) this.deps.debug(`reported ${made} calls that started while disconnected`);
    if (old > 0) this.deps.debug(`${old} calls that started more than ${seconds(this.horizonMs)} ago are known now, not reported`);
    return listed;
  }

  /** What is too old to report safely still brings the table in line with the platform. */
  private quietly(ev: EraEvent, listed?: ListedCall): void {
    this.deps.table.apply(ev);
    if (listed !== undefined) this.deps.table.align(listed);
  }

  /**
   * A candidate still listed is live; one the table already holds as ended (its own events
   * came) or forgot is settled; one missing from the list is asked for by id, and only a 404
   * makes up its `dlg_end`, once the settle time passed without its own. A failed question
   * leaves it for the next round; so does a run ended while it waits.
   */
  private async settleCandidates(listedIds: ReadonlySet<string>, generation: number): Promise<void> {
    const { table } = this.deps;
    // Ends confirmed while the settle time applies, made up together after one wait.
    const confirmed: Array<[string, number]> = [];
    let failure: unknown;
    for (const [id, since] of [...this.candidates]) {
      if (generation !== this.generation) return;
      const known = table.peek(id);
      if (known === undefined || known.state === 'ended' || listedIds.has(id)) {
        this.candidates.delete(id);
        continue;
      }
      let gone: boolean;
      try {
        const res = await this.deps.send(buildCallRequest({ op: 'get', call: id }));
        const call = listedCall(res.body);
        gone = call?.state === 'ended';
        if (!gone && call !== undefined && generation === this.generation) table.align(call);
      } catch (err) {
        if (!(err instanceof EraError && err.code === 'ERA_NOT_FOUND')) {
          // The ends already confirmed are still made up; the rest wait for the run's next try,
          // which asks this call last: a call the platform always fails on holds back no other.
          this.candidates.delete(id);
          this.candidates.set(id, since);
          failure = err;
          break;
        }
        gone = true;
      }
      if (generation !== this.generation) return;
      if (!gone) this.candidates.delete(id);
      else if (this.settleMs > 0) confirmed.push([id, since]);
      else this.endUnheard(id, since);
    }
    if (confirmed.length > 0 && !(await this.sleep(this.settleMs, generation))) return;
    for (const [id, since] of confirmed) this.endUnheard(id, since);
    if (failure !== undefined) throw failure;
  }

  /** A candidate the platform no longer has: its `dlg_end` made up, unless its own came meanwhile. */
  private endUnheard(id: string, since: number): void {
    this.candidates.delete(id);
    const now = this.deps.table.peek(id);
    if (now === undefined || now.state === 'ended') return;
    const ev = makeReplayedEvent('callevents', 'dlg_end', replayedEndPayload(now, replayedEventId(id, 'dlg_end'), Date.now()));
    if (Date.now() - since > this.horizonMs) {
      this.quietly(ev);
      this.deps.debug(`call ${id} ended while disconnected for more than ${seconds(this.horizonMs)}: marked ended, not reported`);
      return;
    }
    this.deps.replay(ev);
    this.deps.debug(`reported the end of call ${id}, missed while disconnected`);
  }

  private sleep(ms: number, generation: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.wake = () => resolve(false);
      this.timer = setTimeout(() => {
        this.timer = this.wake = undefined;
        resolve(generation === this.generation);
      }, ms);
      this.timer.unref();
    });
  }

  private cancelWait(): void {
    clearTimeout(this.timer);
    const wake = this.wake;
    this.timer = this.wake = undefined;
    wake?.();
  }
}
