/**
 * One client's door to the ban budgets of its platform's address (ban-budget.ts): it resolves
 * the host, holds an attempt's place before it is sent, waits while other attempts to the same
 * address are in flight, and says in words why something may not go now — a ban the platform
 * imposed (waited out to its end, Retry-After honoured), or a budget spent by recent failures.
 */
import { EraError } from '../errors';
import { seconds } from '../util/text';
import { addressKeys } from './address';
import type { Until } from './rest';
import { heldFor, recordBan, type AddressBudget, type Attempt, type CredentialsAttempt, type Held, type Outcome, Reservation } from './ban-budget';

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
  /** The budgets and ban records of the addresses the host resolved to last; none before the first attempt. */
  private held: Held = { budgets: [], bans: [] };
  private readonly host: string;
  private readonly port: string;

  constructor(
    private readonly origin: URL,
    private readonly o: BanGuardOptions,
  ) {
    this.host = origin.host;
    this.port = origin.port || (origin.protocol === 'https:' ? '443' : '80');
  }

  /** When the platform's ban of this address should end (ms timestamp); 0 when none is known. */
  banEndsAt(now = Date.now()): number {
    let end = 0;
    for (const b of this.held.bans) end = Math.max(end, b.endsAt(now));
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
   * (every login does; a session's check may use the last answer). `until`: the deadline of the
   * request that waits (epoch ms), past which it throws `late()` instead, holding no place.
   */
  reserve(attempt: CredentialsAttempt, resolveAgain: boolean): Promise<Reservation | 'refused'>;
  reserve(attempt: Attempt, resolveAgain: boolean, until?: Until): Promise<Reservation | 'refused' | 'no room'>;
  async reserve(attempt: Attempt, resolveAgain: boolean, until?: Until): Promise<Reservation | 'refused' | 'no room'> {
    if (resolveAgain || this.held.budgets.length === 0) this.held = heldFor(await addressKeys(this.origin, this.o.timeoutMs), this.port);
    const held = this.held;
    const budgets = held.budgets;
    const own = Date.now() + this.o.timeoutMs;
    const deadline = until === undefined ? own : Math.min(own, until.deadline);
    // The request's own time ends first (or with the guard's, as a default timeout does): its failure, its words.
    const late = until !== undefined && until.deadline <= own ? until.late : undefined;
    for (;;) {
      this.assertOpen();
      const now = Date.now();
      const ban = this.banRefusal(now);
      if (ban) throw ban;
      const same = attempt.kind === 'credentials' ? firstDefined(budgets, (b) => b.inFlightWith(attempt.fingerprint)) : undefined;
      if (same === undefined) {
        const full = fullest(attempt, budgets, now);
        if (full === undefined) return new Reservation(attempt, held);
        if (!budgets.some((b) => b.busy)) {
          if (attempt.kind === 'session') return 'no room';
          throw this.spent(budgets, full, now);
        }
      }
      await this.nextSettled(budgets, deadline, late);
      if (same?.outcome === 'refused') return 'refused';
    }
  }

  /**
   * A place for `attempt` now, or none: while a ban lasts, before the host was ever resolved,
   * or when the budgets are full. For what may be skipped (a logout), so it never waits.
   */
  reserveNow(attempt: Attempt): Reservation | undefined {
    const now = Date.now();
    if (this.held.budgets.length === 0 || this.banEndsAt(now) > 0 || fullest(attempt, this.held.budgets, now) !== undefined) return undefined;
    return new Reservation(attempt, this.held);
  }

  /**
   * Something presented outside a reservation was refused (a request in flight when the
   * session expired). `spilled`: an earlier answer had already shown the session stale.
   */
  refused(attempt: Attempt, spilled: boolean): void {
    this.record(attempt, 'refused', spilled);
  }

  /** A ban met outside a reservation (an ordinary request's answer). */
  banned(retryAfterMs: number | undefined): void {
    this.record({ kind: 'session', fingerprint: '' }, { retryAfterMs, baseMs: this.o.banWaitMs }, false);
    this.o.onBan();
  }

  /** A ban as a reservation's outcome. */
  banOutcome(retryAfterMs: number | undefined): Outcome {
    return { retryAfterMs, baseMs: this.o.banWaitMs };
  }

  private record(attempt: Attempt, outcome: Outcome, spilled: boolean): void {
    const now = Date.now();
    const certain = this.held.budgets.length === 1;
    for (const b of this.held.budgets) b.record(attempt.fingerprint, outcome, now, { certain, spilled });
    recordBan(this.held, outcome, now, certain);
  }

  private assertOpen(): void {
    if (this.o.closing.aborted) throw new EraError('ERA_NOT_CONNECTED', 'The Era client is closed');
  }

  /** Resolves when an attempt in flight at one of these addresses ends; throws at the deadline or on close. */
  private nextSettled(held: readonly AddressBudget[], deadline: number, late: (() => EraError) | undefined): Promise<void> {
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
      const timer = setTimeout(() => finish(late?.() ?? new EraError('ERA_TIMEOUT',
        `No answer from ${this.host} within ${seconds(this.o.timeoutMs)} to the logins already on their way, so nothing more was sent`)), Math.max(0, deadline - Date.now()));
      this.o.closing.addEventListener('abort', closed);
      for (const b of held) unwatch.push(b.watch(() => finish()));
    });
  }

  private spent(held: readonly AddressBudget[], full: Full, now: number): EraError {
    const wait = Math.max(...held.map((b) => b.freeIn(full.limit, now)));
    return new EraError('ERA_AUTH_FAILED', `Not logging in to ${this.host} again for ${minutesAndSeconds(wait)}: ${full.used} failed logins or stale sessions from this address in the last 3 minutes, and the platform bans an address after 5`);
  }
}

interface Full {
  used: number;
  limit: number;
}

/** The budget with no room left for `attempt` (what it holds, and its limit), or undefined when every one has room. */
function fullest(attempt: Attempt, held: readonly AddressBudget[], now: number): Full | undefined {
  let full: Full | undefined;
  for (const b of held) {
    const used = b.used(attempt, now);
    const limit = b.limit(attempt, now);
    if (used >= limit && (full === undefined || used > full.used)) full = { used, limit };
  }
  return full;
}

function firstDefined<T, R>(items: readonly T[], pick: (item: T) => R | undefined): R | undefined {
  for (const item of items) {
    const found = pick(item);
    if (found !== undefined) return found;
  }
  return undefined;
}
