/**
 * Decoded event → call table → subscription group(s) → listeners. The platform sends an
 * event once per matching subscription, so each event id is remembered (the last 10,000,
 * O(1) per event) together with the groups it already reached: every listener gets it
 * once, in arrival order, and the call table applies it once.
 */
import { SUPPRESSED, snapshot, type CallTable } from '../calls/table';
import type { ClaimQueue } from './claims';
import { matchesAny } from './patterns';
import { eventNamesParty } from '../protocol/call-events';
import { type ListedCall } from '../protocol/call-list';
import { type UndecodableReason } from '../protocol/frames';
import { KEPT_MAX, type Group, type KeptEvent, type Listener, type Subscriptions } from './subscriptions';
import type { CallState, EraEvent } from '../types';
import { messageOf } from '../util/text';

export interface DispatchCounters {
  decoded: number;
  undecodable: number;
  duplicates: number;
}

export interface DispatchReporter {
  /** Warns once per `key` (by default the message itself). */
  warnOnce(msg: string, key?: string): void;
}

const REMEMBERED_EVENTS = 10_000;

/** Which groups each recent event id reached: null for none yet, else one group or several. */
export class SeenEvents {
  private readonly marks = new Map<string, Group | Group[] | null>();
  private readonly ring: Array<string | undefined> = new Array<string | undefined>(REMEMBERED_EVENTS);
  private next = 0;

  /** True the first time `id` is seen. */
  first(id: string): boolean {
    if (this.marks.has(id)) return false;
    const old = this.ring[this.next];
    if (old !== undefined) this.marks.delete(old);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % REMEMBERED_EVENTS;
    this.marks.set(id, null);
    return true;
  }

  /** True the first time `id` reaches `group` (`id` went through first() before). */
  reach(id: string, group: Group): boolean {
    const mark = this.marks.get(id);
    if (mark === undefined || mark === null) {
      this.marks.set(id, group);
      return true;
    }
    if (mark === group) return false;
    if (Array.isArray(mark)) {
      if (mark.includes(group)) return false;
      mark.push(group);
      return true;
    }
    this.marks.set(id, [mark, group]);
    return true;
  }
}

function callNamesParty(call: CallState | undefined, objects: ReadonlySet<string>): boolean {
  return call !== undefined && ((call.from !== undefined && objects.has(call.from)) || (call.to !== undefined && objects.has(call.to)));
}

export class Dispatcher {
  private readonly seen = new SeenEvents();

  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly calls: CallTable,
    private readonly counters: DispatchCounters,
    private readonly report: DispatchReporter,
    /** Present in a cluster of replicas: exclusive listeners get an event once this replica claimed it. */
    private readonly claims?: ClaimQueue,
  ) {}

  /** A live event from the socket; `subscriptionId` as the envelope named it, if it did. */
  event(ev: EraEvent, subscriptionId: unknown): void {
    this.counters.decoded++;
    const id = ev.eventId;
    let call: CallState | undefined;
    if (id === undefined || this.seen.first(id)) {
      const applied = this.calls.apply(ev);
      if (applied === SUPPRESSED) {
        this.counters.duplicates++;
        return;
      }
      call = applied;
    } else if (ev.connectionId !== undefined) {
      call = this.calls.peek(ev.connectionId);
    }
    const group = typeof subscriptionId === 'string' ? this.subscriptions.byId(subscriptionId) : undefined;
    if (group !== undefined) this.toGroup(group, ev, id, call);
    else this.toMatchingGroups(ev, id, call);
  }

  /**
   * An event that came another way (a webhook): it feeds the call table once, whichever copy
   * (this one or the socket's) comes first, and reaches no listener. The call's live state
   * after it, or undefined when the event is not about a call the table knows.
   */
  ingest(ev: EraEvent): CallState | undefined {
    const id = ev.eventId;
    if (id === undefined || this.seen.first(id)) {
      const applied = this.calls.apply(ev);
      if (applied !== SUPPRESSED) return applied;
    }
    return ev.connectionId === undefined ? undefined : this.calls.peek(ev.connectionId);
  }

  /** An event made up after an outage; `listed` brings the call's phase in line with the platform's list. */
  replay(ev: EraEvent, listed?: ListedCall): void {
    const applied = this.calls.apply(ev);
    if (listed !== undefined) this.calls.align(listed);
    this.toMatchingGroups(ev, undefined, applied === SUPPRESSED ? undefined : applied);
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

  /** No subscription named: every group whose patterns (and objects, by party numbers) match. */
  private toMatchingGroups(ev: EraEvent, id: string | undefined, call: CallState | undefined): void {
    const groups = this.subscriptions.all;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      if (!matchesAny(group.patterns, ev.class, ev.type)) continue;
      const objects = group.objectSet;
      if (objects !== undefined && !eventNamesParty(ev.payload, objects) && !callNamesParty(call, objects)) continue;
      this.toGroup(group, ev, id, call);
    }
  }

  private toGroup(group: Group, ev: EraEvent, id: string | undefined, call: CallState | undefined): void {
    if (id !== undefined && !this.seen.reach(id, group)) {
      this.counters.duplicates++;
      return;
    }
    const listeners = group.listeners;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      if (!matchesAny(listener.patterns, ev.class, ev.type)) continue;
      if (listener.backlog !== undefined && listener.exclusive && this.claims !== undefined) this.keepClaimed(group, listener.key!, listener.attachCall, ev, call);
      else if (listener.backlog !== undefined) this.keep(listener.backlog, ev, listener.attachCall, call);
      else this.deliver(listener, ev, listener.attachCall && call !== undefined ? snapshot(call) : undefined);
    }
    const departed = group.departed;
    for (let i = 0; i < departed.length; i++) {
      const d = departed[i]!;
      if (!matchesAny(d.patterns, ev.class, ev.type)) continue;
      if (d.exclusive && this.claims !== undefined) this.keepClaimed(group, d.key, d.attachCall, ev, call);
      else this.keep(d.kept, ev, d.attachCall, call);
    }
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
      // An exclusive listener's kept events were claimed as they came (keepClaimed).
      for (const kept of backlog) this.deliver(listener, kept.ev, kept.call, listener.exclusive);
    });
  }

  private keep(into: KeptEvent[], ev: EraEvent, attachCall: boolean, call: CallState | undefined): void {
    this.store(into, { ev: { ...ev, call: undefined }, call: attachCall && call !== undefined ? snapshot(call) : undefined });
  }

  private store(into: KeptEvent[], kept: KeptEvent): void {
    if (into.length >= KEPT_MAX) {
      this.report.warnOnce(`More than ${KEPT_MAX} events arrived while a node was being redeployed; later ones were not kept for it`);
      return;
    }
    into.push(kept);
  }

  /**
   * Kept for an exclusive listener that is being redeployed (named `key`) only if this replica
   * wins the event, and in arrival order: the claim goes out now, and the event joins the kept
   * ones (or reaches the successor) when it is settled, after every earlier one.
   */
  private keepClaimed(group: Group, key: string, attachCall: boolean, ev: EraEvent, call: CallState | undefined): void {
    const kept: KeptEvent = { ev: { ...ev, call: undefined }, call: attachCall && call !== undefined ? snapshot(call) : undefined };
    this.claims!.submitEvent(ev, () => this.handOver(group, key, kept));
  }

  /** A claimed event for the listener named `key`, which left or was replaced while the claim was out. */
  private handOver(group: Group, key: string, kept: KeptEvent): void {
    const departed = group.departed.find((d) => d.key === key);
    if (departed !== undefined) {
      this.store(departed.kept, kept);
      return;
    }
    const successor = group.listeners.find((l) => l.key === key);
    if (successor?.backlog !== undefined) this.store(successor.backlog, kept);
    else if (successor !== undefined) this.deliver(successor, kept.ev, kept.call, true);
  }

  /** The claim of an event for `listener` is won: deliver it, or hand it to the listener's successor. */
  private claimWon(listener: Listener, ev: EraEvent, call: CallState | undefined): void {
    if (listener.group.listeners.includes(listener)) this.deliver(listener, ev, call, true);
    else if (listener.key !== undefined) this.handOver(listener.group, listener.key, { ev: { ...ev, call: undefined }, call });
  }

  /** `call`: this listener's own copy of the call's state, or undefined; `claimed`: this replica won the event. */
  private deliver(listener: Listener, ev: EraEvent, call: CallState | undefined, claimed = false): void {
    if (listener.exclusive && !claimed && this.claims !== undefined) {
      this.claims.submitEvent(ev, () => this.claimWon(listener, ev, call));
      return;
    }
    // Each listener gets a state object of its own: flows may edit what they receive.
    ev.call = call;
    try {
      listener.callback(ev);
    } catch (err) {
      this.report.warnOnce(`An event listener failed: ${messageOf(err)}`);
    }
  }
}
