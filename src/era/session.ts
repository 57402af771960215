/**
 * Credentials on every request. User mode logs in on first need, shares one login among
 * concurrent requests, logs in again once on a 401 and repeats the request once, and stops
 * for good when a login is refused: the platform bans an IP after 5 failed logins in
 * 3 minutes, so a wrong password must never turn into a retry loop. Token mode just sends
 * the integration point's token.
 */
import { EraError, type Redactor } from './errors';
import { PATHS, loginRequest, sessionFromLogin, sessionHeaders, tokenHeaders, type SessionCredentials } from './protocol';
import { httpError, type RestRequest, type RestResponse, type RestTransport } from './rest';

/** Credentials for one WebSocket upgrade. */
export interface UpgradeAuth {
  path: string;
  headers: Record<string, string>;
  /** The upgrade was answered 401. True when trying again at once makes sense (a fresh login). */
  refused(): boolean;
}

export interface Session {
  readonly mode: 'user' | 'token';
  /** Set once authentication failed for good; every request then fails with it at once. */
  readonly failure: EraError | undefined;
  /** Sends with credentials. The answer is returned whatever its status (a final 401 included). */
  send(req: RestRequest): Promise<RestResponse>;
  upgrade(): Promise<UpgradeAuth>;
  /** Ends the session on the platform, best-effort, within `timeoutMs`. */
  end(timeoutMs: number): Promise<void>;
}

const LOGIN_LIMIT = 3;
const LOGIN_WINDOW_MS = 60_000;

export class UserSession implements Session {
  readonly mode = 'user';
  failure: EraError | undefined;
  private creds: SessionCredentials | undefined;
  private loginInFlight: Promise<SessionCredentials> | undefined;
  private readonly loginTimes: number[] = [];

  constructor(
    private readonly rest: RestTransport,
    private readonly domain: string,
    private readonly login: string,
    private readonly password: string,
    private readonly redact: Redactor,
    private readonly onFailure: (err: EraError) => void,
  ) {}

  async send(req: RestRequest): Promise<RestResponse> {
    const creds = await this.credentials();
    const res = await this.rest.send({ ...req, headers: { ...req.headers, ...sessionHeaders(creds) } });
    if (res.statusCode !== 401) return res;
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

  async end(timeoutMs: number): Promise<void> {
    const creds = this.creds;
    this.creds = undefined;
    if (creds === undefined) return;
    await this.rest
      .send({ method: 'DELETE', path: PATHS.currentSession, headers: sessionHeaders(creds), timeoutMs })
      .catch(() => undefined);
  }

  /** Drops the credentials a 401 came back for, unless a newer login already replaced them. */
  private forget(creds: SessionCredentials): void {
    if (this.creds === creds) this.creds = undefined;
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
    while (this.loginTimes.length > 0 && now - this.loginTimes[0]! >= LOGIN_WINDOW_MS) this.loginTimes.shift();
    if (this.loginTimes.length >= LOGIN_LIMIT) {
      // Only odd servers get here (logins that succeed and are refused right after); the
      // limit keeps even them far below the platform's ban threshold.
      throw new EraError('ERA_NOT_CONNECTED',
        `Not logging in again yet: ${LOGIN_LIMIT} logins in the last minute already (the platform bans an address after 5 failed logins in 3 minutes)`);
    }
    this.loginTimes.push(now);
    const req = loginRequest(this.domain, this.login, this.password);
    const res = await this.rest.send(req);
    if (res.statusCode === 401 || res.statusCode === 403) {
      const failure = new EraError('ERA_AUTH_FAILED',
        `Login refused for "${this.login}" in domain "${this.domain}" (HTTP ${res.statusCode}): check the login, password and domain, then deploy again`,
        res.statusCode);
      this.failure = failure;
      this.onFailure(failure);
      throw failure;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw httpError('Login: POST', req.path, res, this.redact);
    const creds = sessionFromLogin(res.body, res.headers['set-cookie']);
    if (creds === undefined) {
      throw new EraError('ERA_HTTP', 'Login: the platform answered without a session_token and without an EraSession cookie');
    }
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

  send(req: RestRequest): Promise<RestResponse> {
    return this.rest.send({ ...req, headers: { ...req.headers, ...this.headers } });
  }

  upgrade(): Promise<UpgradeAuth> {
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve({
      path: PATHS.wsToken,
      headers: this.headers,
      refused: () => {
        // A token is either right or wrong: knocking again cannot help.
        this.failure = new EraError('ERA_AUTH_FAILED',
          'The platform refused the token (HTTP 401 on the WebSocket): check the integration point\'s token, then deploy again', 401);
        this.onFailure(this.failure);
        return false;
      },
    });
  }

  end(): Promise<void> {
    return Promise.resolve();
  }
}
