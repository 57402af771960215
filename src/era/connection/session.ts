/**
 * Credentials on every request. User mode logs in on first need, shares one login among
 * concurrent requests, logs in again once on a 401 and repeats the request once, and stops
 * for good when the platform refuses the password. Token mode sends the integration point's
 * token. Both present what they hold through a SessionGate (at most one request presents a
 * session or token that may have expired) and the ban budget of the address (BanGuard), and
 * wait out a ban the platform imposed. Both also say how a fresh socket logs in (§2.3): the
 * token API needs no login, the user API takes the REST session's id or the password.
 */
import { EraError, type Redactor } from '../errors';
import { fingerprint, type Attempt, type CredentialsAttempt } from './ban-budget';
import type { BanGuard } from './ban-guard';
import { PATHS } from '../protocol/paths';
import { cookieValue, isBanAnswer, isBanReply, loginRequest, retryAfterMs, saysAddressBanned, sessionFromLogin, sessionHeaders, sessionIdFrom, tokenHeaders, type SessionCredentials } from '../protocol/session';
import { wsLoginByPassword, wsLoginBySession } from '../protocol/setup';
import { httpError, WITHDRAWN, type ResponseHeaders, type RestRequest, type RestResponse, type RestTransport } from './rest';
import { SessionGate, type Pass, type PassOutcome } from './session-gate';
import type { JsonObject } from '../types';
import { byDeadline } from '../util/timers';

/** What answered a WebSocket upgrade: its status (101: it opened), nothing, or it never reached the platform. */
export type UpgradeAnswer = { statusCode: number; headers: ResponseHeaders } | 'no answer' | 'not sent';

/** Credentials for one WebSocket upgrade. */
export interface UpgradeAuth {
  path: string;
  headers: Record<string, string>;
  /** Says how the upgrade went, once. True after a 401 when trying again at once makes sense (a fresh login). */
  settle(answer: UpgradeAnswer): boolean;
}

/** How the platform took a socket login: `banned` is no verdict on the credentials. */
export type SocketLoginVerdict = 'ok' | 'refused' | 'banned';

/** One socket login on its way: it reports the platform's answer, once. */
export interface SocketLoginAttempt {
  /** `refusal`: the platform's words, undefined when it took the login. After the `last` form's refusal, failure for good. */
  answered(refusal: string | undefined, last: boolean): SocketLoginVerdict;
  /** No answer, or an answer that says nothing of the credentials (a build without `login`). */
  unanswered(): void;
}

/** One way of logging a fresh socket in; `form` names it in messages ("session id", "password"). */
export interface SocketLogin {
  form: 'session id' | 'password';
  params: JsonObject;
  /** Holds the login's place (ban budget, session gate); undefined: skip it (its session is gone). Throws while it may not go. */
  begin(): Promise<SocketLoginAttempt | undefined>;
}

export interface Session {
  readonly mode: 'user' | 'token';
  /** Set once authentication failed for good; every request then fails with it at once. */
  readonly failure: EraError | undefined;
  /** When a ban the platform imposed should be over (ms timestamp); 0 when there is none. */
  banEndsAt(): number;
  /** The error anything fails with while a ban lasts; undefined when there is none. */
  banRefusal(): EraError | undefined;
  /** Sends with credentials. The answer is returned whatever its status (a final 401 included). */
  send(req: RestRequest): Promise<RestResponse>;
  upgrade(): Promise<UpgradeAuth>;
  /** The socket `login` forms to try on a fresh socket, in order; none on the token API. */
  socketLogins(): Promise<SocketLogin[]>;
  /** Ends the session on the platform, best-effort, within `timeoutMs`. */
  end(timeoutMs: number): Promise<void>;
  /** The platform may have restarted (the socket dropped): what is held is proven again before a burst presents it. */
  doubt(): void;
}

export interface SessionOptions {
  guard: BanGuard;
  host: string;
  /** Aborted when the client closes. */
  closing: AbortSignal;
  /** How long without an answer before a session may have expired. */
  quietMs: number;
  onFailure(err: EraError): void;
  /** The platform answered with the ban (this client's countdown starts). */
  onBan(): void;
}

export interface UserSessionOptions extends SessionOptions {
  domain: string;
  login: string;
  password: string;
  redact: Redactor;
}

/** What an answer says of the session that was presented. */
function passOutcome(res: RestResponse): PassOutcome {
  if (res.statusCode === 401) return 'stale';
  if (isBanReply(res.statusCode, res.body)) return { retryAfterMs: retryAfterMs(res.headers['retry-after']) };
  // A 5xx may come from a proxy in front of the platform: it proves nothing.
  return res.statusCode >= 500 ? 'neutral' : 'proof';
}

/** What an upgrade's answer says of what it presented; `opened`: what a 101 proves. */
function upgradeOutcome(answer: UpgradeAnswer, opened: PassOutcome, host: string): PassOutcome {
  if (answer === 'not sent') return 'unsent';
  if (answer === 'no answer') return { unanswered: new EraError('ERA_NOT_CONNECTED', `No answer from ${host} to the WebSocket upgrade`) };
  if (answer.statusCode === 101) return opened;
  if (answer.statusCode === 401) return 'stale';
  if (isBanAnswer(answer.statusCode, null)) return { retryAfterMs: retryAfterMs(answer.headers['retry-after']) };
  return 'neutral';
}

function isBan(outcome: PassOutcome): boolean {
  return typeof outcome === 'object';
}

/**
 * A request presenting what the pass let through; the pass learns what came back. WITHDRAWN:
 * it was never written, its session having been dropped while it waited in the pool's queue.
 */
async function present(rest: RestTransport, pass: Pass, req: RestRequest, o: SessionOptions): Promise<RestResponse | typeof WITHDRAWN> {
  const res = await rest.present(req, pass);
  if (res === WITHDRAWN) {
    pass.settle('unsent');
    return res;
  }
  if ('error' in res) {
    pass.settle(res.sent ? { unanswered: res.error } : 'unsent');
    throw res.error;
  }
  const outcome = passOutcome(res);
  pass.settle(outcome);
  if (isBan(outcome)) o.onBan();
  return res;
}

const LOGIN_LIMIT = 3;
const LOGIN_WINDOW_MS = 60_000;

/** A session the platform opened, and the gate its requests pass. */
interface Held {
  creds: SessionCredentials;
  gate: SessionGate;
}

export class UserSession implements Session {
  readonly mode = 'user';
  failure: EraError | undefined;
  private held: Held | undefined;
  private loginInFlight: Promise<Held> | undefined;
  private readonly loginTimes: number[] = [];
  /** The session-id form of the socket login was refused while the password worked: skip it. */
  private sessionIdRefused = false;
  /** The password, to the ban budget. */
  private readonly credentials: CredentialsAttempt;

  constructor(
    private readonly rest: RestTransport,
    private readonly o: UserSessionOptions,
  ) {
    this.credentials = { kind: 'credentials', fingerprint: fingerprint('user', o.domain, o.login, o.password) };
  }

  banEndsAt(): number {
    return this.o.guard.banEndsAt();
  }

  banRefusal(): EraError | undefined {
    return this.o.guard.banRefusal();
  }

  async send(req: RestRequest): Promise<RestResponse> {
    let repeated = false;
    // The request's time runs from now: a wait for a login or at the gate comes out of it.
    const until = this.rest.until(req);
    for (;;) {
      const held = this.held ?? (await byDeadline(this.session(), until.deadline, until.late));
      const pass = held.gate.now() ?? (await held.gate.enter(until));
      if (pass === undefined) continue; // that session was dropped while this one waited: the next one
      const res = await present(this.rest, pass, { ...req, deadline: until.deadline, headers: { ...req.headers, ...sessionHeaders(held.creds) } }, this.o);
      if (res === WITHDRAWN) continue; // never sent: with the next session
      // A 401 dropped the session: every request that met it waits for the same single re-login, then goes once more.
      if (res.statusCode !== 401 || repeated) return res;
      repeated = true;
    }
  }

  async upgrade(): Promise<UpgradeAuth> {
    for (;;) {
      const held = await this.session();
      const pass = await held.gate.enter();
      if (pass === undefined) continue;
      return {
        path: PATHS.wsUser,
        headers: sessionHeaders(held.creds),
        // A strict platform lets any upgrade in and authorises the socket in-band: 101 proves nothing.
        settle: (answer) => {
          const outcome = upgradeOutcome(answer, 'neutral', this.o.host);
          pass.settle(outcome);
          if (isBan(outcome)) this.o.onBan();
          return outcome === 'stale' && this.failure === undefined;
        },
      };
    }
  }

  async socketLogins(): Promise<SocketLogin[]> {
    const password = this.passwordLogin();
    if (this.sessionIdRefused) return [password];
    const held = await this.session();
    const id = await this.sessionId(held);
    return id === undefined ? [password] : [this.sessionIdLogin(held, id), password];
  }

  /**
   * Logs out under the rules of any presentation: not a session that may have expired (the
   * platform would count it towards the ban; a live one expires by itself), and only with a
   * place in the address's ban budget, taken without waiting — a logout is best-effort, so N
   * servers closing together log out only as many as the budget has room for.
   */
  async end(timeoutMs: number): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    const live = held.gate.live;
    held.gate.drop();
    if (!live) return;
    const place = this.o.guard.reserveNow(sessionAttempt(held.creds));
    if (place === undefined) return;
    const res = await this.rest
      .send({ method: 'DELETE', path: PATHS.currentSession, headers: sessionHeaders(held.creds), timeoutMs })
      .catch(() => undefined);
    if (res === undefined) place.settle('unanswered');
    else if (res.statusCode === 401) place.settle('refused');
    else if (isBanReply(res.statusCode, res.body)) place.settle(this.o.guard.banOutcome(retryAfterMs(res.headers['retry-after'])));
    else place.settle(res.statusCode >= 500 ? 'unanswered' : 'answered');
  }

  doubt(): void {
    this.held?.gate.doubt();
  }

  private sessionIdLogin(held: Held, id: string): SocketLogin {
    return {
      form: 'session id',
      params: wsLoginBySession(id),
      begin: async () => {
        const pass = await held.gate.enter();
        if (pass === undefined) return undefined;
        return {
          answered: (refusal, last) => {
            if (refusal === undefined) {
              pass.settle('proof');
              return 'ok';
            }
            if (saysAddressBanned(refusal)) return this.bannedOnSocket(pass);
            // Most likely an expired session: dropped, so that the next REST request logs in
            // afresh instead of presenting it (the ban filter counts stale sessions too).
            pass.settle('stale');
            if (last) this.socketLoginRefused(refusal);
            return 'refused';
          },
          unanswered: () => pass.settle({ unanswered: new EraError('ERA_NOT_CONNECTED', `No answer from ${this.o.host} to the WebSocket login`) }),
        };
      },
    };
  }

  private passwordLogin(): SocketLogin {
    return {
      form: 'password',
      params: wsLoginByPassword(this.o.domain, this.o.login, this.o.password),
      begin: async () => {
        const place = await this.o.guard.reserve(this.credentials, true);
        if (place === 'refused') throw this.loginRefused();
        return {
          answered: (refusal, last) => {
            if (refusal === undefined) {
              place.settle('accepted');
              this.sessionIdRefused = true;
              return 'ok';
            }
            if (saysAddressBanned(refusal)) {
              place.settle(this.o.guard.banOutcome(undefined));
              this.o.onBan();
              return 'banned';
            }
            place.settle('refused');
            if (last) this.socketLoginRefused(refusal);
            return 'refused';
          },
          unanswered: () => place.settle('unanswered'),
        };
      },
    };
  }

  private bannedOnSocket(pass: Pass): SocketLoginVerdict {
    pass.settle({ retryAfterMs: undefined });
    this.o.onBan();
    return 'banned';
  }

  private socketLoginRefused(refusal: string): void {
    this.fail(new EraError('ERA_AUTH_FAILED',
      `The platform refused the WebSocket login for "${this.o.login}" in domain "${this.o.domain}": ${this.o.redact(refusal)}; check the login, password and the account's rights, then deploy again`));
  }

  /**
   * The REST session's id for a socket login: from the login's answer, else from the current
   * session (where the vendor's page says to read it), else the bearer token or cookie value,
   * which is the session's id on builds that answer neither.
   */
  private async sessionId(held: Held): Promise<string | undefined> {
    if (held.creds.id !== undefined) return held.creds.id;
    const res = await this.send({ method: 'GET', path: PATHS.currentSession }).catch(() => undefined);
    // A re-login meanwhile opened another session: its id is not known yet, the password form will do.
    if (this.held !== held) return undefined;
    const id = (res && res.statusCode >= 200 && res.statusCode < 300 ? sessionIdFrom(res.body) : undefined)
      ?? held.creds.token ?? (held.creds.cookie === undefined ? undefined : cookieValue(held.creds.cookie));
    held.creds.id = id;
    return id;
  }

  private fail(failure: EraError): void {
    if (this.failure) return;
    this.failure = failure;
    this.held?.gate.drop();
    this.held = undefined;
    this.o.onFailure(failure);
  }

  private session(): Promise<Held> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.held) return Promise.resolve(this.held);
    this.loginInFlight ??= this.logIn().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async logIn(): Promise<Held> {
    const now = Date.now();
    while (this.loginTimes.length > 0 && now - this.loginTimes[0]! >= LOGIN_WINDOW_MS) this.loginTimes.shift();
    if (this.loginTimes.length >= LOGIN_LIMIT) {
      // Only odd servers get here (logins that succeed and are refused right after); the
      // limit keeps even them far below the platform's ban threshold.
      throw new EraError('ERA_NOT_CONNECTED',
        `Not logging in again yet: ${LOGIN_LIMIT} logins in the last minute already (the platform bans an address after 5 failed logins in 3 minutes)`);
    }
    const place = await this.o.guard.reserve(this.credentials, true);
    if (place === 'refused') throw this.loginRefused();
    this.loginTimes.push(now);
    const req = loginRequest(this.o.domain, this.o.login, this.o.password);
    let res: RestResponse;
    try {
      res = await this.rest.send(req);
    } catch (err) {
      place.settle('unanswered');
      throw err;
    }
    if (isBanAnswer(res.statusCode, res.body)) {
      place.settle(this.o.guard.banOutcome(retryAfterMs(res.headers['retry-after'])));
      this.o.onBan();
      throw this.o.guard.banRefusal() ?? httpError('Login: POST', req.path, res, this.o.redact);
    }
    if (res.statusCode === 401) {
      place.settle('refused');
      throw this.loginRefused();
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      place.settle('unanswered');
      throw httpError('Login: POST', req.path, res, this.o.redact);
    }
    place.settle('accepted');
    const creds = sessionFromLogin(res.body, res.headers['set-cookie']);
    if (creds === undefined) {
      throw new EraError('ERA_HTTP', 'Login: the platform answered without a session_token and without a session cookie');
    }
    const held: Held = {
      creds,
      gate: new SessionGate({
        guard: this.o.guard,
        attempt: sessionAttempt(creds),
        quietMs: this.o.quietMs,
        replaceable: true,
        closing: this.o.closing,
        lost: () => this.forget(held),
      }, true),
    };
    this.held = held;
    return held;
  }

  /** The platform refused these credentials (here, or a moment ago for another client): for good. */
  private loginRefused(): EraError {
    this.fail(new EraError('ERA_AUTH_FAILED',
      `Login refused for "${this.o.login}" in domain "${this.o.domain}" (HTTP 401): check the login, password and domain, then deploy again`, 401));
    return this.failure!;
  }

  /** Drops a session the platform refused, unless a newer login already replaced it. */
  private forget(held: Held): void {
    if (this.held === held) this.held = undefined;
    held.gate.drop();
  }
}

/** A session, to the ban budget. */
function sessionAttempt(creds: SessionCredentials): Attempt {
  return { kind: 'session', fingerprint: fingerprint('session', creds.token ?? '', creds.cookie ?? '') };
}

export class TokenSession implements Session {
  readonly mode = 'token';
  failure: EraError | undefined;
  private readonly headers: Record<string, string>;
  private readonly gate: SessionGate;

  constructor(
    private readonly rest: RestTransport,
    token: string,
    private readonly o: SessionOptions,
  ) {
    this.headers = tokenHeaders(token);
    // A token is either right or wrong, and the platform counts requests with an unknown one
    // toward its ban: after the first 401 no more are sent.
    this.gate = new SessionGate({
      guard: o.guard,
      attempt: { kind: 'credentials', fingerprint: fingerprint('token', token) },
      quietMs: o.quietMs,
      replaceable: false,
      closing: o.closing,
      lost: () => this.refuse('HTTP 401 on a REST request'),
    }, false);
  }

  banEndsAt(): number {
    return this.o.guard.banEndsAt();
  }

  banRefusal(): EraError | undefined {
    return this.o.guard.banRefusal();
  }

  async send(req: RestRequest): Promise<RestResponse> {
    // The request's time runs from now: a wait at the gate comes out of it.
    const until = this.rest.until(req);
    for (;;) {
      if (this.failure) throw this.failure;
      const pass = this.gate.now() ?? (await this.gate.enter(until));
      if (pass === undefined) continue;
      const res = await present(this.rest, pass, { ...req, deadline: until.deadline, headers: { ...req.headers, ...this.headers } }, this.o);
      if (res !== WITHDRAWN) return res;
    }
  }

  async upgrade(): Promise<UpgradeAuth> {
    for (;;) {
      if (this.failure) throw this.failure;
      const pass = await this.gate.enter();
      if (pass === undefined) continue;
      return {
        path: PATHS.wsToken,
        headers: this.headers,
        settle: (answer) => {
          const outcome = upgradeOutcome(answer, 'proof', this.o.host);
          if (outcome === 'stale') this.refuse('HTTP 401 on the WebSocket');
          pass.settle(outcome);
          if (isBan(outcome)) this.o.onBan();
          return false;
        },
      };
    }
  }

  socketLogins(): Promise<SocketLogin[]> {
    return Promise.resolve([]);
  }

  end(): Promise<void> {
    return Promise.resolve();
  }

  doubt(): void {
    this.gate.doubt();
  }

  private refuse(where: string): void {
    if (this.failure) return;
    this.failure = new EraError('ERA_AUTH_FAILED',
      `The platform refused the token (${where}): check the integration point's token, then deploy again`, 401);
    this.gate.drop();
    this.o.onFailure(this.failure);
  }
}
