/**
 * Webhooks (era-platform.md §8a): registrations managed over REST with the integration
 * channel's token, each with a lifetime after which it is gone unless renewed (PUT), and the
 * deliveries: every event of a subscribed class is POSTed to each registered URL once (one
 * event per request, body `{"class", "type", "data", "eventts"}`), at most once — a failed
 * delivery is not tried again. Deliveries to one URL go over one keep-alive connection, one at
 * a time, so they arrive in the order the events happened unless a fault delays some. A URL
 * with user information (`https://user:password@host/...`) is sent with those as Basic
 * authentication, as an HTTP client does (and as a receiver behind `httpNodeAuth` needs).
 */
import { Pool } from 'undici';
import { badRequest, notFound, SimError } from './errors';
import type { FaultState } from './faults';
import { uuid } from './ids';
import type { JsonObject } from './reply';
import { TimerSet } from './timers';
import type { SimEvent, WebhookDelivery, WebhookInfo, WebhookStats } from './types';

/** Lifetime of a webhook created without `expires`, as for subscriptions. */
const DEFAULT_EXPIRES_S = 300;
/** Deliveries waiting for one URL beyond this are dropped: a receiver that stopped reading does not fill memory. */
const MAX_QUEUED = 10_000;
const DELIVERY_TIMEOUT_MS = 10_000;
const JUNK_BODY = '{"class":"callevents","type":<html>502 Bad Gateway</html>';

interface Registration {
  readonly id: string;
  url: URL;
  classes: Set<string>;
  lifetimeS: number;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
}

interface Target {
  pool: Pool;
  queued: number;
}

export interface WebhookHubDeps {
  faults: FaultState;
  /** Seconds; a longer lifetime asked for is granted this. */
  maxExpires: number;
  /** Every delivery's outcome (also the dropped ones). */
  delivered(delivery: WebhookDelivery): void;
}

/** A URL's user information, percent-decoded (left as written where it is not valid percent-encoding). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The headers of a delivery to `url`: Basic authentication from its user information, when it has some. */
function deliveryHeaders(url: URL): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (url.username !== '' || url.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`, 'utf8').toString('base64')}`;
  }
  return headers;
}

/** The body of one delivery: the documented event object. */
export function deliveryBody(event: SimEvent): string {
  return JSON.stringify({ class: event.class, type: event.type, data: event.data, eventts: event.data.eventts });
}

export class WebhookHub {
  private readonly registrations = new Map<string, Registration>();
  private readonly targets = new Map<string, Target>();
  private readonly timers = new TimerSet();
  private readonly counters: WebhookStats = { sent: 0, answered: 0, refused: 0, failed: 0, dropped: 0, duplicated: 0, delayed: 0, junk: 0 };
  /** Error diffusion of the share faults: exactly that share of deliveries, evenly spread. */
  private dropCarry = 0;
  private duplicateCarry = 0;
  private delayCarry = 0;

  constructor(private readonly deps: WebhookHubDeps) {}

  get stats(): WebhookStats {
    return { ...this.counters };
  }

  create(body: JsonObject): WebhookInfo {
    const refusal = this.deps.faults.takeWebhookCreateError();
    if (refusal) throw new SimError(refusal.status, 'webhook_refused', refusal.errormsg);
    const url = parseUrl(body.url);
    const classes = parseClasses(body.classes);
    const reg: Registration = { id: uuid(), url, classes, lifetimeS: 0, expiresAt: 0, timer: undefined };
    this.arm(reg, parseExpires(body.expires) ?? DEFAULT_EXPIRES_S);
    this.registrations.set(reg.id, reg);
    return info(reg);
  }

  get(id: string): WebhookInfo {
    return info(this.known(id));
  }

  /** A renewal (same id, fresh lifetime); the fields given replace the registration's. */
  update(id: string, body: JsonObject): WebhookInfo {
    const reg = this.known(id);
    const refusal = this.deps.faults.takeWebhookRenewError();
    if (refusal) throw new SimError(refusal.status, 'webhook_refused', refusal.errormsg);
    const url = body.url === undefined ? reg.url : parseUrl(body.url);
    const classes = body.classes === undefined ? reg.classes : parseClasses(body.classes);
    const expires = parseExpires(body.expires) ?? reg.lifetimeS;
    reg.url = url;
    reg.classes = classes;
    this.arm(reg, expires);
    return info(reg);
  }

  remove(id: string): void {
    const reg = this.known(id);
    clearTimeout(reg.timer);
    this.registrations.delete(id);
  }

  list(): WebhookInfo[] {
    return [...this.registrations.values()].map(info);
  }

  /** Forget every registration (also what a platform that lost them looks like to a client). */
  clear(): void {
    for (const reg of this.registrations.values()) clearTimeout(reg.timer);
    this.registrations.clear();
  }

  /** Sends `event` to every URL registered for its class, once per URL. */
  deliver(event: SimEvent): void {
    if (this.registrations.size === 0) return;
    let urls: Set<string> | undefined;
    const now = Date.now();
    for (const reg of this.registrations.values()) {
      // The expiry timer may be late while a burst keeps the loop busy; the deadline is not.
      if (reg.expiresAt <= now || !reg.classes.has(event.class)) continue;
      (urls ??= new Set()).add(reg.url.href);
    }
    if (urls === undefined) return;
    const body = deliveryBody(event);
    for (const url of urls) this.send(new URL(url), event, body);
  }

  async close(): Promise<void> {
    this.clear();
    this.timers.clear();
    const pools = [...this.targets.values()].map((t) => t.pool);
    this.targets.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }

  private send(url: URL, event: SimEvent, body: string): void {
    const faults = this.deps.faults;
    const report = (outcome: Omit<WebhookDelivery, 'url' | 'class' | 'type' | 'eventid'>): void =>
      this.deps.delivered({ url: url.href, class: event.class, type: event.type, eventid: event.data.eventid, ...outcome });
    const drop = faults.webhookDrop;
    if (drop !== undefined && (this.dropCarry += drop) >= 1) {
      this.dropCarry -= 1;
      this.counters.dropped++;
      report({ outcome: 'dropped' });
      return;
    }
    const junk = faults.takeWebhookJunk();
    const payload = junk ? JUNK_BODY : body;
    if (junk) this.counters.junk++;
    const duplicate = faults.webhookDuplicate;
    const copies = duplicate !== undefined && (this.duplicateCarry += duplicate) >= 1 ? 2 : 1;
    if (copies === 2) {
      this.duplicateCarry -= 1;
      this.counters.duplicated++;
    }
    const delay = faults.webhookDelay;
    const post = (): void => {
      for (let i = 0; i < copies; i++) this.post(url, payload, (outcome) => report({ ...outcome, junk, copy: i + 1 }));
    };
    if (delay !== undefined && (this.delayCarry += delay.share) >= 1) {
      this.delayCarry -= 1;
      this.counters.delayed++;
      this.timers.after(delay.ms, post);
    } else {
      post();
    }
  }

  private post(url: URL, body: string, done: (outcome: Pick<WebhookDelivery, 'outcome' | 'status' | 'error'>) => void): void {
    let target = this.targets.get(url.origin);
    if (target === undefined) {
      target = { pool: new Pool(url.origin, { connections: 1, pipelining: 1, headersTimeout: DELIVERY_TIMEOUT_MS, bodyTimeout: DELIVERY_TIMEOUT_MS }), queued: 0 };
      this.targets.set(url.origin, target);
    }
    if (target.queued >= MAX_QUEUED) {
      this.counters.dropped++;
      done({ outcome: 'dropped' });
      return;
    }
    const t = target;
    t.queued++;
    this.counters.sent++;
    t.pool
      .request({ method: 'POST', path: `${url.pathname}${url.search}`, headers: deliveryHeaders(url), body })
      .then(
        async (res): Promise<Pick<WebhookDelivery, 'outcome' | 'status' | 'error'>> => {
          await res.body.dump();
          return { outcome: res.statusCode >= 200 && res.statusCode < 300 ? 'answered' : 'refused', status: res.statusCode };
        },
        (err: unknown) => ({ outcome: 'failed' as const, error: err instanceof Error ? err.message : String(err) }),
      )
      .then((outcome) => {
        t.queued--;
        this.counters[outcome.outcome]++;
        done(outcome);
      });
  }

  private known(id: string): Registration {
    const reg = this.registrations.get(id);
    if (reg === undefined || reg.expiresAt <= Date.now()) throw notFound(`no webhook ${id}`);
    return reg;
  }

  /** Real timers: an unrenewed webhook stops delivering when its lifetime is over. */
  private arm(reg: Registration, seconds: number): void {
    const granted = Math.min(seconds, this.deps.maxExpires);
    const ms = Math.min(granted * 1000, 2 ** 31 - 1);
    clearTimeout(reg.timer);
    reg.lifetimeS = granted;
    reg.expiresAt = Date.now() + ms;
    reg.timer = setTimeout(() => {
      if (this.registrations.get(reg.id) === reg) this.registrations.delete(reg.id);
    }, ms);
  }
}

function info(reg: Registration): WebhookInfo {
  return { id: reg.id, url: reg.url.href, classes: [...reg.classes], expires: reg.lifetimeS, expiresAt: reg.expiresAt };
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string') throw badRequest('"url" must be the address to send events to');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`"url" is not an absolute URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('"url" must be http:// or https://');
  return url;
}

function parseClasses(value: unknown): Set<string> {
  if (!Array.isArray(value) || value.length === 0 || !value.every((c) => typeof c === 'string' && c !== '')) {
    throw badRequest('"classes" must be a non-empty array of event classes, e.g. ["callevents"]');
  }
  return new Set(value as string[]);
}

function parseExpires(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw badRequest('"expires" must be a positive number of seconds');
  return value;
}
