/**
 * The subscriptions of one WebSocket (era-platform.md §4): created, renewed, modified and
 * deleted by `subscribe`, and gone when their lifetime runs out without a renewal.
 */
import { badRequest } from './errors';
import type { SubscriptionId, SubscriptionInfo } from './types';

export interface SubscribeParams {
  id?: unknown;
  events?: unknown;
  objects?: unknown;
  expires?: unknown;
}

/** What a subscription is matched against: the event's `class.type` and its call's numbers. */
export interface Matchable {
  key: string;
  numbers: readonly string[];
}

/** Lifetime of a new subscription that did not say how long it wants to live. */
const DEFAULT_EXPIRES_S = 300;

export class Subscription {
  /** The id as JSON, ready to be pasted into push frames. */
  readonly idJson: string;
  events: string[] = [];
  objects: Set<string> | null = null;
  expiresAt = 0;
  /** Seconds granted last time; a renewal that leaves out `expires` gets them again. */
  lifetimeS = 0;
  timer: NodeJS.Timeout | undefined;
  private patterns: RegExp[] = [];
  /** Event keys are few (a couple of dozen types), so each answer is computed once. */
  private readonly verdicts = new Map<string, boolean>();

  constructor(readonly id: SubscriptionId) {
    this.idJson = JSON.stringify(id);
  }

  setEvents(events: string[]): void {
    this.events = events;
    this.patterns = events.map(globToRegExp);
    this.verdicts.clear();
  }

  matches(event: Matchable): boolean {
    let verdict = this.verdicts.get(event.key);
    if (verdict === undefined) {
      verdict = this.patterns.some((p) => p.test(event.key));
      this.verdicts.set(event.key, verdict);
    }
    if (!verdict) return false;
    if (this.objects === null) return true;
    for (const n of event.numbers) if (this.objects.has(n)) return true;
    return false;
  }
}

export class SubscriptionSet {
  private readonly byId = new Map<string, Subscription>();

  constructor(
    readonly connectionId: string,
    private readonly maxExpiresS: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<Subscription> {
    return this.byId.values();
  }

  /**
   * Apply one `subscribe` request. Returns the granted lifetime in seconds (0 = deleted).
   */
  subscribe(params: SubscribeParams): number {
    const { id } = params;
    if (typeof id !== 'string' && typeof id !== 'number') throw badRequest('subscribe needs an "id" (string or number)');
    const key = JSON.stringify(id);
    const existing = this.byId.get(key);

    const expires = params.expires ?? (existing ? undefined : DEFAULT_EXPIRES_S);
    if (expires !== undefined && (typeof expires !== 'number' || !Number.isFinite(expires) || expires < 0)) {
      throw badRequest('"expires" must be a number of seconds, 0 or more');
    }
    if (expires === 0) {
      if (existing) this.remove(key, existing);
      return 0;
    }

    const events = params.events === undefined ? undefined : parseStrings(params.events, 'events');
    if (!existing && (events === undefined || events.length === 0)) throw badRequest('a new subscription needs "events"');
    const objects = params.objects === undefined ? undefined : parseStrings(params.objects, 'objects');

    const sub = existing ?? new Subscription(id);
    if (events !== undefined && events.length > 0) sub.setEvents(events);
    if (objects !== undefined) sub.objects = objects.length === 0 ? null : new Set(objects);
    const granted = Math.min(expires ?? sub.lifetimeS, this.maxExpiresS);
    this.arm(key, sub, granted);
    this.byId.set(key, sub);
    return granted;
  }

  info(): SubscriptionInfo[] {
    return [...this.byId.values()].map((s) => ({
      connectionId: this.connectionId,
      id: s.id,
      events: [...s.events],
      objects: s.objects === null ? [] : [...s.objects],
      expiresAt: s.expiresAt,
    }));
  }

  clear(): void {
    for (const sub of this.byId.values()) clearTimeout(sub.timer);
    this.byId.clear();
  }

  /** Real timers: an unrenewed subscription stops delivering when its lifetime is over. */
  private arm(key: string, sub: Subscription, seconds: number): void {
    clearTimeout(sub.timer);
    // setTimeout cannot wait longer than 2^31-1 ms; no test or client asks for 24 days.
    const ms = Math.min(seconds * 1000, 2 ** 31 - 1);
    sub.lifetimeS = seconds;
    sub.expiresAt = Date.now() + ms;
    sub.timer = setTimeout(() => this.remove(key, sub), ms);
  }

  private remove(key: string, sub: Subscription): void {
    clearTimeout(sub.timer);
    if (this.byId.get(key) === sub) this.byId.delete(key);
  }
}

function parseStrings(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw badRequest(`"${name}" must be an array of strings`);
  }
  return value.map(String);
}

/** `callevents.*`, `*.dlg_*`, `*`: `*` stands for any run of characters. */
function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`);
}
