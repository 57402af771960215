/**
 * What a webhook receiver does with the events of accepted deliveries: each event id once
 * (the platform, or a proxy, may deliver twice), in arrival order; the server's call table fed
 * as by the socket (a webhook copy and a socket copy of one event count once there) without
 * opening the socket; then the receiver's own patterns decide what it emits, and in a cluster
 * the claims decide which replica emits it.
 *
 * Made-up events of its reconciliation take the same way out but stay out of the server's
 * table: there they would mark the call as reported by a replay, and the socket's live copy
 * of the event would then be held back from every era-events node of that server.
 */
import { claimKeys } from './claims';
import { SeenEvents } from './dedup';
import { matchesAny, type Pattern } from './patterns';
import { Reconciler, type ReconcileDeps } from './reconcile';
import type { CallState, EraEvent } from '../types';

/** The linked server's client, as far as a receiver uses it. */
export interface InboxServer {
  /** Feeds a live event into the call table (through its dedup); the call's state after it. */
  ingest(ev: EraEvent): CallState | undefined;
  /** Runs `emit` unless another replica claimed one of `keys` first (at once without a cluster). */
  onceInCluster(keys: readonly string[], emit: () => void): void;
}

export interface InboxDeps {
  patterns: readonly Pattern[];
  /** The linked server: `msg.call`, reconciliation and cluster claims. Absent: events go out at once, without `msg.call`. */
  server?: InboxServer;
  /**
   * Put before every claim key (the receiver's path): another receiver, or an era-events node,
   * claiming the same event on another replica does not take this receiver's copy away.
   */
  claimScope: string;
  /** Emits one event (with `ev.call` set when linked). */
  emit(ev: EraEvent): void;
  /** Reconciliation with the platform's list of calls (needs the server); absent: none. */
  reconcile?: Omit<ReconcileDeps, 'replay' | 'claimRound'>;
}

export class WebhookInbox {
  /** Its made-up events leave through this inbox; start() and stop() are the owner's. */
  readonly reconciler: Reconciler | undefined;
  private readonly seen = new SeenEvents();

  constructor(private readonly deps: InboxDeps) {
    const server = deps.server;
    this.reconciler = deps.reconcile === undefined || server === undefined ? undefined : new Reconciler({
      ...deps.reconcile,
      // The table has just applied the made-up event (a made-up end ends its call there).
      replay: (ev) => this.out(ev, ev.connectionId === undefined ? undefined : this.reconciler?.table.get(ev.connectionId), this.reconciler?.table.change === 'ended'),
      claimRound: (round, run) => server.onceInCluster([`${deps.claimScope}reconcile:${round}`], run),
    });
  }

  /** The events of one delivery, in order. */
  accept(events: readonly EraEvent[]): void {
    for (const ev of events) {
      if (ev.eventId !== undefined && !this.seen.first(ev.eventId)) continue;
      const heard = this.reconciler?.heard(ev);
      // A live event a reconciliation already reported (made up) is not news.
      if (heard === 'old') continue;
      this.out(ev, this.deps.server?.ingest(ev), heard === 'ended');
    }
  }

  /**
   * `endsCall`: the event may be the call's end by the reconciliation's table (Reconciler.heard).
   * Only such an event is claimed with the call-level end key, which pairs it with a made-up end
   * of the same call on another replica (as era-events does from the client's table): a later
   * dialog's `dlg_end` carries its own id only, or no replica would emit it once the call's end
   * was claimed. Without a reconciliation nothing is made up, so no event needs that key.
   */
  private out(ev: EraEvent, call: CallState | undefined, endsCall: boolean): void {
    if (!matchesAny(this.deps.patterns, ev.class, ev.type)) return;
    ev.call = call;
    const { server, claimScope } = this.deps;
    if (server === undefined) this.deps.emit(ev);
    else server.onceInCluster(claimKeys(ev, endsCall).map((key) => `${claimScope}${key}`), () => this.deps.emit(ev));
  }
}
