/**
 * The client's way to the platform, whole: REST with credentials (a 401 answered by one shared
 * re-login, a ban waited out), one socket set up before use (setup, the socket's login, what the
 * platform granted), the ban countdown and the refused-events re-ask, and the state a person
 * sees. The event path and the commands use it; it knows nothing of them but the few calls of
 * `ConnectionOwner`.
 */
import { EraError, makeRedactor, type Redactor } from '../errors';
import { PATHS, type PlatformRequest } from '../protocol/paths';
import type { EraEvent, JsonObject, Logger, ProtocolObserver } from '../types';
import type { UndecodableReason } from '../protocol/frames';
import { messageOf } from '../util/text';
import { BanCountdown } from './ban-countdown';
import { BanGuard } from './ban-guard';
import { EventsCapability } from './events-capability';
import { granted, setUpConnection, type ConnectionSetup } from './handshake';
import type { ResolvedOptions, Settings } from './options';
import { RestTransport, httpError, shownPath, type RestRequest, type RestResponse, type TlsSettings } from './rest';
import { TokenSession, UserSession, type Session } from './session';
import { EraSocket, type SocketCounters, type SocketState } from './socket';
import { ConnectionState, type ClientState } from './state';

/** What the connection tells its owner (the client). Called synchronously; must not throw. */
export interface ConnectionOwner {
  state(state: ClientState, detail: string | undefined): void;
  /** The socket is open and set up (again); `afterOutage`: it was open before. */
  opened(afterOutage: boolean): void;
  dropped(): void;
  event(ev: EraEvent, subscriptionId: unknown): void;
  undecodable(reason: UndecodableReason, method: string | undefined): void;
  /** `subscr` is granted now, after a refusal: subscribe. */
  eventsGranted(): void;
  warnOnce(msg: string): void;
}

export class Connection {
  readonly origin: URL;
  readonly settings: Settings;
  readonly tls: TlsSettings;
  /** Hides the configured secret in text that came from outside. */
  readonly redact: Redactor;
  readonly transport: RestTransport;
  readonly session: Session;
  readonly socket: EraSocket;
  readonly status: ConnectionState;
  /** Who the client authenticates as, in words (never the secret). */
  private readonly who: string;
  private readonly eventsCapability: EventsCapability;
  private readonly banCountdown: BanCountdown;
  private setup: ConnectionSetup | undefined;
  /** The socket was open before: the next open comes after an outage. */
  private hadSocket = false;
  private closed = false;

  constructor(
    resolved: ResolvedOptions,
    extra: { logger: Logger; observer?: ProtocolObserver; counters: SocketCounters; closing: AbortSignal },
    private readonly owner: ConnectionOwner,
  ) {
    const s = (this.settings = resolved.settings);
    const { credentials, tls } = resolved;
    this.origin = resolved.origin;
    this.tls = tls;
    this.who = credentials.mode === 'user' ? `Login "${credentials.login}" in domain "${credentials.domain}"` : 'The token';
    this.redact = makeRedactor([credentials.secret]);
    this.transport = new RestTransport(this.origin, tls, s.requestTimeoutMs, extra.observer);
    this.status = new ConnectionState({
      changed: (state, detail) => {
        extra.logger.debug(detail === undefined ? `connection ${state}` : `connection ${state}: ${detail}`);
        owner.state(state, detail);
      },
      banDetail: () => this.banCountdown.detail,
      eventsProblem: () => this.eventsCapability.problem,
    });
    const onBan = () => {
      if (!this.closed) this.banCountdown.run();
    };
    const { closing } = extra;
    const sessionOptions = {
      guard: new BanGuard(this.origin, { banWaitMs: s.banWaitMs, timeoutMs: s.requestTimeoutMs, closing, onBan }),
      host: this.origin.host,
      closing,
      quietMs: s.sessionQuietMs,
      onFailure: (err: EraError) => {
        this.status.set('auth_failed', err.message);
        void this.socket.stop();
      },
      onBan,
    };
    this.session = credentials.mode === 'user'
      ? new UserSession(this.transport, { ...sessionOptions, domain: credentials.domain, login: credentials.login, password: credentials.secret, redact: this.redact })
      : new TokenSession(this.transport, credentials.secret, sessionOptions);
    this.banCountdown = new BanCountdown({
      endsAt: () => this.session.banEndsAt(),
      show: (detail) => this.status.set(this.socket.open ? 'connected' : 'disconnected', detail),
      ended: () => {
        // The connection's own state again (a waiting socket tries at about this moment).
        if (this.socket.open) this.status.connected();
        else if (!this.socket.active) this.status.set('idle');
      },
    });
    const socketSettings = {
      origin: this.origin,
      tls,
      requestTimeoutMs: s.requestTimeoutMs,
      pingIntervalMs: s.pingIntervalMs,
      pingTimeoutMs: s.pingTimeoutMs,
      reconnectMinMs: s.reconnectMinMs,
      reconnectMaxMs: s.reconnectMaxMs,
      observer: extra.observer,
    };
    this.socket = new EraSocket(socketSettings, this.session, {
      state: (state, detail) => this.socketState(state, detail),
      handshake: (request) => this.handshake(request),
      opened: () => {
        const afterOutage = this.hadSocket;
        this.hadSocket = true;
        this.eventsCapability.opened();
        owner.opened(afterOutage);
      },
      dropped: () => {
        this.session.doubt();
        owner.dropped();
      },
      event: (ev, subscriptionId) => owner.event(ev, subscriptionId),
      undecodable: (reason, method) => owner.undecodable(reason, method),
    }, extra.counters);
    this.eventsCapability = new EventsCapability({
      setup: () => this.setup,
      isOpen: () => this.socket.open,
      request: (method, params) => this.socket.request(method, params),
      redact: this.redact,
      debug: (msg) => extra.logger.debug(msg),
      changed: () => this.status.refresh(),
      granted: () => owner.eventsGranted(),
    });
  }

  /** What the platform granted the socket at its last connection setup (undefined before the first). */
  get connectionSetup(): ConnectionSetup | undefined {
    return this.setup;
  }

  /** The socket is open and set up, and may carry subscriptions: the platform granted `subscr`. */
  get eventsOpen(): boolean {
    return this.socket.open && granted(this.setup, 'subscr');
  }

  /** Whether the current socket's setup granted `capability` (a capability the platform did not list counts as granted). */
  grants(capability: string): boolean {
    return granted(this.setup, capability);
  }

  /**
   * Whether the next socket comes back after an outage (gap fill then reports what happened
   * meanwhile): not after nothing listened for a while; yes for calls a predecessor left.
   */
  outage(happened: boolean): void {
    this.hadSocket = happened;
  }

  /** A request with credentials; throws for anything but 2xx. */
  async call(req: RestRequest): Promise<RestResponse> {
    if (this.session.failure) throw this.session.failure;
    const res = await this.session.send(req);
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    if (res.statusCode === 401) {
      const why = this.session.mode === 'token'
        ? 'the platform refused the token'
        : 'the platform refused the session even after logging in again';
      throw new EraError('ERA_AUTH_FAILED', `${req.method} ${shownPath(req.path)}: ${why} (HTTP 401)`, 401);
    }
    throw httpError(req.method, req.path, res, this.redact);
  }

  /** Logs in (or checks the token) with a cheap request; says how it went in words for a person. */
  async test(): Promise<{ ok: boolean; message: string }> {
    try {
      const probe: PlatformRequest = this.session.mode === 'user'
        ? { method: 'GET', path: PATHS.currentSession }
        : { method: 'GET', path: PATHS.calls, query: { offset: 0, limit: 1 } };
      await this.call(probe);
      return { ok: true, message: `${this.who} is accepted by ${this.origin.host}` };
    } catch (err) {
      return { ok: false, message: messageOf(err) };
    }
  }

  /** Stops everything but the socket's close and the pool (the owner's order of closing). */
  stop(): void {
    this.closed = true;
    this.status.freeze();
    this.eventsCapability.stop();
    this.banCountdown.stop();
  }

  private socketState(state: SocketState, detail: string | undefined): void {
    if (state === 'connected') this.status.connected();
    else if (state !== 'disconnected' || !this.banCountdown.run()) this.status.set(state, detail);
  }

  private async handshake(request: (method: string, params: JsonObject) => Promise<JsonObject>): Promise<void> {
    this.banCountdown.stop();
    this.setup = await setUpConnection({ request, session: this.session, redact: this.redact, notice: (msg) => this.owner.warnOnce(msg) });
  }
}
