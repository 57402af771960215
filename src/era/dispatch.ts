/**
 * Decoded event → call table → subscription group(s) → listeners. The platform sends an
 * event once per matching subscription, so each event id is remembered (the last 10,000,
 * O(1) per event) together with the groups it already reached: every listener gets it
 * once, in arrival order, and the call table applies it once.
 */
import { SUPPRESSED, snapshot, type CallTable } from './calls';
import { matchesAny } from './patterns';
import { eventNamesParty, type ListedCall, type UndecodableReason } from './protocol';
import { KEPT_MAX, type Group, type KeptEvent, type Listener, type Subscriptions } from './subscriptions';
import type { CallState, EraEvent } from './types';

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
class SeenEvents {
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
      if (listener.backlog !== undefined) this.keep(listener.backlog, ev, listener.attachCall, call);
      else this.deliver(listener, ev, listener.attachCall && call !== undefined ? snapshot(call) : undefined);
    }
    const departed = group.departed;
    for (let i = 0; i < departed.length; i++) {
      const d = departed[i]!;
      if (matchesAny(d.patterns, ev.class, ev.type)) this.keep(d.kept, ev, d.attachCall, call);
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
      for (const kept of backlog) this.deliver(listener, kept.ev, kept.call);
    });
  }

  private keep(into: KeptEvent[], ev: EraEvent, attachCall: boolean, call: CallState | undefined): void {
    if (into.length >= KEPT_MAX) {
      this.report.warnOnce(`More than ${KEPT_MAX} events arrived while a node was being redeployed; later ones were not kept for it`);
      return;
    }
    into.push({ ev: { ...ev, call: undefined }, call: attachCall && call !== undefined ? snapshot(call) : undefined });
  }

  /** `call`: this listener's own copy of the call's state, or undefined. */
  private deliver(listener: Listener, ev: EraEvent, call: CallState | undefined): void {
    // Each listener gets a state object of its own: flows may edit what they receive.
    ev.call = call;
    try {
      listener.callback(ev);
    } catch (err) {
      this.report.warnOnce(`An event listener failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
