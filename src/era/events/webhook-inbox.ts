/**
 * What a webhook receiver does with the events of accepted deliveries: each event id once
 * (the platform, or a proxy, may deliver twice), in arrival order; the call table fed as by
 * the socket (a webhook copy and a socket copy of one event count once there) without opening
 * the socket; then the receiver's own patterns decide what it emits. Made-up events of its
 * reconciliation take the same way out.
 */
import { SeenEvents } from './dedup';
import { matchesAny, type Pattern } from './patterns';
import { Reconciler, type ReconcileDeps } from './reconcile';
import type { CallState, EraEvent } from '../types';

export interface InboxDeps {
  patterns: readonly Pattern[];
  /** The linked server's client: the call table, and `msg.call`. Absent: events go out without it. */
  calls?: { ingest(ev: EraEvent): CallState | undefined };
  /** Emits one event (with `ev.call` set when linked). */
  emit(ev: EraEvent): void;
  /** Reconciliation with the platform's list of calls (through a server); absent: none. */
  reconcile?: Omit<ReconcileDeps, 'replay'>;
}

export class WebhookInbox {
  /** Its made-up events leave through this inbox; start() and stop() are the owner's. */
  readonly reconciler: Reconciler | undefined;
  private readonly seen = new SeenEvents();

  constructor(private readonly deps: InboxDeps) {
    this.reconciler = deps.reconcile === undefined ? undefined : new Reconciler({ ...deps.reconcile, replay: (ev) => this.out(ev) });
  }

  /** The events of one delivery, in order. */
  accept(events: readonly EraEvent[]): void {
    for (const ev of events) {
      if (ev.eventId !== undefined && !this.seen.first(ev.eventId)) continue;
      // A live event a reconciliation already reported (made up) is not news.
      if (this.reconciler !== undefined && !this.reconciler.heard(ev)) continue;
      this.out(ev);
    }
  }

  private out(ev: EraEvent): void {
    const call = this.deps.calls?.ingest(ev);
    if (!matchesAny(this.deps.patterns, ev.class, ev.type)) return;
    ev.call = call;
    this.deps.emit(ev);
  }
}
