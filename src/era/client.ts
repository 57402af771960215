/**
 * EraClient: the facade a config node holds. One REST pool, at most one WebSocket (open
 * only while something listens), the subscriptions, the event pipeline and the call table,
 * behind a small API. Knows nothing of Node-RED.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { CallTable, snapshot } from './calls/table';
import { ClaimQueue } from './events/claims';
import { clipText, messageOf, shownValue } from './util/text';
import { unserialisable, validateCommand, type CallCommand } from './commands/validate';
import { EventPipeline } from './events/pipeline';
import { CallFeed } from './calls/feed';
import { CallLogs } from './calls/call-logs';
import { CallStats, StatsWindow, type CallStatsSnapshot } from './calls/stats';
import type { CallLogDirection, LoggedCall } from './calls/call-log';
import { EraError, makeRedactor, type Redactor } from './errors';
import { GapFill } from './events/gapfill';
import { granted, refusal, setUpConnection, type ConnectionSetup } from './connection/handshake';
import { Backoff } from './util/backoff';
import { banStatus, loginGuardFor } from './connection/login-guard';
import { invalid, MAX_TIMER_MS, resolveOptions, type EraClientOptions, type Settings } from './connection/options';
import { PATHS, type PlatformRequest, type Query } from './protocol/paths';
import { CALL_TABLE_EVENTS } from './protocol/call-events';
import { SETUP_METHOD, capabilityResults, setupParams } from './protocol/setup';
import { buildCallRequest, connectionIdFromResponse } from './protocol/commands';
import { excerpt, isNotFoundReply, isUnknownMethodReply, replyError } from './protocol/replies';
import { isObject } from './protocol/values';
import { downloadRecording, recordingLink, saveRecording, type RecordingData, type RecordingDeps, type RecordingFile, type RecordingLink } from './commands/recordings';
import { RestTransport, httpError, shownPath, type ResponseHeaders, type RestRequest, type RestResponse, type TlsSettings } from './connection/rest';
import { TokenSession, UserSession, type Session } from './connection/session';
import { EraSocket, type SocketState } from './connection/socket';
import { Subscriptions, type ListenSpec, type Listener } from './events/subscriptions';
import type { CallState, EraEvent, JsonObject, Logger } from './types';

export type { CallState, EraEvent, JsonObject, Logger, ProtocolObserver } from './types';
export type { CallCommand } from './commands/validate';
export type { ListenSpec } from './events/subscriptions';
export type { EventClaims } from './types';
export type { RecordingData, RecordingFile, RecordingLink } from './commands/recordings';

export type ClientState = 'idle' | SocketState | 'auth_failed';
export type { EraClientOptions, TlsConfig } from './connection/options';

export interface RestOptions {
  query?: Query;
  timeoutMs?: number;
}

export interface RestResult {
  statusCode: number;
  headers: ResponseHeaders;
  /** Parsed JSON, else the text; null when empty. */
  body: unknown;
}

export interface CommandResult {
  statusCode: number;
  body: unknown;
  /** The new call's id, for dial commands whose answer names it. */
  connectionId?: string;
}

/** What a call log (era-call-log) asks for: which calls, and how long a record waits for its recording's key. */
export interface CallLogSpec {
  /** `all` (default), `in` or `out`. */
  direction?: CallLogDirection;
  /** Milliseconds a record waits after the end for the recording's key (0: none); default 10 s. */
  waitRecordingMs?: number;
  /**
   * Names the log across a redeploy (a node's id, the same on every replica): a successor with
   * the same key, added within the linger, takes over its waiting records and those that came meanwhile.
   */
  key?: string;
}

export interface ListenHandle {
  close(): void;
}

/** What live figures (era-stats) ask for. */
export interface CallStatsSpec {
  /** The window of finished calls counted: 1 s to a day. */
  windowMs: number;
  /** An inbound call answered within this counts toward the service level. */
  serviceLevelMs: number;
  /** A predecessor's window (a redeploy): carried on when it was kept with the same window and service level. */
  resume?: StatsWindow;
}

export interface CallStatsHandle extends ListenHandle {
  /** The figures now; while the connection is not up, `live` is null (the table may no longer be true). */
  snapshot(): CallStatsSnapshot;
  /** The finished calls counted so far, for a successor to resume. */
  readonly window: StatsWindow;
}

export interface ClientStats {
  /** Pushes received (everything but replies). */
  received: number;
  /** Pushes decoded as events. */
  decoded: number;
  /** Pushes skipped because they could not be decoded. */
  undecodable: number;
  /** Events dropped because they had already reached the same listeners (or a replay reported them). */
  duplicates: number;
  /** Times the WebSocket came back after a loss. */
  reconnects: number;
}

export interface TestResult {
  ok: boolean;
  message: string;
}

/** Budgets of close(), which must end within 5 s whatever the server does. */
const CLOSE_UNSUBSCRIBE_MS = 1_500;
const CLOSE_LOGOUT_MS = 1_500;
const CLOSE_POOL_MS = 500;
const WARNINGS_KEPT = 200;
const DEFAULT_WAIT_RECORDING_MS = 10_000;
/** Records of one call log waiting for recording keys at most; beyond, the oldest goes out without its key. */
const CALL_LOG_PENDING_MAX = 10_000;
const DAY_MS = 86_400_000;
/** A refused `subscr` is asked for again on the same socket, from every 30 s to every 5 min: roles change. */
const CAPABILITY_RETRY_MIN_MS = 30_000;
const CAPABILITY_RETRY_MAX_MS = 300_000;
/** An HTTP method token; the platform's longest verb is 13 letters, so 32 is generous. */
const METHOD_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$/;
/** A request target as HTTP/1.1 sends it: printable ASCII, no spaces. */
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;

/** What a refused capability costs the user, appended to its warning. */
const CAPABILITY_CONSEQUENCES = new Map([
  ['subscr', ': no call events will arrive until the account or integration point is allowed subscriptions'],
  ['callrecord', ': recording links are fetched over REST instead'],
  ['ccs', ': call-control methods over the WebSocket (era-request) will be refused; the action nodes use REST and are not affected'],
]);

const silent: Logger = { debug: () => undefined, warn: () => undefined };

export interface EraClient {
  on(event: 'state', listener: (state: ClientState, detail?: string) => void): this;
  once(event: 'state', listener: (state: ClientState, detail?: string) => void): this;
  off(event: 'state', listener: (state: ClientState, detail?: string) => void): this;
  emit(event: 'state', state: ClientState, detail?: string): boolean;
}

/**
 * The platform client. The constructor throws EraError ERA_INVALID_INPUT for a
 * configuration that cannot work (no scheme in the URL, missing credentials, ...); nothing
 * touches the network until it is needed.
 */
export class EraClient extends EventEmitter {
  /** What the client knows of each call (fed by every event it receives). */
  readonly calls: CallTable;
  private readonly settings: Settings;
  private readonly origin: URL;
  /** Who the client authenticates as, in words (never the secret). */
  private readonly who: string;
  private readonly logger: Logger;
  private readonly redact: Redactor;
  private readonly transport: RestTransport;
  /** The TLS settings every connection of this client uses. */
  private readonly tls: TlsSettings;
  private readonly session: Session;
  private readonly socket: EraSocket;
  private readonly subscriptions: Subscriptions;
  private readonly pipeline: EventPipeline;
  /** The call table's changes, fanned out to the call logs and live figures. */
  private readonly feed: CallFeed;
  private readonly callLogs: CallLogs;
  private readonly gapFill: GapFill;
  private readonly counters: ClientStats = { received: 0, decoded: 0, undecodable: 0, duplicates: 0, reconnects: 0 };
  private readonly warned = new Set<string>();
  private readonly closeController = new AbortController();
  private currentState: ClientState = 'idle';
  private currentDetail: string | undefined;
  private subscriptionProblem: string | undefined;
  /** Why events cannot come although connected: the platform refused the `subscr` capability. */
  private capabilityProblem: string | undefined;
  /** What the platform granted the current (or last) socket. */
  private setup: ConnectionSetup | undefined;
  private readonly capabilityBackoff = new Backoff(CAPABILITY_RETRY_MIN_MS, CAPABILITY_RETRY_MAX_MS);
  private capabilityTimer: NodeJS.Timeout | undefined;
  private banTicker: NodeJS.Timeout | undefined;
  private wsUsers = 0;
  private trackers = 0;
  private tracker: Listener | undefined;
  private readonly claimQueue: ClaimQueue | undefined;
  /** The socket was open before: the next open comes after an outage and needs a gap fill. */
  private hadConnection = false;
  private closing: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(options: EraClientOptions) {
    super();
    // Each recording download (and retry delay) in flight listens to it: many at once are no leak.
    setMaxListeners(0, this.closeController.signal);
    const resolved = resolveOptions(options);
    this.origin = resolved.origin;
    this.settings = resolved.settings;
    const { credentials, tls } = resolved;
    this.who = credentials.mode === 'user' ? `Login "${credentials.login}" in domain "${credentials.domain}"` : 'The token';
    this.logger = options.logger ?? silent;
    this.redact = makeRedactor([credentials.secret]);
    this.tls = tls;
    this.transport = new RestTransport(this.origin, tls, this.settings.requestTimeoutMs, options.observer);
    const onAuthFailure = (err: EraError) => this.authFailed(err);
    this.session = credentials.mode === 'user'
      ? new UserSession(this.transport, {
          domain: credentials.domain,
          login: credentials.login,
          password: credentials.secret,
          redact: this.redact,
          guard: loginGuardFor(this.origin),
          banWaitMs: this.settings.banWaitMs,
          onFailure: onAuthFailure,
        })
      : new TokenSession(this.transport, credentials.secret, onAuthFailure);
    this.calls = new CallTable(this.settings.callTableCap, this.settings.endedCallGraceMs);
    const s = this.settings;
    // The subscriptions' transport below is a getter with a `this` of its own.
    const client = this;
    this.socket = new EraSocket(
      {
        origin: this.origin,
        tls,
        requestTimeoutMs: s.requestTimeoutMs,
        pingIntervalMs: s.pingIntervalMs,
        pingTimeoutMs: s.pingTimeoutMs,
        reconnectMinMs: s.reconnectMinMs,
        reconnectMaxMs: s.reconnectMaxMs,
        observer: options.observer,
      },
      this.session,
      {
        state: (state, detail) => this.socketState(state, detail),
        handshake: (request) => this.handshake(request),
        opened: () => this.socketOpened(),
        dropped: () => {
          this.subscriptions.dropped();
          this.gapFill.stop();
          this.gapFill.outage();
        },
        event: (ev, subscriptionId) => this.pipeline.event(ev, subscriptionId),
        undecodable: (reason, method) => this.pipeline.undecodable(reason, method),
      },
      this.counters,
    );
    // Subscriptions go out only once the platform granted `subscr` on the socket.
    const socket = this.socket;
    const eventsTransport = {
      get open(): boolean {
        return socket.open && granted(client.setup, 'subscr');
      },
      request: (method: string, params: JsonObject) => socket.request(method, params),
    };
    this.subscriptions = new Subscriptions(
      eventsTransport,
      { expires: s.subscriptionExpires, lingerMs: s.socketLingerMs, retryMinMs: s.reconnectMinMs, retryMaxMs: s.reconnectMaxMs },
      {
        debug: (msg) => this.logger.debug(msg),
        warnOnce: (msg) => this.warnOnce(msg),
        problem: (detail) => this.subscriptionState(detail),
        adopted: (listener) => this.pipeline.adopt(listener),
      },
    );
    this.claimQueue = options.claims === undefined ? undefined : new ClaimQueue(options.claims, { warnOnce: (msg) => this.warnOnce(msg) });
    this.feed = new CallFeed(this.calls);
    this.callLogs = new CallLogs({
      feed: this.feed,
      once: (keys, emit) => this.onceInCluster(keys, emit),
      lingerMs: s.socketLingerMs,
      warnOnce: (msg) => this.warnOnce(msg),
    });
    this.pipeline = new EventPipeline(this.subscriptions, this.calls, this.counters, { warnOnce: (msg, key) => this.warnOnce(msg, key) }, this.claimQueue);
    this.gapFill = new GapFill({
      send: (req) => this.call(req),
      table: this.calls,
      replay: (ev, listed) => this.pipeline.replay(ev, listed),
      maxCalls: s.callTableCap,
      retryMinMs: s.reconnectMinMs,
      retryMaxMs: s.reconnectMaxMs,
      debug: (msg) => this.logger.debug(msg),
      warnOnce: (msg) => this.warnOnce(msg),
    });
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Why the state is what it is ("connection refused", ...), when there is something to say. */
  get stateDetail(): string | undefined {
    return this.currentDetail;
  }

  /** What the platform granted the socket at its last connection setup (undefined before the first). */
  get connectionSetup(): ConnectionSetup | undefined {
    return this.setup;
  }

  /** The TLS settings of this client's connections (the compatibility report checks the certificate with them). */
  get tlsSettings(): Readonly<TlsSettings> {
    return this.tls;
  }

  get stats(): ClientStats {
    return { ...this.counters };
  }

  /** Any REST request with the client's credentials. Non-2xx answers throw (404 ERA_NOT_FOUND, else ERA_HTTP). */
  async rest(method: string, path: string, body?: unknown, options: RestOptions = {}): Promise<RestResult> {
    if (typeof method !== 'string' || !METHOD_TOKEN.test(method)) {
      throw invalid(`${shownValue(method)} is not an HTTP method: use GET, POST, REFER, ...`);
    }
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw invalid(`The path ${shownValue(path)} must start with "/", e.g. ${PATHS.calls}`);
    }
    if (!REQUEST_TARGET.test(path)) {
      throw invalid(`The path ${shownValue(path)} has spaces or characters that must be percent-encoded (encodeURIComponent)`);
    }
    const why = unserialisable(body);
    if (why !== undefined) throw invalid(`The request body cannot be sent as JSON: ${why}`);
    const res = await this.call({ method, path, body, query: options.query, timeoutMs: options.timeoutMs });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }

  /** A call command (dial, transfer, hold, ...): validated before anything is sent, then sent over REST. */
  async command(cmd: CallCommand): Promise<CommandResult> {
    const valid = validateCommand(cmd);
    const res = await this.call(buildCallRequest(valid));
    if (valid.op === 'transfer' && valid.replaces !== undefined) this.calls.noteTransfer(valid.call, valid.replaces);
    const result: CommandResult = { statusCode: res.statusCode, body: res.body };
    const id = valid.op === 'dial' ? connectionIdFromResponse(res.body) : undefined;
    if (id !== undefined) result.connectionId = id;
    return result;
  }

  /**
   * A WebSocket request; opens the socket for it when nothing else holds it open. Resolves
   * with the reply's params; an error reply throws (ERA_NOT_FOUND or ERA_HTTP).
   */
  async wsRequest(method: string, params: JsonObject = {}, options: { timeoutMs?: number } = {}): Promise<JsonObject> {
    if (typeof method !== 'string' || method.trim() === '') throw invalid('The WebSocket method is empty');
    if (!isObject(params)) throw invalid('WebSocket parameters must be a JSON object');
    const why = unserialisable(params);
    if (why !== undefined) throw invalid(`WebSocket parameters cannot be sent as JSON: ${why}`);
    const name = method.trim();
    const reply = await this.rawWsRequest(name, params, options.timeoutMs);
    const error = replyError(reply, false);
    if (error === undefined) return reply;
    const code = error.code === undefined ? '' : ` (code ${clipText(String(error.code))})`;
    const words = `${this.redact(excerpt(error.message))}${code}`;
    const text = isUnknownMethodReply(error, name)
      ? `This Era version does not support the WebSocket method ${clipText(name)}: ${words}`
      : `${clipText(name)}: the platform answered with an error: ${words}`;
    throw new EraError(isNotFoundReply(error) ? 'ERA_NOT_FOUND' : 'ERA_HTTP', text);
  }

  /**
   * Calls `callback` for each event matching `spec.events` (once per event, in arrival
   * order). The socket opens with the first listener and closes with the last.
   */
  listen(spec: ListenSpec, callback: (ev: EraEvent) => void): ListenHandle {
    this.assertUsable();
    if (!isObject(spec) || !Array.isArray(spec.events)) throw invalid('listen() needs { events: [patterns] }');
    if (typeof callback !== 'function') throw invalid('listen() needs a callback');
    // The tracker first, so that the shared subscription is sent once with the full union.
    if (spec.attachCall === true) this.track(1);
    let listener: Listener;
    try {
      listener = this.subscriptions.add(spec, callback);
    } catch (err) {
      if (spec.attachCall === true) this.track(-1);
      throw err;
    }
    this.updateSocket();
    return this.handle(() => {
      this.subscriptions.remove(listener);
      if (listener.attachCall) this.track(-1);
    });
  }

  /**
   * Feeds an event received without the socket (a webhook delivery) into the call table and
   * its dedup: a webhook copy and a socket copy of one event update the table once. Reaches no
   * listener and opens no socket. Returns a copy of the call's state after it, or undefined.
   */
  ingest(ev: EraEvent): CallState | undefined {
    this.assertUsable();
    const state = this.pipeline.ingest(ev);
    return state === undefined ? undefined : snapshot(state);
  }

  /** How the client authenticates: `user` (login) or `token` (integration point). */
  get authMode(): 'user' | 'token' {
    return this.session.mode;
  }

  /**
   * Runs `emit` unless another replica of the cluster claimed `keys` first; at once without a
   * cluster. Runs follow the order of calls (and of exclusive listeners' events).
   */
  onceInCluster(keys: readonly string[], emit: () => void): void {
    if (this.closing) return;
    if (this.claimQueue === undefined) emit();
    else this.claimQueue.submit(keys, emit);
  }

  /**
   * The calls a predecessor (the client of the same server before a redeploy) knew as live:
   * they enter the table, and the first connection is treated as a return after an outage,
   * so whatever happened to them in between is reported (gap fill), not lost.
   */
  resume(calls: readonly CallState[]): void {
    this.assertUsable();
    const live = calls.filter((c) => c.state !== 'ended');
    if (live.length === 0) return;
    for (const call of live) this.calls.restore(call);
    this.gapFill.remember(live.map((c) => c.connectionId));
    this.hadConnection = true;
  }

  /** Keeps the call table fed (the calls subscription open) until the handle is closed. */
  trackCalls(): ListenHandle {
    this.assertUsable();
    this.track(1);
    this.updateSocket();
    return this.handle(() => this.track(-1));
  }

  /**
   * One record per finished call (nodes.md, "Call log node"): after its end, with its recording's
   * key once it came (or `waitRecordingMs` passed), once — in a cluster, out of one replica.
   * Keeps the call table fed until the handle is closed.
   */
  callLog(spec: CallLogSpec, callback: (logged: LoggedCall) => void): ListenHandle {
    this.assertUsable();
    if (!isObject(spec)) throw invalid('callLog() needs { direction?, waitRecordingMs?, key? }');
    if (typeof callback !== 'function') throw invalid('callLog() needs a callback');
    const direction = spec.direction ?? 'all';
    if (direction !== 'all' && direction !== 'in' && direction !== 'out') throw invalid(`Unknown call log direction ${shownValue(direction)}: use all, in or out`);
    const wait = spec.waitRecordingMs ?? DEFAULT_WAIT_RECORDING_MS;
    if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0) throw invalid(`The wait for a recording must be 0 or more milliseconds, not ${shownValue(wait)}`);
    const key = typeof spec.key === 'string' && spec.key !== '' ? spec.key : undefined;
    this.track(1);
    const log = this.callLogs.add(key, { direction, waitRecordingMs: Math.min(wait, MAX_TIMER_MS), maxPending: CALL_LOG_PENDING_MAX }, callback);
    this.updateSocket();
    return this.handle(() => {
      log.close();
      this.track(-1);
    });
  }

  /**
   * Live figures (nodes.md, "Live figures node"): the calls going on now, from the call table, and
   * the calls that ended in the last `windowMs`, counted as they end. Keeps the call table fed
   * until the handle is closed. Every replica of a cluster holds the whole table, so each one's
   * figures are the same.
   */
  callStats(spec: CallStatsSpec): CallStatsHandle {
    this.assertUsable();
    if (!isObject(spec)) throw invalid('callStats() needs { windowMs, serviceLevelMs }');
    const { windowMs, serviceLevelMs, resume } = spec;
    if (typeof windowMs !== 'number' || !(windowMs >= 1000 && windowMs <= DAY_MS)) throw invalid(`The window of the figures must be 1 s to a day, not ${shownValue(windowMs)} ms`);
    if (typeof serviceLevelMs !== 'number' || !(serviceLevelMs >= 0 && serviceLevelMs <= DAY_MS)) throw invalid(`The service level must be 0 s to a day, not ${shownValue(serviceLevelMs)} ms`);
    const carried = resume instanceof StatsWindow && resume.windowMs === windowMs && resume.serviceLevelMs === serviceLevelMs;
    const window = carried ? resume : new StatsWindow(windowMs, serviceLevelMs);
    const stats = new CallStats(this.calls, window, (msg) => this.warnOnce(msg));
    this.track(1);
    this.feed.add(stats);
    this.updateSocket();
    const handle = this.handle(() => {
      this.feed.remove(stats);
      this.track(-1);
    });
    return { snapshot: () => stats.snapshot(this.state), window, close: handle.close };
  }

  /** A handle whose close() undoes a registration once, then lets the socket go if unused. */
  private handle(undo: () => void): ListenHandle {
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        undo();
        this.updateSocket();
      },
    };
  }

  /**
   * The temporary link of a recording (`url`), the recording itself (`buffer`), or the
   * recording streamed into the file at `path` (`file`: written whole or not at all).
   */
  fetchRecording(key: string, options?: { output?: 'url' }): Promise<RecordingLink>;
  fetchRecording(key: string, options: { output: 'buffer' }): Promise<RecordingData>;
  fetchRecording(key: string, options: { output: 'file'; path: string }): Promise<RecordingFile>;
  async fetchRecording(key: string, options: { output?: 'url' | 'buffer' | 'file'; path?: string } = {}): Promise<RecordingLink | RecordingData | RecordingFile> {
    if (typeof key !== 'string' || key.trim() === '') throw invalid('The recording key is empty');
    const output = options.output ?? 'url';
    if (output !== 'url' && output !== 'buffer' && output !== 'file') throw invalid(`Unknown recording output "${String(output)}": use url, buffer or file`);
    if (output === 'file' && (typeof options.path !== 'string' || options.path.trim() === '')) throw invalid('Saving a recording needs the path of the file');
    this.assertUsable();
    const deps: RecordingDeps = {
      origin: this.origin,
      session: this.session,
      transport: this.transport,
      wsRequest: (method, params) => this.rawWsRequest(method, params, undefined),
      socketGrants: (capability) => this.socketGrants(capability),
      redact: this.redact,
      timeoutMs: this.settings.requestTimeoutMs,
      retries: this.settings.recordingRetries,
      retryDelayMs: this.settings.recordingRetryDelayMs,
      closing: this.closeController.signal,
    };
    if (output === 'file') return saveRecording(key.trim(), resolvePath(String(options.path)), deps);
    return output === 'url' ? recordingLink(key.trim(), deps) : downloadRecording(key.trim(), deps);
  }

  /** Logs in (or checks the token) with a cheap request; says how it went in words for a person. */
  async testConnection(): Promise<TestResult> {
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

  /**
   * Deletes the subscriptions and the session (best-effort), closes the socket and the
   * pool. Resolves within 5 s even when the server never answers; afterwards nothing of the
   * client runs (no timer, socket or listener).
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------

  private async shutDown(): Promise<void> {
    this.closeController.abort();
    this.claimQueue?.close();
    this.callLogs.close();
    clearTimeout(this.lingerTimer);
    clearTimeout(this.capabilityTimer);
    clearTimeout(this.banTicker);
    this.lingerTimer = this.capabilityTimer = this.banTicker = undefined;
    this.gapFill.reset();
    this.tracker = undefined;
    this.trackers = 0;
    const socketDone = this.subscriptions.deleteAll(CLOSE_UNSUBSCRIBE_MS).then(() => this.socket.stop());
    await Promise.all([socketDone, this.session.end(CLOSE_LOGOUT_MS)]);
    await this.transport.close(CLOSE_POOL_MS);
    this.removeAllListeners();
  }

  private assertUsable(): void {
    if (this.closing) throw new EraError('ERA_NOT_CONNECTED', 'The Era client is closed');
  }

  /** A request with credentials; throws for anything but 2xx. */
  private async call(req: RestRequest): Promise<RestResponse> {
    this.assertUsable();
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

  private async rawWsRequest(method: string, params: JsonObject, timeoutMs: number | undefined): Promise<JsonObject> {
    this.assertUsable();
    if (this.session.failure) throw this.session.failure;
    this.wsUsers++;
    this.updateSocket();
    try {
      return await this.socket.request(method, params, timeoutMs);
    } finally {
      this.wsUsers--;
      this.updateSocket();
    }
  }

  /** Opens the socket if needed and says whether its setup granted `capability`. */
  private async socketGrants(capability: string): Promise<boolean> {
    this.assertUsable();
    if (this.session.failure) throw this.session.failure;
    this.wsUsers++;
    this.updateSocket();
    try {
      await this.socket.ready();
      return granted(this.setup, capability);
    } finally {
      this.wsUsers--;
      this.updateSocket();
    }
  }

  private track(delta: number): void {
    this.trackers += delta;
    if (this.trackers > 0 && this.tracker === undefined) {
      this.tracker = this.subscriptions.add({ events: CALL_TABLE_EVENTS, passive: true }, () => undefined);
    } else if (this.trackers === 0 && this.tracker !== undefined) {
      this.subscriptions.remove(this.tracker);
      this.tracker = undefined;
    }
  }

  /**
   * Opens the socket while someone needs it, closes it when nobody does — after a short
   * linger, because a redeploy closes a flow's nodes and starts their successors a moment
   * later, and they should find the socket (and the call table) still there.
   */
  private updateSocket(): void {
    if (this.closing || this.session.failure) return;
    const needed = this.subscriptions.size > 0 || this.wsUsers > 0;
    if (needed) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (!this.socket.active) this.socket.start();
    } else if (this.socket.active && this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => this.stopUnusedSocket(), this.settings.socketLingerMs);
      this.lingerTimer.unref();
    }
  }

  private stopUnusedSocket(): void {
    this.lingerTimer = undefined;
    if (this.closing || this.subscriptions.size > 0 || this.wsUsers > 0) return;
    void this.socket.stop();
    // Nothing listens any more, so the table would silently go stale: start afresh next time.
    this.hadConnection = false;
    this.gapFill.reset();
    this.calls.clear();
    this.setState('idle');
  }

  private socketState(state: SocketState, detail: string | undefined): void {
    if (state === 'connected') {
      this.setState('connected', this.capabilityProblem ?? this.subscriptionProblem);
    } else if (state === 'disconnected' && this.session.banEndsAt() > Date.now()) {
      this.tickBan();
    } else {
      this.setState(state, detail);
    }
  }

  /** While a ban is waited out, the status counts down to the next try. */
  private tickBan(): void {
    clearTimeout(this.banTicker);
    this.banTicker = undefined;
    const left = this.session.banEndsAt() - Date.now();
    if (left <= 0 || this.closing) return;
    this.setState('disconnected', banStatus(left));
    this.banTicker = setTimeout(() => this.tickBan(), Math.min(1000, left));
    this.banTicker.unref();
  }

  private subscriptionState(detail: string | undefined): void {
    this.subscriptionProblem = detail;
    if (this.currentState === 'connected') this.setState('connected', this.capabilityProblem ?? detail);
  }

  private async handshake(request: (method: string, params: JsonObject) => Promise<JsonObject>): Promise<void> {
    clearTimeout(this.banTicker);
    this.banTicker = undefined;
    this.setup = await setUpConnection({
      request,
      session: this.session,
      redact: this.redact,
      notice: (msg) => this.warnOnce(msg),
    });
    for (const [key, answer] of this.setup.capabilities ?? []) {
      if (!answer.ok) this.warnOnce(`The platform refused the "${key}" capability: ${this.redact(answer.errormsg ?? 'refused')}${CAPABILITY_CONSEQUENCES.get(key) ?? ''}`);
    }
  }

  private socketOpened(): void {
    const afterOutage = this.hadConnection;
    this.hadConnection = true;
    this.capabilityBackoff.reset();
    this.checkEvents();
    void this.subscriptions.opened().then(() => (afterOutage && !this.closing ? this.gapFill.start() : undefined));
  }

  /** Shows (and keeps asking again for) a refused `subscr`: without it no event comes. */
  private checkEvents(): void {
    clearTimeout(this.capabilityTimer);
    this.capabilityTimer = undefined;
    const refused = refusal(this.setup, 'subscr');
    this.capabilityProblem = refused === undefined ? undefined : `events refused (subscr): ${this.redact(refused)}`;
    if (this.currentState === 'connected') this.setState('connected', this.capabilityProblem ?? this.subscriptionProblem);
    if (refused === undefined) return;
    this.capabilityTimer = setTimeout(() => void this.askForEvents(), this.capabilityBackoff.next());
    this.capabilityTimer.unref();
  }

  private async askForEvents(): Promise<void> {
    this.capabilityTimer = undefined;
    if (this.closing || !this.socket.open) return;
    try {
      const answer = capabilityResults(await this.socket.request(SETUP_METHOD, setupParams(['subscr'])))?.get('subscr');
      if (answer !== undefined && this.setup?.capabilities) this.setup.capabilities.set('subscr', answer);
    } catch (err) {
      this.logger.debug(`asking again for the subscr capability failed: ${messageOf(err)}`);
    }
    if (this.closing || !this.socket.open) return;
    this.checkEvents();
    if (this.capabilityProblem === undefined) void this.subscriptions.opened();
  }

  private authFailed(err: EraError): void {
    this.setState('auth_failed', err.message);
    void this.socket.stop();
  }

  private setState(state: ClientState, detail?: string): void {
    if (this.closing) return;
    if (this.currentState === 'auth_failed') return; // for good, until the configuration changes
    if (state === this.currentState && detail === this.currentDetail) return;
    this.currentState = state;
    this.currentDetail = detail;
    this.logger.debug(detail === undefined ? `connection ${state}` : `connection ${state}: ${detail}`);
    this.emit('state', state, detail);
  }

  private warnOnce(msg: string, key = msg): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= WARNINGS_KEPT) this.warned.clear();
    this.warned.add(key);
    this.logger.warn(msg);
  }
}
