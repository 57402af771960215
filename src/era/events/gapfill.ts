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
 */
import { Backoff } from '../util/backoff';
import type { CallTable } from '../calls/table';
import { EraError } from '../errors';
import { buildCallRequest, callListRequest } from '../protocol/commands';
import { listedCall, listedCalls, type ListedCall } from '../protocol/call-list';
import { makeReplayedEvent, replayedEndPayload, replayedInvitePayload } from '../protocol/replayed';
import { type PlatformRequest } from '../protocol/paths';
import type { EraEvent } from '../types';
import { messageOf } from '../util/text';

const PAGE = 1000;

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
  /** Calls that were live when an outage began and are not settled yet. */
  private readonly candidates = new Set<string>();
  /** Bumped by every start() and stop(): an older run sees it and ends. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;

  constructor(private readonly deps: GapFillDeps) {
    this.backoff = new Backoff(deps.retryMinMs, deps.retryMaxMs);
  }

  /** The connection is lost: every call live now may end unheard. */
  outage(): void {
    for (const call of this.deps.table.active()) this.candidates.add(call.connectionId);
  }

  /** These calls may have ended unheard (they were live when someone else stopped hearing them). */
  remember(connectionIds: Iterable<string>): void {
    for (const id of connectionIds) this.candidates.add(id);
  }

  /** Reconciles with the platform's list, retrying until done; resolves when done or stopped. */
  async start(): Promise<void> {
    this.cancelWait();
    const generation = ++this.generation;
    this.backoff.reset();
    let listed: ListedCall[] | undefined;
    for (;;) {
      try {
        listed ??= this.reportStarted(await fetchActiveCalls(this.deps.send, this.deps.maxCalls), generation);
        if (listed === undefined || generation !== this.generation) return;
        await this.settleCandidates(new Set(listed.map((c) => c.connectionId)), generation);
        if (generation !== this.generation) return;
        if (this.candidates.size === 0) return;
      } catch (err) {
        if (generation !== this.generation) return;
        this.deps.warnOnce(`Reading the platform's calls after an outage failed (${messageOf(err)}); trying again, so that calls that ended meanwhile are still reported`);
      }
      if (!(await this.sleep(this.backoff.next(), generation))) return;
    }
  }

  /** Ends any run in progress (the connection dropped again, or the client closes). */
  stop(): void {
    this.generation++;
    this.cancelWait();
  }

  /** Stops, and forgets the candidates: the call table they refer to was cleared. */
  reset(): void {
    this.stop();
    this.candidates.clear();
  }

  /** A listed call the table does not know started unheard: one made-up `invite`. */
  private reportStarted(listed: ListedCall[], generation: number): ListedCall[] | undefined {
    if (generation !== this.generation) return undefined;
    const { table } = this.deps;
    const now = Date.now();
    let made = 0;
    for (const call of listed) {
      if (table.peek(call.connectionId) !== undefined) {
        table.align(call);
        continue;
      }
      this.deps.replay(makeReplayedEvent('callevents', 'invite', replayedInvitePayload(call, replayedEventId(call.connectionId, 'invite'), now)), call);
      made++;
    }
    if (made > 0) this.deps.debug(`reported ${made} calls that started while disconnected`);
    return listed;
  }

  /**
   * A candidate still listed is live; one the table already holds as ended (its own events
   * came) or forgot is settled; one missing from the list is asked for by id, and only a 404
   * makes up its `dlg_end`. A failed question leaves it for the next round.
   */
  private async settleCandidates(listedIds: ReadonlySet<string>, generation: number): Promise<void> {
    const { table } = this.deps;
    for (const id of [...this.candidates]) {
      if (generation !== this.generation) return;
      const known = table.peek(id);
      if (known === undefined || known.state === 'ended' || listedIds.has(id)) {
        this.candidates.delete(id);
        continue;
      }
      let ended: boolean;
      try {
        const res = await this.deps.send(buildCallRequest({ op: 'get', call: id }));
        const call = listedCall(res.body);
        ended = call?.state === 'ended';
        if (!ended && call !== undefined && generation === this.generation) table.align(call);
      } catch (err) {
        if (!(err instanceof EraError && err.code === 'ERA_NOT_FOUND')) throw err;
        ended = true;
      }
      if (generation !== this.generation) return;
      this.candidates.delete(id);
      // Its live dlg_end may have come while we asked: then there is nothing to make up.
      const now = table.peek(id);
      if (!ended || now === undefined || now.state === 'ended') continue;
      this.deps.replay(makeReplayedEvent('callevents', 'dlg_end', replayedEndPayload(now, replayedEventId(id, 'dlg_end'), Date.now())));
      this.deps.debug(`reported the end of call ${id}, missed while disconnected`);
    }
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
