/**
 * Platform subscriptions behind the listeners. Listeners without an objects filter share
 * one subscription whose `events` is the union of their patterns; listeners with the same
 * objects share another. Each subscription is renewed (same id) at 80% of the lifetime the
 * server granted, sent again after every reconnect, modified in place when its union
 * changes, deleted (`expires: 0`) when its last listener leaves, and retried with backoff
 * when the server refuses it.
 *
 * A redeploy closes a node and starts its successor a moment later. So a subscription grows at
 * once but shrinks (or goes) only after a linger, and a listener that leaves with a `key` (the
 * node's id) leaves a note behind: for the linger, the events it would have received are kept,
 * and a successor with the same key receives them first. Nothing the platform pushed meanwhile
 * is lost to the redeploy.
 */
import { randomUUID } from 'node:crypto';
import { Backoff } from '../util/backoff';
import { EraError } from '../errors';
import { compilePatterns, unionOf, type Pattern } from './patterns';
import { grantedExpires, subscribeParams, unsubscribeParams } from '../protocol/subscriptions';
import { replyError } from '../protocol/replies';
import type { CallState, EraEvent, JsonObject } from '../types';
import { messageOf } from '../util/text';

export interface ListenSpec {
  events: readonly string[];
  /** Subscriber ids for the platform's objects filter; empty or absent: everything the account may see. */
  objects?: readonly string[];
  /** Attach the call's state (`ev.call`) to the events this listener gets. */
  attachCall?: boolean;
  /**
   * Names the listener across a redeploy (a node's id): a successor with the same key, added
   * within the linger after this one left, first receives what arrived in between.
   */
  key?: string;
  /**
   * In a cluster of replicas, only the replica that claims an event delivers it here (see
   * claims.ts); other listeners (the call table's, era-wait's) get every event at once.
   */
  exclusive?: boolean;
  /**
   * Only keeps the events in the subscription, for the call table, which reads every event
   * before delivery: nothing is delivered to it.
   */
  passive?: boolean;
}

/** An event kept for later delivery, with the call's state as it was then. */
export interface KeptEvent {
  ev: EraEvent;
  call: CallState | undefined;
}

export interface Listener {
  readonly patterns: Pattern[];
  readonly attachCall: boolean;
  readonly exclusive: boolean;
  readonly passive: boolean;
  readonly callback: (ev: EraEvent) => void;
  readonly group: Group;
  readonly key: string | undefined;
  /** Events waiting for this listener to be ready: its predecessor's, then live ones, in order. */
  backlog: KeptEvent[] | undefined;
}

/** A listener that left with a key, and what it would have received since. */
export interface Departed {
  readonly key: string;
  readonly patterns: Pattern[];
  readonly attachCall: boolean;
  readonly exclusive: boolean;
  readonly until: number;
  readonly kept: KeptEvent[];
}

/** A departed listener keeps at most this many events for its successor. */
export const KEPT_MAX = 10_000;

export class Group {
  /** The subscription's id on the platform. */
  readonly id = randomUUID();
  readonly objects: readonly string[] | undefined;
  readonly objectSet: ReadonlySet<string> | undefined;
  listeners: Listener[] = [];
  /** Listeners that left with a key, within the linger; empty almost always. */
  departed: Departed[] = [];
  /** A shrink or deletion waiting out the linger. */
  lingerTimer: NodeJS.Timeout | undefined;
  /** The union of the listeners' patterns: what the subscription asks for. */
  events: string[] = [];
  patterns: Pattern[] = [];
  /** A subscribe went out on the current connection, so the platform may hold it. */
  onPlatform = false;
  /** Bumped on every send and on every drop, so that a stale reply changes nothing. */
  generation = 0;
  timer: NodeJS.Timeout | undefined;
  failure: string | undefined;
  readonly backoff: Backoff;

  constructor(
    readonly key: string,
    objects: readonly string[] | undefined,
    retryMinMs: number,
    retryMaxMs: number,
  ) {
    this.objects = objects;
    this.objectSet = objects === undefined ? undefined : new Set(objects);
    this.backoff = new Backoff(retryMinMs, retryMaxMs);
  }
}

/** What the subscriptions need from the socket. */
export interface SubscriptionTransport {
  readonly open: boolean;
  request(method: string, params: JsonObject): Promise<JsonObject>;
}

export interface SubscriptionSettings {
  expires: number;
  /** How long a subscription outlives its last listener, and a departed listener's events are kept. */
  lingerMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export interface SubscriptionReporter {
  debug(msg: string): void;
  /** Called once per distinct problem. */
  warnOnce(msg: string): void;
  /** A subscription is failing (a sentence), or all are fine again (undefined). */
  problem(detail: string | undefined): void;
  /** A listener took over a departed one's kept events: deliver them soon. */
  adopted(listener: Listener): void;
}

/** The longest wait before a renewal: a day, well within what setTimeout can hold. */
const MAX_RENEWAL_MS = 24 * 60 * 60 * 1000;

function describe(group: Group): string {
  const events = group.events.join(', ');
  return group.objects === undefined ? events : `${events} for ${group.objects.join(', ')}`;
}

/** Objects as a canonical list: trimmed, without blanks and repeats, sorted. */
function normaliseObjects(objects: readonly string[] | undefined): string[] | undefined {
  if (objects === undefined) return undefined;
  const set = new Set<string>();
  for (const o of objects) {
    if (typeof o !== 'string' && typeof o !== 'number') {
      throw new EraError('ERA_INVALID_INPUT', 'Subscription objects must be subscriber ids (text or numbers)');
    }
    const text = String(o).trim();
    if (text !== '') set.add(text);
  }
  return set.size === 0 ? undefined : [...set].sort();
}

export class Subscriptions {
  private readonly groups = new Map<string, Group>();
  private readonly ids = new Map<string, Group>();
  /** The groups as an array, for the dispatcher's per-event loop. */
  all: Group[] = [];
  private listenerCount = 0;

  constructor(
    private readonly transport: SubscriptionTransport,
    private readonly settings: SubscriptionSettings,
    private readonly report: SubscriptionReporter,
  ) {}

  get size(): number {
    return this.listenerCount;
  }

  byId(id: string): Group | undefined {
    return this.ids.get(id);
  }

  /** Adds a listener (throws ERA_INVALID_INPUT for bad patterns or objects). */
  add(spec: ListenSpec, callback: (ev: EraEvent) => void): Listener {
    const patterns = compilePatterns(spec.events);
    const objects = normaliseObjects(spec.objects);
    const key = objects === undefined ? '' : objects.join('\n');
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new Group(key, objects, this.settings.retryMinMs, this.settings.retryMaxMs);
      this.groups.set(key, group);
      this.ids.set(group.id, group);
      this.all = [...this.groups.values()];
    }
    const name = typeof spec.key === 'string' && spec.key !== '' ? spec.key : undefined;
    const listener: Listener = {
      patterns, attachCall: spec.attachCall === true, exclusive: spec.exclusive === true, passive: spec.passive === true, callback, group, key: name, backlog: undefined,
    };
    const predecessor = name === undefined ? -1 : group.departed.findIndex((d) => d.key === name && d.until > Date.now());
    if (predecessor >= 0) {
      listener.backlog = group.departed[predecessor]!.kept;
      group.departed = group.departed.filter((_, i) => i !== predecessor);
    }
    group.listeners = [...group.listeners, listener];
    this.listenerCount++;
    this.changed(group, true);
    if (listener.backlog !== undefined) this.report.adopted(listener);
    return listener;
  }

  remove(listener: Listener): void {
    const group = listener.group;
    const before = group.listeners.length;
    // A new array, not a splice: a dispatch in progress keeps iterating the old one.
    group.listeners = group.listeners.filter((l) => l !== listener);
    if (group.listeners.length === before) return;
    this.listenerCount--;
    if (listener.key !== undefined && this.settings.lingerMs > 0) {
      // Whatever it had not received yet is its successor's too.
      const kept = listener.backlog ?? [];
      listener.backlog = undefined;
      group.departed = [
        ...group.departed.filter((d) => d.key !== listener.key),
        { key: listener.key, patterns: listener.patterns, attachCall: listener.attachCall, exclusive: listener.exclusive, until: Date.now() + this.settings.lingerMs, kept },
      ];
    }
    // A successor may come within the linger: keep the subscription as it is until then.
    if (this.settings.lingerMs > 0) {
      group.lingerTimer ??= setTimeout(() => this.lingerEnded(group), this.settings.lingerMs);
      group.lingerTimer.unref();
    } else {
      this.lingerEnded(group);
    }
  }

  /** The linger after a listener left is over: drop what no successor took, shrink or delete. */
  private lingerEnded(group: Group): void {
    clearTimeout(group.lingerTimer);
    group.lingerTimer = undefined;
    const now = Date.now();
    group.departed = group.departed.filter((d) => d.until > now);
    if (group.departed.length > 0) {
      group.lingerTimer = setTimeout(() => this.lingerEnded(group), Math.max(1, Math.min(...group.departed.map((d) => d.until)) - now));
      group.lingerTimer.unref();
    }
    if (group.listeners.length > 0) {
      this.changed(group, false);
      return;
    }
    if (group.departed.length > 0 || this.groups.get(group.key) !== group) return;
    this.groups.delete(group.key);
    this.ids.delete(group.id);
    this.all = [...this.groups.values()];
    this.settle(group);
    if (group.failure !== undefined) this.reportProblems();
    if (this.transport.open && group.onPlatform) {
      this.transport.request('subscribe', unsubscribeParams(group.id)).catch(() => undefined);
    }
  }

  /** The socket is open (again): every subscription is sent afresh. Resolves when all were answered. */
  async opened(): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const group of this.groups.values()) {
      group.onPlatform = false;
      group.backoff.reset();
      sends.push(this.send(group));
    }
    await Promise.all(sends);
  }

  /** The socket closed: the platform forgot every subscription; stop their timers. */
  dropped(): void {
    for (const group of this.groups.values()) {
      this.settle(group);
      group.onPlatform = false;
    }
  }

  /** Deletes every subscription on the platform, waiting at most `timeoutMs` for the answers. */
  async deleteAll(timeoutMs: number): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups.clear();
    this.ids.clear();
    this.all = [];
    this.listenerCount = 0;
    for (const group of groups) {
      this.settle(group);
      clearTimeout(group.lingerTimer);
      group.lingerTimer = undefined;
      group.departed = [];
      group.listeners = []; // so that a handle closed afterwards finds nothing to remove
    }
    if (!this.transport.open) return;
    const deletes = groups
      .filter((g) => g.onPlatform)
      .map((g) => this.transport.request('subscribe', unsubscribeParams(g.id)).catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(deletes),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Stops a group's timer and makes any reply in flight stale. */
  private settle(group: Group): void {
    clearTimeout(group.timer);
    group.timer = undefined;
    group.generation++;
  }

  /** Recomputes a group's union; `growOnly` while a linger runs: nothing it still asks for is dropped. */
  private changed(group: Group, growOnly = group.lingerTimer !== undefined): void {
    const all: Pattern[] = [];
    for (const l of group.listeners) all.push(...l.patterns);
    if (growOnly) all.push(...group.patterns);
    const events = unionOf(all);
    if (events.join(',') === group.events.join(',')) return;
    group.events = events;
    group.patterns = compilePatterns(events);
    if (this.transport.open) void this.send(group);
  }

  private async send(group: Group): Promise<void> {
    this.settle(group);
    if (!this.transport.open) return; // opened() sends everything again
    const generation = group.generation;
    const asked = this.settings.expires;
    group.onPlatform = true;
    let reply: JsonObject;
    try {
      reply = await this.transport.request('subscribe', subscribeParams(group.id, group.events, group.objects, asked));
    } catch (err) {
      if (generation !== group.generation || !this.transport.open) return;
      this.failed(group, `the event subscription (${describe(group)}) failed: ${messageOf(err)}`);
      return;
    }
    if (generation !== group.generation) return;
    const error = replyError(reply, true);
    if (error !== undefined) {
      const code = error.code === undefined ? '' : ` (code ${error.code})`;
      this.failed(group, `the platform refused the event subscription (${describe(group)}): ${error.message}${code}`);
      return;
    }
    group.backoff.reset();
    const granted = grantedExpires(reply, asked);
    this.report.debug(`subscription ${group.events.join(',')} active for ${granted} s`);
    // setTimeout fires at once for more than 2^31 - 1 ms: renew at least daily instead.
    group.timer = setTimeout(() => void this.send(group), Math.min(granted * 800, MAX_RENEWAL_MS));
    if (group.failure !== undefined) {
      group.failure = undefined;
      this.reportProblems();
    }
  }

  /** `failure`: a sentence for the state detail, which starts lower-case. */
  private failed(group: Group, failure: string): void {
    group.failure = failure;
    this.report.warnOnce(`${failure[0]!.toUpperCase()}${failure.slice(1)}; retrying`);
    this.reportProblems();
    group.timer = setTimeout(() => void this.send(group), group.backoff.next());
  }

  private reportProblems(): void {
    for (const group of this.groups.values()) {
      if (group.failure !== undefined) {
        this.report.problem(group.failure);
        return;
      }
    }
    this.report.problem(undefined);
  }
}
