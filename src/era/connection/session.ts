/**
 * Credentials on every request. User mode logs in on first need, shares one login among
 * concurrent requests, logs in again once on a 401 and repeats the request once, and stops
 * for good when a login is refused: the platform bans an IP after 5 failed logins in
 * 3 minutes, so a wrong password must never turn into a retry loop. A login answered by the
 * ban itself is waited out (the LoginGuard shared by every client of the host says how long).
 * Token mode just sends the integration point's token. Both also say how a fresh socket logs
 * in (§2.3): the token API needs no login, the user API takes the REST session's id or the
 * password.
 */
import { EraError, type Redactor } from '../errors';
import type { LoginGuard } from './login-guard';
import { PATHS } from '../protocol/paths';
import { cookieValue, isBanAnswer, loginRequest, sessionFromLogin, sessionHeaders, sessionIdFrom, tokenHeaders, type SessionCredentials } from '../protocol/session';
import { wsLoginByPassword, wsLoginBySession } from '../protocol/setup';
import { httpError, type RestRequest, type RestResponse, type RestTransport } from './rest';
import type { JsonObject } from '../types';

/** Credentials for one WebSocket upgrade. */
export interface UpgradeAuth {
  path: string;
  headers: Record<string, string>;
  /** The upgrade was answered 401. True when trying again at once makes sense (a fresh login). */
  refused(): boolean;
}

/** One way of logging a fresh socket in; `form` names it in messages ("session id", "password"). */
export interface SocketLogin {
  form: 'session id' | 'password';
  params: JsonObject;
}

export interface Session {
  readonly mode: 'user' | 'token';
  /** Set once authentication failed for good; every request then fails with it at once. */
  readonly failure: EraError | undefined;
  /** When a ban the platform imposed should be over (ms timestamp); 0 when there is none. */
  banEndsAt(): number;
  /** Sends with credentials. The answer is returned whatever its status (a final 401 included). */
  send(req: RestRequest): Promise<RestResponse>;
  upgrade(): Promise<UpgradeAuth>;
  /** The socket `login` forms to try on a fresh socket, in order; none on the token API. */
  socketLogins(): Promise<SocketLogin[]>;
  /** The platform answered a socket login form: counted like a REST login; after the last refusal, failure for good. */
  socketLoginAnswered(login: SocketLogin, refusal: string | undefined, last: boolean): void;
  /** Ends the session on the platform, best-effort, within `timeoutMs`. */
  end(timeoutMs: number): Promise<void>;
}

const LOGIN_LIMIT = 3;
const LOGIN_WINDOW_MS = 60_000;

export interface UserSessionOptions {
  domain: string;
  login: string;
  password: string;
  redact: Redactor;
  guard: LoginGuard;
  /** How long a ban is waited out before the next login (doubled while it lasts). */
  banWaitMs: number;
  onFailure(err: EraError): void;
}

export class UserSession implements Session {
  readonly mode = 'user';
  failure: EraError | undefined;
  private creds: SessionCredentials | undefined;
  private loginInFlight: Promise<SessionCredentials> | undefined;
  private readonly loginTimes: number[] = [];
  /** The session-id form of the socket login was refused while the password worked: skip it. */
  private sessionIdRefused = false;

  constructor(
    private readonly rest: RestTransport,
    private readonly o: UserSessionOptions,
  ) {}

  banEndsAt(): number {
    return this.o.guard.banEndsAt();
  }

  async send(req: RestRequest): Promise<RestResponse> {
    const creds = await this.credentials();
    const res = await this.rest.send({ ...req, headers: { ...req.headers, ...sessionHeaders(creds) } });
    if (res.statusCode !== 401) return res;
    // Every request that met the 401 waits for the same single re-login.
    this.forget(creds);
    const fresh = await this.credentials();
    return this.rest.send({ ...req, headers: { ...req.headers, ...sessionHeaders(fresh) } });
  }

  async upgrade(): Promise<UpgradeAuth> {
    const creds = await this.credentials();
    return {
      path: PATHS.wsUser,
      headers: sessionHeaders(creds),
      refused: () => {
        this.forget(creds);
        return this.failure === undefined;
      },
    };
  }

  async socketLogins(): Promise<SocketLogin[]> {
    const refusal = this.o.guard.refusal();
    if (refusal) throw refusal;
    const password: SocketLogin = { form: 'password', params: wsLoginByPassword(this.o.domain, this.o.login, this.o.password) };
    if (this.sessionIdRefused) return [password];
    const id = await this.sessionId();
    return id === undefined ? [password] : [{ form: 'session id', params: wsLoginBySession(id) }, password];
  }

  socketLoginAnswered(login: SocketLogin, refusal: string | undefined, last: boolean): void {
    if (refusal === undefined) {
      if (login.form === 'password') this.sessionIdRefused = true;
      this.o.guard.succeeded();
      return;
    }
    this.o.guard.failed();
    // A refused session id is most likely an expired session: the next REST request logs in
    // afresh instead of presenting it (the ban filter counts stale sessions too).
    if (login.form === 'session id' && this.creds !== undefined) this.forget(this.creds);
    if (!last) return;
    this.fail(new EraError('ERA_AUTH_FAILED',
      `The platform refused the WebSocket login for "${this.o.login}" in domain "${this.o.domain}": ${this.o.redact(refusal)}; check the login, password and the account's rights, then deploy again`));
  }

  async end(timeoutMs: number): Promise<void> {
    const creds = this.creds;
    this.creds = undefined;
    if (creds === undefined) return;
    await this.rest
      .send({ method: 'DELETE', path: PATHS.currentSession, headers: sessionHeaders(creds), timeoutMs })
      .catch(() => undefined);
  }

  /**
   * The REST session's id for a socket login: from the login's answer, else from the current
   * session (where the vendor's page says to read it), else the bearer token or cookie value,
   * which is the session's id on builds that answer neither.
   */
  private async sessionId(): Promise<string | undefined> {
    const creds = await this.credentials();
    if (creds.id !== undefined) return creds.id;
    const res = await this.rest.send({ method: 'GET', path: PATHS.currentSession, headers: sessionHeaders(creds) }).catch(() => undefined);
    const id = (res && res.statusCode >= 200 && res.statusCode < 300 ? sessionIdFrom(res.body) : undefined)
      ?? creds.token ?? (creds.cookie === undefined ? undefined : cookieValue(creds.cookie));
    creds.id = id;
    return id;
  }

  /** Drops the credentials a 401 came back for, unless a newer login already replaced them. */
  private forget(creds: SessionCredentials): void {
    if (this.creds === creds) this.creds = undefined;
  }

  private fail(failure: EraError): void {
    this.failure = failure;
    this.o.onFailure(failure);
  }

  private credentials(): Promise<SessionCredentials> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.creds) return Promise.resolve(this.creds);
    this.loginInFlight ??= this.logIn().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async logIn(): Promise<SessionCredentials> {
    const now = Date.now();
    const refusal = this.o.guard.refusal(now);
    if (refusal) throw refusal;
    while (this.loginTimes.length > 0 && now - this.loginTimes[0]! >= LOGIN_WINDOW_MS) this.loginTimes.shift();
    if (this.loginTimes.length >= LOGIN_LIMIT) {
      // Only odd servers get here (logins that succeed and are refused right after); the
      // limit keeps even them far below the platform's ban threshold.
      throw new EraError('ERA_NOT_CONNECTED',
        `Not logging in again yet: ${LOGIN_LIMIT} logins in the last minute already (the platform bans an address after 5 failed logins in 3 minutes)`);
    }
    this.loginTimes.push(now);
    const req = loginRequest(this.o.domain, this.o.login, this.o.password);
    const res = await this.rest.send(req);
    if (isBanAnswer(res.statusCode, res.body)) {
      this.o.guard.banned(this.o.banWaitMs);
      throw this.o.guard.refusal() ?? httpError('Login: POST', req.path, res, this.o.redact);
    }
    if (res.statusCode === 401) {
      this.o.guard.failed(now);
      const failure = new EraError('ERA_AUTH_FAILED',
        `Login refused for "${this.o.login}" in domain "${this.o.domain}" (HTTP ${res.statusCode}): check the login, password and domain, then deploy again`,
        res.statusCode);
      this.fail(failure);
      throw failure;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw httpError('Login: POST', req.path, res, this.o.redact);
    const creds = sessionFromLogin(res.body, res.headers['set-cookie']);
    if (creds === undefined) {
      throw new EraError('ERA_HTTP', 'Login: the platform answered without a session_token and without a session cookie');
    }
    this.o.guard.succeeded();
    this.creds = creds;
    return creds;
  }
}

export class TokenSession implements Session {
  readonly mode = 'token';
  failure: EraError | undefined;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly rest: RestTransport,
    token: string,
    private readonly onFailure: (err: EraError) => void,
  ) {
    this.headers = tokenHeaders(token);
  }

  banEndsAt(): number {
    return 0;
  }

  async send(req: RestRequest): Promise<RestResponse> {
    if (this.failure) throw this.failure;
    const res = await this.rest.send({ ...req, headers: { ...req.headers, ...this.headers } });
    // A token is either right or wrong, and the platform counts requests with an unknown one
    // toward its ban: after the first 401 no more are sent.
    if (res.statusCode === 401) this.refuse('HTTP 401 on a REST request');
    return res;
  }

  upgrade(): Promise<UpgradeAuth> {
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve({
      path: PATHS.wsToken,
      headers: this.headers,
      refused: () => {
        this.refuse('HTTP 401 on the WebSocket');
        return false;
      },
    });
  }

  socketLogins(): Promise<SocketLogin[]> {
    return Promise.resolve([]);
  }

  socketLoginAnswered(): void {
    // The token API has no socket login.
  }

  end(): Promise<void> {
    return Promise.resolve();
  }

  private refuse(where: string): void {
    if (this.failure) return;
    this.failure = new EraError('ERA_AUTH_FAILED',
      `The platform refused the token (${where}): check the integration point's token, then deploy again`, 401);
    this.onFailure(this.failure);
  }
}
