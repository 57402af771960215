/**
 * A webhook registration's life on the platform (era-platform.md §8a): created for a URL and
 * the classes asked for, renewed at 80% of the lifetime granted (webhooks lapse like socket
 * subscriptions), re-created when a renewal is refused or lost — a lapse, after which the
 * events of the gap must be reconciled. Failures are retried with backoff and reported with the
 * platform's words; its owner deletes it when it goes for good.
 */
import { Backoff } from '../util/backoff';
import { EraError } from '../errors';
import { compilePatterns, matchesAny } from './patterns';
import { MAX_TIMER_MS } from '../util/timers';
import { WEBHOOK_CLASSES, webhookAnswer, webhookCreateRequest, webhookDeleteRequest, webhookRenewRequest, type WebhookSpec } from '../protocol/webhooks';
import { type PlatformRequest } from '../protocol/paths';
import { messageOf } from '../util/text';

/** Renewal at this share of the lifetime granted, as for subscriptions. */
const RENEW_AT = 0.8;

export type RegistrationState =
  | { kind: 'registering' }
  | { kind: 'registered'; id: string; expiresAt: number }
  /** `refused`: the platform answered no (its words in `message`); else it could not be reached. */
  | { kind: 'failed'; refused: boolean; message: string };

export interface RegistrationDeps {
  /** A REST request with the client's credentials; throws EraError for anything but 2xx. */
  send(req: PlatformRequest): Promise<{ body: unknown }>;
  spec: WebhookSpec;
  retryMinMs: number;
  retryMaxMs: number;
  /** Hides the webhook's secret (it rides in the URL) in anything shown. */
  redact(text: string): string;
  state(state: RegistrationState): void;
  /** The webhook was gone for a while (a renewal refused or lost): deliveries may be missing. */
  lapsed(): void;
  debug(msg: string): void;
}

/**
 * The classes to subscribe for a node's event patterns: each exact class once; a glob class
 * (`*`, `call*`) stands for the documented classes it matches.
 */
export function webhookClasses(patterns: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of compilePatterns(patterns)) {
    if (typeof p.cls === 'string') out.add(p.cls);
    else for (const cls of WEBHOOK_CLASSES) if (matchesAny([p], cls, 'x')) out.add(cls);
  }
  return [...out];
}

/** `HTTP 403: <the platform's words>` out of a client error's sentence, for a short status. */
function platformWords(err: EraError): string {
  if (err.statusCode === undefined) return err.message;
  const words = err.message.replace(/^.*?HTTP \d{3}\)?:?\s*/, '');
  return words === '' ? `HTTP ${err.statusCode}` : `HTTP ${err.statusCode}: ${words}`;
}

export class WebhookRegistration {
  private id: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  /** `keptId`: a webhook this owner registered before (a redeploy): renewed rather than created again. */
  constructor(
    private readonly deps: RegistrationDeps,
    keptId?: string,
  ) {
    this.id = keptId;
    this.backoff = new Backoff(deps.retryMinMs, deps.retryMaxMs);
  }

  start(): void {
    this.deps.state({ kind: 'registering' });
    if (this.id === undefined) void this.create(false);
    else void this.renew();
  }

  /** Stops renewing; returns the webhook's id, for a successor to renew. The webhook stays. */
  stop(): string | undefined {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.id;
  }

  private async create(afterLapse: boolean): Promise<void> {
    const { spec } = this.deps;
    try {
      const res = await this.deps.send(webhookCreateRequest(spec));
      const answer = webhookAnswer(res.body, spec.expires);
      if (this.stopped) {
        // Created while its owner went: nobody would renew it, and a successor makes its own.
        if (!('error' in answer) && answer.id !== undefined) await this.deleteQuietly(answer.id);
        return;
      }
      if ('error' in answer) throw new EraError('ERA_HTTP', `The platform refused the webhook: ${answer.error.message}`);
      if (answer.id === undefined) throw new EraError('ERA_HTTP', 'The platform\'s answer to creating the webhook names no id');
      this.id = answer.id;
      this.registered(answer.expires);
      this.deps.debug(`webhook ${answer.id} registered for ${answer.expires} s`);
      if (afterLapse) this.deps.lapsed();
    } catch (err) {
      if (this.stopped) return;
      this.failed(err);
      this.later(() => void this.create(afterLapse), this.backoff.next());
    }
  }

  /** A renewal refused or lost is a lapse: the old webhook goes (best-effort), a new one comes. */
  private async renew(): Promise<void> {
    const id = this.id;
    if (id === undefined) return;
    const { spec } = this.deps;
    try {
      const res = await this.deps.send(webhookRenewRequest(id, spec));
      if (this.stopped) return;
      const answer = webhookAnswer(res.body, spec.expires);
      if ('error' in answer) throw new EraError('ERA_HTTP', `The platform refused to renew the webhook: ${answer.error.message}`);
      if (answer.id !== undefined) this.id = answer.id;
      this.registered(answer.expires);
    } catch (err) {
      if (this.stopped) return;
      this.deps.debug(`renewing webhook ${id} failed (${this.deps.redact(messageOf(err))}); creating it again`);
      this.id = undefined;
      if (!(err instanceof EraError && err.code === 'ERA_NOT_FOUND')) await this.deleteQuietly(id);
      if (!this.stopped) await this.create(true);
    }
  }

  private registered(expires: number): void {
    this.backoff.reset();
    const id = this.id as string;
    this.deps.state({ kind: 'registered', id, expiresAt: Date.now() + expires * 1000 });
    this.later(() => void this.renew(), Math.min(expires * 1000 * RENEW_AT, MAX_TIMER_MS));
  }

  private failed(err: unknown): void {
    const refused = err instanceof EraError && err.statusCode !== undefined;
    const message = err instanceof EraError ? (refused ? platformWords(err) : err.message) : String(err);
    this.deps.state({ kind: 'failed', refused, message: this.deps.redact(message) });
  }

  private later(fn: () => void, ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) fn();
    }, ms);
    this.timer.unref();
  }

  private async deleteQuietly(id: string): Promise<void> {
    try {
      await this.deps.send(webhookDeleteRequest(id));
      this.deps.debug(`webhook ${id} deleted`);
    } catch (err) {
      this.deps.debug(`deleting webhook ${id} failed: ${this.deps.redact(messageOf(err))}`);
    }
  }
}
