/**
 * Who may talk to the platform: user sessions from the login, the integration token, and the
 * brute-force guard that bans an address after too many failures (era-platform.md §2.1): failed
 * logins, and requests presenting a session id (or token) the server does not know.
 */
import { SimError } from './errors';
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

/** What a login names the account by; checked here because it comes straight from a request. */
export interface Credentials {
  domain: unknown;
  login: unknown;
  pwd: unknown;
}

export class Auth {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(
    private readonly options: Pick<ResolvedOptions, 'domain' | 'login' | 'password' | 'token' | 'banThreshold' | 'banWindowMs' | 'banMs' | 'sessionCookie'>,
  ) {}

  get domain(): string {
    return this.options.domain;
  }

  get sessionCookie(): string {
    return this.options.sessionCookie;
  }

  /** Whole seconds until the ban of `address` lifts (at least 1), or undefined when it is not banned. */
  banSecondsLeft(address: string, now = Date.now()): number | undefined {
    const until = this.bannedUntil.get(address);
    if (until === undefined) return undefined;
    if (until > now) return Math.ceil((until - now) / 1000);
    this.bannedUntil.delete(address);
    return undefined;
  }

  /** Check credentials and open a new session; a failure counts towards the ban of `address`. */
  openSession({ domain, login, pwd }: Credentials, address: string): Session {
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
    return session;
  }

  /**
   * The live session a WebSocket `login` names by `rsessionid`: its id or its token. An unknown
   * one counts towards the ban, as the platform's filter counts stale session ids (§2.1).
   */
  joinSession(rsessionid: unknown, address: string): Session {
    if (typeof rsessionid === 'string' && rsessionid !== '') {
      const session = this.sessions.get(rsessionid) ?? [...this.sessions.values()].find((s) => s.id === rsessionid);
      if (session) return session;
    }
    this.recordFailure(address);
    throw new SimError(401, 'invalid_session', 'no live session with this rsessionid');
  }

  logout(session: Session): void {
    this.sessions.delete(session.token);
  }

  /**
   * The principal of a request from `address`: `Bearer <session token>`, the session cookie, or
   * (unless `sessionOnly`) `Bearer <integration token>`. A request refused although it
   * presented a bearer or a session cookie counts towards the ban: the platform's filter counts
   * session ids it does not know (§2.1), and a bearer the server does not know may have been
   * either a session or a token.
   */
  authenticate(headers: Record<string, string>, address: string, sessionOnly = false): Principal | undefined {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    const isToken = bearer !== undefined && bearer === this.options.token;
    if (bearer !== undefined) {
      const session = this.sessions.get(bearer);
      if (session) return { kind: 'user', session };
      if (isToken && !sessionOnly) return { kind: 'token' };
    }
    const cookie = readCookie(headers.cookie, this.options.sessionCookie);
    const session = cookie === undefined ? undefined : this.sessions.get(cookie);
    if (session) return { kind: 'user', session };
    // The integration token on an endpoint that takes sessions only is known, just not accepted here.
    if ((bearer !== undefined && !isToken) || cookie !== undefined) this.recordFailure(address);
    return undefined;
  }

  /**
   * The token of a token-API upgrade. "The token replaces the login" (§2.2), so a wrong one is a
   * failed login and counts towards the ban.
   */
  checkIntegrationToken(token: string, address: string): boolean {
    if (token === this.options.token) return true;
    this.recordFailure(address);
    return false;
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

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
