/**
 * The last stages of an event's way: the subscription groups it belongs to (the one its envelope
 * names, else every group whose patterns and objects match), each group once; then its listeners
 * by pattern. In a cluster of replicas, exclusive listeners (era-events) get an event only once
 * this replica claimed it — one claim per event, made before anything exclusive is delivered —
 * while the others (the call table's feed, era-wait) get it at once. A listener being replaced in
 * a redeploy has the events it would have received kept for its successor (subscriptions.ts).
 */
import { eventNamesParty } from '../protocol/call-events';
import type { CallState, EraEvent } from '../types';
import { snapshot } from '../calls/table';
import type { ClaimQueue } from './claims';
import type { SeenEvents } from './dedup';
import { matchesAny } from './patterns';
import { KEPT_MAX, type Group, type KeptEvent, type Listener, type Subscriptions } from './subscriptions';
import { messageOf } from '../util/text';
import { copyJson } from '../util/copy';

export interface DeliveryReporter {
  warnOnce(msg: string, key?: string): void;
}

export interface DeliveryCounters {
  duplicates: number;
}

/** An exclusive recipient of an event waiting for its claim: a listener, or the key of one being replaced. */
type Claimed = { listener: Listener; call: CallState | undefined } | { group: Group; key: string; kept: KeptEvent };

function callNamesParty(call: CallState | undefined, objects: ReadonlySet<string>): boolean {
  return call !== undefined && ((call.from !== undefined && objects.has(call.from)) || (call.to !== undefined && objects.has(call.to)));
}

function kept(ev: EraEvent, attachCall: boolean, call: CallState | undefined): KeptEvent {
  return { ev: { ...ev, payload: copyJson(ev.payload), call: undefined }, call: attachCall && call !== undefined ? snapshot(call) : undefined };
}

export class Delivery {
  /** Exclusive recipients of the event being routed; only used in a cluster. */
  private claimed: Claimed[] = [];
  /** Listeners that get the event being routed at once, and the copy of its call each gets: the first `nowCount` (reused). */
  private now: Listener[] = [];
  private nowCalls: Array<CallState | undefined> = [];
  private nowCount = 0;
  /** An event is being delivered: a route() meanwhile is another event's, routed with lists of its own. */
  private delivering = false;

  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly seen: SeenEvents,
    private readonly counters: DeliveryCounters,
    private readonly report: DeliveryReporter,
    /** Present in a cluster of replicas. */
    private readonly claims: ClaimQueue | undefined,
  ) {}

  /**
   * Routes one event: `named` the group its envelope named, `markedFresh` the dedup stage saw its id
   * for the first time and marked `named` reached; `id` its event id when the dedup stage remembers
   * it, `call` the call's live state, `endsCall` whether it ended the call (for the claim's keys).
   */
  route(ev: EraEvent, named: Group | undefined, markedFresh: boolean, id: string | undefined, call: CallState | undefined, endsCall: boolean): void {
    if (this.delivering) {
      // A listener's flow ran at once (Node-RED's synchronous delivery) and made another event.
      const { now, nowCalls, nowCount, claimed } = this;
      this.now = [];
      this.nowCalls = [];
      this.nowCount = 0;
      this.claimed = [];
      this.delivering = false;
      try {
        this.route(ev, named, markedFresh, id, call, endsCall);
      } finally {
        this.now = now;
        this.nowCalls = nowCalls;
        this.nowCount = nowCount;
        this.claimed = claimed;
        this.delivering = true;
      }
      return;
    }
    if (named !== undefined) {
      this.toGroup(named, ev, markedFresh ? undefined : id, call);
    } else {
      const groups = this.subscriptions.all;
      for (let i = 0; i < groups.length; i++) {
        const group = groups[i]!;
        if (!matchesAny(group.patterns, ev.class, ev.type)) continue;
        const objects = group.objectSet;
        if (objects !== undefined && !eventNamesParty(ev.payload, objects) && !callNamesParty(call, objects)) continue;
        this.toGroup(group, ev, id, call);
      }
    }
    this.deliverNow(ev);
    if (this.claimed.length > 0) this.claim(ev, endsCall);
  }

  /**
   * A listener took over a departed one's events: they (and live ones meanwhile) go to it on
   * the next turn, in order — a redeploy starts every node of a flow before that, so the new
   * node's wires exist when it sends.
   */
  adopt(listener: Listener): void {
    setImmediate(() => {
      const backlog = listener.backlog;
      listener.backlog = undefined;
      if (backlog === undefined || !listener.group.listeners.includes(listener)) return;
      // An exclusive listener's kept events were claimed as they came.
      for (const k of backlog) this.deliver(listener, k.ev, k.call);
    });
  }

  private toGroup(group: Group, ev: EraEvent, id: string | undefined, call: CallState | undefined): void {
    if (id !== undefined && !this.seen.reach(id, group)) {
      this.counters.duplicates++;
      return;
    }
    const inCluster = this.claims !== undefined;
    const listeners = group.listeners;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      if (listener.passive || !matchesAny(listener.patterns, ev.class, ev.type)) continue;
      if (inCluster && listener.exclusive) {
        this.claimed.push(listener.backlog === undefined
          ? { listener, call: listener.attachCall && call !== undefined ? snapshot(call) : undefined }
          : { group, key: listener.key!, kept: kept(ev, listener.attachCall, call) });
      } else if (listener.backlog !== undefined) {
        this.store(listener.backlog, kept(ev, listener.attachCall, call));
      } else {
        this.now[this.nowCount] = listener;
        this.nowCalls[this.nowCount++] = listener.attachCall && call !== undefined ? snapshot(call) : undefined;
      }
    }
    const departed = group.departed;
    for (let i = 0; i < departed.length; i++) {
      const d = departed[i]!;
      if (!matchesAny(d.patterns, ev.class, ev.type)) continue;
      if (inCluster && d.exclusive) this.claimed.push({ group, key: d.key, kept: kept(ev, d.attachCall, call) });
      else this.store(d.kept, kept(ev, d.attachCall, call));
    }
  }

  /**
   * The listeners of this turn, each with a payload of its own, so that no flow sees another's
   * changes: the event's own payload when one listener gets it and no claim waits on it (a
   * payload is copied only when it is shared), else a copy each. Kept and claimed recipients
   * get copies of their own too (kept() and claim()).
   */
  private deliverNow(ev: EraEvent): void {
    const count = this.nowCount;
    if (count === 0) return;
    this.nowCount = 0;
    // Claimed recipients get copies of the payload later: it must stay as it came until then.
    const shared = count > 1 || this.claimed.length > 0;
    const payload = ev.payload;
    const listeners = this.now;
    const calls = this.nowCalls;
    this.delivering = true;
    try {
      for (let i = 0; i < count; i++) {
        if (shared) ev.payload = copyJson(payload);
        this.deliver(listeners[i]!, ev, calls[i]);
        calls[i] = undefined;
      }
    } finally {
      this.delivering = false;
      ev.payload = payload;
    }
  }

  /** The claim stage: one claim per event for all its exclusive recipients, delivered once won, in arrival order. */
  private claim(ev: EraEvent, endsCall: boolean): void {
    const recipients = this.claimed;
    this.claimed = [];
    this.claims!.submitEvent(ev, endsCall, () => {
      const payload = ev.payload;
      for (const r of recipients) {
        if ('listener' in r) {
          ev.payload = copyJson(payload);
          this.claimWon(r.listener, ev, r.call);
        } else {
          // A kept event has its own copy already (kept()).
          this.handOver(r.group, r.key, r.kept);
        }
      }
      ev.payload = payload;
    });
  }

  /** The claim of an event for `listener` is won: deliver it, or hand it to the listener's successor. */
  private claimWon(listener: Listener, ev: EraEvent, call: CallState | undefined): void {
    if (listener.group.listeners.includes(listener)) this.deliver(listener, ev, call);
    else if (listener.key !== undefined) this.handOver(listener.group, listener.key, { ev: { ...ev, call: undefined }, call });
  }

  /** A claimed event for the listener named `key`, which left or was replaced while the claim was out. */
  private handOver(group: Group, key: string, k: KeptEvent): void {
    const departed = group.departed.find((d) => d.key === key);
    if (departed !== undefined) {
      this.store(departed.kept, k);
      return;
    }
    const successor = group.listeners.find((l) => l.key === key);
    if (successor?.backlog !== undefined) this.store(successor.backlog, k);
    else if (successor !== undefined) this.deliver(successor, k.ev, k.call);
  }

  private store(into: KeptEvent[], k: KeptEvent): void {
    if (into.length >= KEPT_MAX) {
      this.report.warnOnce(`More than ${KEPT_MAX} events arrived while a node was being redeployed; later ones were not kept for it`);
      return;
    }
    into.push(k);
  }

  /** `call`: this listener's own copy of the call's state, or undefined. */
  private deliver(listener: Listener, ev: EraEvent, call: CallState | undefined): void {
    // Each listener gets a state object of its own: flows may edit what they receive.
    ev.call = call;
    try {
      listener.callback(ev);
    } catch (err) {
      this.report.warnOnce(`An event listener failed: ${messageOf(err)}`);
    }
  }
}
