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
 * counts at most 4 — or fewer than 5 for credentials the platform accepted and has not refused
 * since: their login is what clears the platform's count, so others' typos do not hold back a
 * working server's re-login (should they have become wrong meanwhile, that login is the 5th
 * failure). A login accepted with credentials clears the count, as the platform does.
 *
 * A ban the platform answered with is kept per origin (the machine and its port): another port
 * may be another platform on the same machine, and if it is the same one its first request is
 * refused unprocessed and the ban is learnt there too.
 *
 * The budget lives in the process: a restarted Node-RED starts from nothing, while the
 * platform still remembers the failures of the last 3 minutes.
 */
import { createHash, randomBytes } from 'node:crypto';

const WINDOW_MS = 180_000;
const LIMIT = 3;
const NEW_CREDENTIALS_LIMIT = 4;
/** The platform's own threshold: what credentials it accepted may count up to. */
const ACCEPTED_CREDENTIALS_LIMIT = 5;
/** A new ban met after the wait for the previous one ended doubles the next wait, up to this. */
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
  /** Otherwise this long (the client's banWaitMs), doubled for each new ban while bans follow each other. */
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
  /**
   * Met by a request already on its way when an earlier answer showed its session stale: the
   * platform counted it, but a re-login of credentials it accepted must still go (it is what
   * ends the episode), so these do not hold that back.
   */
  spilled: boolean;
}

/**
 * Credentials the platform accepted and has not refused since, by whichever address: whether
 * they are right does not depend on the address that carried them, and their login is what
 * clears the count at any address.
 */
const accepted = new Set<string>();

export class AddressBudget {
  private failures: Failure[] = [];
  private readonly inFlight = new Set<Reservation>();
  private readonly watchers = new Set<() => void>();

  /** Failures within the window plus attempts in flight; spilled failures left out for credentials the platform accepted. */
  used(attempt: Attempt, now: number): number {
    this.forgetOld(now);
    const known = attempt.kind === 'credentials' && accepted.has(attempt.fingerprint);
    let counted = 0;
    for (const f of this.failures) if (!known || !f.spilled) counted++;
    return counted + this.inFlight.size;
  }

  /** What `attempt` may count up to here (see the rule above). */
  limit(attempt: Attempt, now: number): number {
    if (attempt.kind !== 'credentials') return LIMIT;
    if (accepted.has(attempt.fingerprint)) return ACCEPTED_CREDENTIALS_LIMIT;
    return this.refused(attempt.fingerprint, now) ? LIMIT : NEW_CREDENTIALS_LIMIT;
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

  ended(r: Reservation, outcome: Outcome, now: number, certain: boolean): void {
    this.inFlight.delete(r);
    this.record(r.attempt.fingerprint, outcome, now, { certain, spilled: false });
  }

  /**
   * `certain`: this is the one address the attempt can have gone to, so an acceptance here is
   * the platform clearing its count for it (a name with several addresses may have reached
   * another one, whose count the platform kept). `spilled`: see Failure.
   */
  record(fp: string, outcome: Outcome, now: number, how: { certain: boolean; spilled: boolean }): void {
    if (outcome === 'accepted') {
      accepted.add(fp);
      if (how.certain) this.failures = [];
    } else if (outcome === 'refused') {
      accepted.delete(fp);
      this.failures.push({ at: now, fingerprint: fp, spilled: how.spilled });
    }
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const w of watchers) w();
  }

  private forgetOld(now: number): void {
    while (this.failures.length > 0 && now - this.failures[0]!.at >= WINDOW_MS) this.failures.shift();
  }
}

/** A ban the platform answered with at one origin, and how long it is waited out. */
export class BanRecord {
  private until = 0;
  private count = 0;

  endsAt(now: number): number {
    return this.until > now ? this.until : 0;
  }

  /**
   * Every request in flight when the platform imposed a ban meets the same ban: only one met
   * after the wait for the previous one ended is a new ban, and only a new one doubles the wait.
   */
  met(ban: Ban, now: number): void {
    const known = this.until > now;
    if (!known) this.count++;
    const wait = ban.retryAfterMs ?? (known ? 0 : Math.min(MAX_BAN_WAIT_MS, ban.baseMs * 2 ** Math.min(this.count - 1, 10)));
    this.until = Math.max(this.until, now + wait);
  }

  /** The platform answered from this origin: no ban (any more). */
  clear(): void {
    this.until = 0;
    this.count = 0;
  }
}

/** What one resolution of a host holds: the budget of each address, the ban record of each origin. */
export interface Held {
  budgets: readonly AddressBudget[];
  bans: readonly BanRecord[];
}

/** One attempt holding its place in the budgets of every address its host resolved to. */
export class Reservation {
  outcome: Outcome | undefined;

  constructor(
    readonly attempt: Attempt,
    private readonly held: Held,
  ) {
    for (const b of held.budgets) b.add(this);
  }

  /** The first call counts; later ones change nothing. */
  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    const now = Date.now();
    const certain = this.held.budgets.length === 1;
    for (const b of this.held.budgets) b.ended(this, outcome, now, certain);
    recordBan(this.held, outcome, now, certain);
  }
}

/** What an outcome tells the ban records: a ban met, or (from the one address it can have gone to) none. */
export function recordBan(held: Held, outcome: Outcome, now: number, certain: boolean): void {
  if (typeof outcome === 'object') for (const b of held.bans) b.met(outcome, now);
  else if (certain && (outcome === 'accepted' || outcome === 'answered')) for (const b of held.bans) b.clear();
}

const budgets = new Map<string, AddressBudget>();
const bans = new Map<string, BanRecord>();

function entry<T>(map: Map<string, T>, key: string, make: () => T): T {
  let found = map.get(key);
  if (found === undefined) {
    found = make();
    map.set(key, found);
  }
  return found;
}

/** The process's budgets for the keys of `addressKeys()`, and ban records for those addresses at `port`. */
export function heldFor(keys: readonly string[], port: string): Held {
  return {
    budgets: keys.map((key) => entry(budgets, key, () => new AddressBudget())),
    bans: keys.map((key) => entry(bans, `${key}#${port}`, () => new BanRecord())),
  };
}
