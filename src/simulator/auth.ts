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

  isBanned(address: string, now = Date.now()): boolean {
    const until = this.bannedUntil.get(address);
    if (until === undefined) return false;
    if (until > now) return true;
    this.bannedUntil.delete(address);
    return false;
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
    const cookie = readCookie(headers.cookie, this.options.sessionCookie);
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

export const BANNED_MESSAGE = 'too many failed logins from this address; try again later';
export const BANNED_BODY = errorBody('banned', BANNED_MESSAGE);

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
