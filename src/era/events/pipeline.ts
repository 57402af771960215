/**
 * One event's way through the client, each stage visited once and in order:
 * decode (protocol/frames.ts, in the socket) → dedup (dedup.ts) → call table (calls/table.ts)
 * → claim and delivery (deliver.ts, claims.ts). Events made up after an outage and events that
 * came by webhook enter here too.
 */
import { SUPPRESSED, type CallTable } from '../calls/table';
import type { ListedCall } from '../protocol/call-list';
import type { UndecodableReason } from '../protocol/frames';
import type { CallState, EraEvent } from '../types';
import type { ClaimQueue } from './claims';
import { SeenEvents } from './dedup';
import { Delivery } from './deliver';
import type { Listener, Subscriptions } from './subscriptions';

export interface PipelineCounters {
  decoded: number;
  undecodable: number;
  duplicates: number;
}

export interface PipelineReporter {
  /** Warns once per `key` (by default the message itself). */
  warnOnce(msg: string, key?: string): void;
}

export class EventPipeline {
  private readonly seen = new SeenEvents();
  private readonly delivery: Delivery;

  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly table: CallTable,
    private readonly counters: PipelineCounters,
    private readonly report: PipelineReporter,
    /** Present in a cluster of replicas: exclusive listeners get an event once this replica claimed it. */
    claims?: ClaimQueue,
  ) {
    this.delivery = new Delivery(subscriptions, this.seen, counters, report, claims);
  }

  /** A live event from the socket; `subscriptionId` as the envelope named it, if it did. */
  event(ev: EraEvent, subscriptionId: unknown): void {
    this.counters.decoded++;
    const id = ev.eventId;
    // The group the envelope names is marked reached by the dedup stage itself: one lookup, not two.
    const named = typeof subscriptionId === 'string' ? this.subscriptions.byId(subscriptionId) : undefined;
    let call: CallState | undefined;
    let endsCall = false;
    let fresh = false;
    if (id === undefined || (fresh = this.seen.first(id, named ?? null))) {
      const applied = this.applied(ev);
      if (applied === SUPPRESSED) return;
      call = applied;
      endsCall = this.table.change === 'ended';
    } else if (ev.connectionId !== undefined) {
      call = this.table.peek(ev.connectionId);
    }
    this.delivery.route(ev, named, fresh, id, call, endsCall);
  }

  /**
   * An event that came another way (a webhook): it feeds the call table once, whichever copy
   * (this one or the socket's) comes first, and reaches no listener. The call's live state
   * after it, or undefined when the event is not about a call the table knows.
   */
  ingest(ev: EraEvent): CallState | undefined {
    const id = ev.eventId;
    if (id === undefined || this.seen.first(id)) {
      // Webhook deliveries can pass each other: a dialog event after the call's end says nothing of how the platform sequences calls.
      const applied = this.applied(ev, false);
      if (applied !== SUPPRESSED) return applied;
    }
    return ev.connectionId === undefined ? undefined : this.table.peek(ev.connectionId);
  }

  /** An event made up after an outage; `listed` brings the call's phase in line with the platform's list. */
  replay(ev: EraEvent, listed?: ListedCall): void {
    const applied = this.applied(ev);
    const endsCall = this.table.change === 'ended';
    if (listed !== undefined) this.table.align(listed);
    this.delivery.route(ev, undefined, false, undefined, applied === SUPPRESSED ? undefined : applied, endsCall);
  }

  /** A listener took over a departed one's kept events: deliver them soon. */
  adopt(listener: Listener): void {
    this.delivery.adopt(listener);
  }

  undecodable(reason: UndecodableReason, method: string | undefined): void {
    this.counters.undecodable++;
    const what = reason === 'unknown envelope' && method !== undefined
      ? `of an unknown kind ("${method.slice(0, 60)}")`
      : reason;
    this.report.warnOnce(
      `Skipped a WebSocket message that is ${what}; such messages are counted in stats.undecodable and not reported again`,
      reason,
    );
  }

  /**
   * The table stage: applies the event, counts what a replay already reported, and says when the
   * platform went on after an end (`inOrder`: the event came in the order the platform sent it).
   */
  private applied(ev: EraEvent, inOrder = true): CallState | undefined | typeof SUPPRESSED {
    const applied = this.table.apply(ev);
    if (applied === SUPPRESSED) {
      this.counters.duplicates++;
    } else if (inOrder && this.table.change === 'continued') {
      this.report.warnOnce(
        `The platform sent ${ev.topic} for a call it had already ended (${applied?.connectionId ?? 'unknown call'}): this installation sequences calls otherwise than the package models them. The event is delivered; please run era-check (the "Check installation" button of the server) while such calls happen and send its report to the package's maintainers`,
        'continued-after-end',
      );
    }
    return applied;
  }
}
