/**
 * The platform's ban filter, mirrored in this process (era-platform.md §2.1). The platform
 * refuses an address for minutes after 5 failures from it within 3 minutes: refused logins,
 * and requests presenting a session or token it does not know. Each address the platform is
 * reached at has one budget here, shared by every client of the process (the server nodes,
 * Test connection, Check installation); it counts what the platform counts, and what is on
 * its way there, so that no set of clients can reach the 5th failure however they interleave.
 *
 * The rule: an attempt (a login, or a request presenting a session or token that may have
 * expired) may go while the failures of the last 3 minutes plus the attempts in flight are
 * fewer than 3 — or fewer than 4 for credentials (a password, a token) not refused in that
 * window, so that a redeploy with corrected credentials gets its try and the platform still
 * counts at most 4. A login accepted with credentials clears the count, as the platform does.
 */
import { createHash, randomBytes } from 'node:crypto';

const WINDOW_MS = 180_000;
const LIMIT = 3;
const NEW_CREDENTIALS_LIMIT = 4;
/** A ban still on when its wait ends doubles the next wait, up to this. */
const MAX_BAN_WAIT_MS = 30 * 60_000;

/** `credentials`: a password or a token, which the platform either takes or refuses; `session`: a session id. */
export type AttemptKind = 'credentials' | 'session';

export interface Attempt {
  kind: AttemptKind;
  /** Names the secret without keeping it (`fingerprint()`). */
  fingerprint: string;
}

export type CredentialsAttempt = Attempt & { kind: 'credentials' };

/**
 * How an attempt ended: `accepted` (credentials taken by a login: the count starts again),
 * `answered` (taken, or answered by anything but a refusal or a ban), `refused` (a failure the
 * platform counted), `unanswered` (nothing reached it, or nothing came back), or a ban.
 */
export type Outcome = 'accepted' | 'answered' | 'refused' | 'unanswered' | Ban;

export interface Ban {
  /** The platform's Retry-After, when it gave one. */
  retryAfterMs: number | undefined;
  /** Otherwise this long (the client's banWaitMs), doubled while bans follow each other. */
  baseMs: number;
}

const salt = randomBytes(16);

/** A name for a secret (or a set of them) that keeps nothing of it. */
export function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(salt).update(JSON.stringify(parts)).digest('base64');
}

interface Failure {
  at: number;
  fingerprint: string;
}

export class AddressBudget {
  private failures: Failure[] = [];
  private readonly inFlight = new Set<Reservation>();
  private bannedUntil = 0;
  private bans = 0;
  private readonly watchers = new Set<() => void>();

  banEndsAt(now: number): number {
    return this.bannedUntil > now ? this.bannedUntil : 0;
  }

  /** Failures within the window plus attempts in flight. */
  used(now: number): number {
    this.forgetOld(now);
    return this.failures.length + this.inFlight.size;
  }

  /** Whether these credentials were refused within the window. */
  refused(fp: string, now: number): boolean {
    this.forgetOld(now);
    return this.failures.some((f) => f.fingerprint === fp);
  }

  /** An attempt in flight with these credentials, whose answer is also theirs. */
  inFlightWith(fp: string): Reservation | undefined {
    for (const r of this.inFlight) if (r.attempt.kind === 'credentials' && r.attempt.fingerprint === fp) return r;
    return undefined;
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** How long until fewer than `limit` failures are left in the window (nothing in flight). */
  freeIn(limit: number, now: number): number {
    this.forgetOld(now);
    const oldestToGo = this.failures[this.failures.length - limit];
    return oldestToGo === undefined ? 0 : oldestToGo.at + WINDOW_MS - now;
  }

  /** Calls `watcher` once, at the next attempt that ends here. */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  add(r: Reservation): void {
    this.inFlight.add(r);
  }

  ended(r: Reservation, outcome: Outcome, now: number): void {
    this.inFlight.delete(r);
    this.record(r.attempt.fingerprint, outcome, now);
  }

  record(fp: string, outcome: Outcome, now: number): void {
    if (outcome === 'accepted') {
      this.failures = [];
      this.clearBan();
    } else if (outcome === 'answered') {
      this.clearBan();
    } else if (outcome === 'refused') {
      this.failures.push({ at: now, fingerprint: fp });
    } else if (outcome !== 'unanswered') {
      const wait = outcome.retryAfterMs ?? Math.min(MAX_BAN_WAIT_MS, outcome.baseMs * 2 ** Math.min(this.bans, 10));
      this.bans++;
      this.bannedUntil = Math.max(this.bannedUntil, now + wait);
    }
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const w of watchers) w();
  }

  private clearBan(): void {
    this.bannedUntil = 0;
    this.bans = 0;
  }

  private forgetOld(now: number): void {
    while (this.failures.length > 0 && now - this.failures[0]!.at >= WINDOW_MS) this.failures.shift();
  }
}

/** One attempt holding its place in the budgets of every address its host resolved to. */
export class Reservation {
  outcome: Outcome | undefined;

  constructor(
    readonly attempt: Attempt,
    private readonly budgets: readonly AddressBudget[],
  ) {
    for (const b of budgets) b.add(this);
  }

  /** The first call counts; later ones change nothing. */
  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    const now = Date.now();
    for (const b of this.budgets) b.ended(this, outcome, now);
  }
}

const budgets = new Map<string, AddressBudget>();

/** The process's budget for each key of `addressKeys()`. */
export function budgetsFor(keys: readonly string[]): AddressBudget[] {
  return keys.map((key) => {
    let budget = budgets.get(key);
    if (budget === undefined) {
      budget = new AddressBudget();
      budgets.set(key, budget);
    }
    return budget;
  });
}

/** What an attempt may count up to, given what these budgets hold now. */
export function limitFor(attempt: Attempt, held: readonly AddressBudget[], now: number): number {
  const fresh = attempt.kind === 'credentials' && !held.some((b) => b.refused(attempt.fingerprint, now));
  return fresh ? NEW_CREDENTIALS_LIMIT : LIMIT;
}
