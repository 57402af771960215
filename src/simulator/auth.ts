/**
 * Who may talk to the platform: user sessions from the login, the integration token, and the
 * brute-force guard that bans an address after too many failed logins (era-platform.md §2).
 */
import { errorBody, SimError } from './errors';
import { sessionToken, uuid } from './ids';
import type { ResolvedOptions } from './types';

export interface Session {
  id: string;
  token: string;
  login: string;
  domain: string;
  createdts: number;
}

export type Principal = { kind: 'user'; session: Session } | { kind: 'token' };

export interface LoginResult {
  session: Session;
  /** The client asked for a token (`session_type`); otherwise the session goes in a cookie. */
  wantsToken: boolean;
}

export const SESSION_COOKIE = 'EraSession';

export class Auth {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(private readonly options: Pick<ResolvedOptions, 'domain' | 'login' | 'password' | 'token' | 'banThreshold' | 'banWindowMs' | 'banMs'>) {}

  get domain(): string {
    return this.options.domain;
  }

  isBanned(address: string, now = Date.now()): boolean {
    const until = this.bannedUntil.get(address);
    if (until === undefined) return false;
    if (until > now) return true;
    this.bannedUntil.delete(address);
    return false;
  }

  /** Check the credentials of a login body; a failure counts towards the ban of `address`. */
  login(body: unknown, address: string): LoginResult {
    const { domain, login, pwd, session_type: sessionType } = (body ?? {}) as Record<string, unknown>;
    const ok =
      typeof domain === 'string' &&
      domain.toLowerCase() === this.options.domain.toLowerCase() &&
      login === this.options.login &&
      pwd === this.options.password;
    if (!ok) {
      this.recordFailure(address);
      throw new SimError(401, 'invalid_credentials', 'wrong domain, login or password');
    }
    this.failures.delete(address);
    const session: Session = { id: uuid(), token: sessionToken(), login, domain: this.options.domain, createdts: Date.now() };
    this.sessions.set(session.token, session);
    return { session, wantsToken: sessionType !== undefined && sessionType !== null && sessionType !== '' };
  }

  logout(session: Session): void {
    this.sessions.delete(session.token);
  }

  /**
   * The principal of a request: `Bearer <session token>`, the session cookie, or (unless
   * `sessionOnly`) `Bearer <integration token>`.
   */
  authenticate(headers: Record<string, string>, sessionOnly = false): Principal | undefined {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    if (bearer !== undefined) {
      const session = this.sessions.get(bearer);
      if (session) return { kind: 'user', session };
      if (!sessionOnly && bearer === this.options.token) return { kind: 'token' };
    }
    const cookie = readCookie(headers.cookie, SESSION_COOKIE);
    const session = cookie === undefined ? undefined : this.sessions.get(cookie);
    return session ? { kind: 'user', session } : undefined;
  }

  isIntegrationToken(token: string): boolean {
    return token === this.options.token;
  }

  expireSessions(): void {
    this.sessions.clear();
  }

  reset(): void {
    this.sessions.clear();
    this.failures.clear();
    this.bannedUntil.clear();
  }

  private recordFailure(address: string): void {
    const now = Date.now();
    const recent = (this.failures.get(address) ?? []).filter((ts) => ts > now - this.options.banWindowMs);
    recent.push(now);
    if (recent.length >= this.options.banThreshold) {
      this.bannedUntil.set(address, now + this.options.banMs);
      this.failures.delete(address);
    } else {
      this.failures.set(address, recent);
    }
  }
}

export const BANNED_BODY = errorBody('banned', 'too many failed logins from this address; try again later');

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
