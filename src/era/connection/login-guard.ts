/**
 * The platform bans an address after 5 failed logins within 3 minutes (and counts requests
 * that present an unknown session the same way). Every client of this process that logs in to
 * one host shares one guard — the deployed server node and each "Test connection" click alike —
 * so that together they stay below that threshold; and a ban the platform did impose is waited
 * out, not knocked on.
 */
import { EraError } from '../errors';

/** Failed logins this process allows itself per window: the platform bans at 5. */
const FAILURES_ALLOWED = 3;
const WINDOW_MS = 180_000;
/** A ban that is still on when its wait ends doubles the next wait, up to this. */
const MAX_BAN_WAIT_MS = 30 * 60_000;

/** "2:41" for a countdown a person reads. */
export function minutesAndSeconds(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** The connection's status while a ban is waited out: short, for a node's status line. */
export function banStatus(msLeft: number): string {
  return `banned by the platform, retry in ${minutesAndSeconds(msLeft)}`;
}

export class LoginGuard {
  private failures: number[] = [];
  private bannedUntil = 0;
  private consecutiveBans = 0;

  constructor(private readonly host: string) {}

  /** When the platform's ban is expected to end (ms timestamp), or 0 when not banned. */
  banEndsAt(now = Date.now()): number {
    return this.bannedUntil > now ? this.bannedUntil : 0;
  }

  /** The error a login must fail with now, without touching the network; undefined when it may go. */
  refusal(now = Date.now()): EraError | undefined {
    if (this.bannedUntil > now) {
      return new EraError('ERA_NOT_CONNECTED', `${this.host} refuses this address after failed logins (a ban); trying again in ${minutesAndSeconds(this.bannedUntil - now)}`);
    }
    this.failures = this.failures.filter((t) => now - t < WINDOW_MS);
    if (this.failures.length >= FAILURES_ALLOWED) {
      const wait = this.failures[0]! + WINDOW_MS - now;
      return new EraError('ERA_AUTH_FAILED',
        `Not logging in to ${this.host} again for ${minutesAndSeconds(wait)}: ${this.failures.length} logins failed in the last 3 minutes, and the platform bans an address after 5`);
    }
    return undefined;
  }

  /** A login was refused for its credentials (a REST login, or a socket login form). */
  failed(now = Date.now()): void {
    this.failures.push(now);
  }

  /** A login was answered by the ban filter: nothing is tried before `waitMs` has passed. */
  banned(waitMs: number, now = Date.now()): void {
    const wait = Math.min(MAX_BAN_WAIT_MS, waitMs * 2 ** Math.min(this.consecutiveBans, 10));
    this.consecutiveBans++;
    this.bannedUntil = now + wait;
  }

  succeeded(): void {
    this.consecutiveBans = 0;
    this.bannedUntil = 0;
  }
}

const guards = new Map<string, LoginGuard>();

/** The one guard of this process for the platform at `origin` (scheme, host and port). */
export function loginGuardFor(origin: URL): LoginGuard {
  let guard = guards.get(origin.origin);
  if (guard === undefined) {
    guard = new LoginGuard(origin.host);
    guards.set(origin.origin, guard);
  }
  return guard;
}
