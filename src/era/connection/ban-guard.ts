/**
 * One client's door to the ban budgets of its platform's address (ban-budget.ts): it resolves
 * the host, holds an attempt's place before it is sent, waits while other attempts to the same
 * address are in flight, and says in words why something may not go now — a ban the platform
 * imposed (waited out to its end, Retry-After honoured), or a budget spent by recent failures.
 */
import { EraError } from '../errors';
import { seconds } from '../util/text';
import { addressKeys } from './address';
import { budgetsFor, limitFor, type AddressBudget, type Attempt, type CredentialsAttempt, type Outcome, Reservation } from './ban-budget';

export interface BanGuardOptions {
  /** How long a ban is waited out when the platform does not say (doubled while bans follow each other). */
  banWaitMs: number;
  /** How long an attempt waits for its place (and for the host to resolve). */
  timeoutMs: number;
  /** Aborted when the client closes: whatever waits then fails. */
  closing: AbortSignal;
  /** Something of this client met a ban, known or new: its countdown shows. */
  onBan(): void;
}

/** "2:41" for a countdown a person reads. */
export function minutesAndSeconds(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

export class BanGuard {
  /** The budgets of the addresses the host resolved to last; none before the first attempt. */
  private held: AddressBudget[] = [];
  private readonly host: string;

  constructor(
    private readonly origin: URL,
    private readonly o: BanGuardOptions,
  ) {
    this.host = origin.host;
  }

  /** When the platform's ban of this address should end (ms timestamp); 0 when none is known. */
  banEndsAt(now = Date.now()): number {
    let end = 0;
    for (const b of this.held) end = Math.max(end, b.banEndsAt(now));
    return end;
  }

  /** The error anything bound for this address fails with while a ban lasts (its countdown shows); undefined when none. */
  banRefusal(now = Date.now()): EraError | undefined {
    const end = this.banEndsAt(now);
    if (end === 0) return undefined;
    this.o.onBan();
    return new EraError('ERA_NOT_CONNECTED', `${this.host} refuses this address after failed logins (a ban); trying again in ${minutesAndSeconds(end - now)}`);
  }

  /**
   * Holds a place for `attempt` in the budgets, waiting while attempts in flight fill them.
   * Resolves to 'refused' when the same credentials were in flight meanwhile and the platform
   * refused them: their answer is this attempt's too, and it is not sent; to 'no room' for a
   * session that recent failures leave no place for: it is not presented (a login with
   * credentials may still fit). Throws while a ban lasts, when recent failures leave
   * credentials no room, and when the client closes. `resolveAgain`: look the host up afresh
   * (every login does; a session's check may use the last answer).
   */
  reserve(attempt: CredentialsAttempt, resolveAgain: boolean): Promise<Reservation | 'refused'>;
  reserve(attempt: Attempt, resolveAgain: boolean): Promise<Reservation | 'refused' | 'no room'>;
  async reserve(attempt: Attempt, resolveAgain: boolean): Promise<Reservation | 'refused' | 'no room'> {
    if (resolveAgain || this.held.length === 0) this.held = budgetsFor(await addressKeys(this.origin, this.o.timeoutMs));
    const held = this.held;
    const deadline = Date.now() + this.o.timeoutMs;
    for (;;) {
      this.assertOpen();
      const now = Date.now();
      const ban = this.banRefusal(now);
      if (ban) throw ban;
      const same = attempt.kind === 'credentials' ? firstDefined(held, (b) => b.inFlightWith(attempt.fingerprint)) : undefined;
      if (same === undefined) {
        const limit = limitFor(attempt, held, now);
        const used = Math.max(...held.map((b) => b.used(now)));
        if (used < limit) return new Reservation(attempt, held);
        if (!held.some((b) => b.busy)) {
          if (attempt.kind === 'session') return 'no room';
          throw this.spent(held, used, limit, now);
        }
      }
      await this.nextSettled(held, deadline);
      if (same?.outcome === 'refused') return 'refused';
    }
  }

  /** Something presented outside a reservation was refused (a request in flight when the session expired). */
  refused(attempt: Attempt): void {
    this.record(attempt, 'refused');
  }

  /** A ban met outside a reservation (an ordinary request's answer). */
  banned(retryAfterMs: number | undefined): void {
    this.record({ kind: 'session', fingerprint: '' }, { retryAfterMs, baseMs: this.o.banWaitMs });
    this.o.onBan();
  }

  /** A ban as a reservation's outcome. */
  banOutcome(retryAfterMs: number | undefined): Outcome {
    return { retryAfterMs, baseMs: this.o.banWaitMs };
  }

  private record(attempt: Attempt, outcome: Outcome): void {
    const now = Date.now();
    for (const b of this.held) b.record(attempt.fingerprint, outcome, now);
  }

  private assertOpen(): void {
    if (this.o.closing.aborted) throw new EraError('ERA_NOT_CONNECTED', 'The Era client is closed');
  }

  /** Resolves when an attempt in flight at one of these addresses ends; throws at the deadline or on close. */
  private nextSettled(held: readonly AddressBudget[], deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const unwatch: Array<() => void> = [];
      const finish = (err?: EraError) => {
        clearTimeout(timer);
        this.o.closing.removeEventListener('abort', closed);
        for (const u of unwatch) u();
        if (err) reject(err);
        else resolve();
      };
      const closed = () => finish(new EraError('ERA_NOT_CONNECTED', 'The Era client is closed'));
      const timer = setTimeout(() => finish(new EraError('ERA_TIMEOUT',
        `No answer from ${this.host} within ${seconds(this.o.timeoutMs)} to the logins already on their way, so nothing more was sent`)), Math.max(0, deadline - Date.now()));
      this.o.closing.addEventListener('abort', closed);
      for (const b of held) unwatch.push(b.watch(() => finish()));
    });
  }

  private spent(held: readonly AddressBudget[], used: number, limit: number, now: number): EraError {
    const wait = Math.max(...held.map((b) => b.freeIn(limit, now)));
    return new EraError('ERA_AUTH_FAILED', `Not logging in to ${this.host} again for ${minutesAndSeconds(wait)}: ${used} failed logins or stale sessions from this address in the last 3 minutes, and the platform bans an address after 5`);
  }
}

function firstDefined<T, R>(items: readonly T[], pick: (item: T) => R | undefined): R | undefined {
  for (const item of items) {
    const found = pick(item);
    if (found !== undefined) return found;
  }
  return undefined;
}
