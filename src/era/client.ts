/**
 * EraClient: the facade a config node holds. It builds the rooms — the connection (REST pool,
 * session, one socket), the event path (subscriptions, pipeline, gap fill), the call table and
 * what builds on it, the commands — wires them together, and offers a small API. Knows nothing
 * of Node-RED.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { CallCommand } from './commands/validate';
import { validateCommand, validateRestRequest, validateTimeout, validateWsRequest } from './commands/validate';
import { fetchRecording as fetchRecordingOf, type RecordingData, type RecordingFile, type RecordingLink } from './commands/recordings';
import { CallFeed } from './calls/feed';
import { CallLogs, checkedCallLog, type CallLogHandOver } from './calls/call-logs';
import type { LoggedCall } from './calls/call-log';
import { CallStats, statsWindowFor } from './calls/stats';
import { CallTable, snapshot, type CallHandOver } from './calls/table';
import { Connection } from './connection/connection';
import type { ConnectionSetup } from './connection/handshake';
import { resolveOptions, type EraClientOptions } from './connection/options';
import type { RestRequest, RestResponse, TlsSettings } from './connection/rest';
import { replyFailure } from './connection/socket';
import type { ClientState } from './connection/state';
import { EraError, invalid } from './errors';
import { ClaimQueue } from './events/claims';
import { GapFill } from './events/gapfill';
import { EventPipeline } from './events/pipeline';
import { SocketUse } from './events/socket-use';
import { Subscriptions, type ListenSpec, type Listener } from './events/subscriptions';
import { buildCallRequest, connectionIdFromResponse } from './protocol/commands';
import { isObject } from './protocol/values';
import type { CallLogSpec, CallStatsHandle, CallStatsSpec, ClientStats, CommandResult, ListenHandle, RestOptions, RestResult, TestResult } from './api';
import type { CallState, EraEvent, JsonObject, Logger } from './types';

export type { CallLogSpec, CallStatsHandle, CallStatsSpec, ClientState, ClientStats, CommandResult, ListenHandle, RestOptions, RestResult, TestResult } from './api';
export type { EraClientOptions, TlsConfig } from './connection/options';

/** Budgets of close(), which must end within 5 s whatever the server does. */
const CLOSE_UNSUBSCRIBE_MS = 1_500;
const CLOSE_LOGOUT_MS = 1_500;
const CLOSE_POOL_MS = 500;
const WARNINGS_KEPT = 200;

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
  private readonly logger: Logger;
  private readonly connection: Connection;
  private readonly use: SocketUse;
  private readonly subscriptions: Subscriptions;
  private readonly pipeline: EventPipeline;
  /** The call table's changes, for the call logs and the live figures. */
  private readonly feed: CallFeed;
  private readonly callLogs: CallLogs;
  private readonly gapFill: GapFill;
  private readonly claimQueue: ClaimQueue | undefined;
  private readonly counters: ClientStats = { received: 0, decoded: 0, undecodable: 0, duplicates: 0, reconnects: 0 };
  private readonly warned = new Set<string>();
  private readonly closeController = new AbortController();
  private closing: Promise<void> | undefined;
  /** Live figures whose node closed with a key, counting on for the linger: its successor takes them over. */
  private readonly lingeringStats = new Map<string, { stats: CallStats; timer: NodeJS.Timeout }>();

  constructor(options: EraClientOptions) {
    super();
    // Each recording download (and retry delay) in flight listens to it: many at once are no leak.
    setMaxListeners(0, this.closeController.signal);
    const resolved = resolveOptions(options);
    const s = resolved.settings;
    this.logger = options.logger ?? silent;
    this.connection = new Connection(resolved, { logger: this.logger, observer: options.observer, counters: this.counters, closing: this.closeController.signal }, {
      state: (state, detail) => this.emit('state', state, detail),
      // After an outage, what happened meanwhile is reported; on a first connection, the calls
      // going on already are learnt, for those who follow the table.
      opened: (afterOutage) => void this.subscriptions.opened().then(() => {
        if (this.closing) return undefined;
        if (afterOutage) return this.gapFill.start();
        return this.use.following ? this.gapFill.seed() : undefined;
      }),
      dropped: () => {
        this.subscriptions.dropped();
        this.gapFill.stop();
        this.gapFill.outage();
      },
      event: (ev, subscriptionId) => this.pipeline.event(ev, subscriptionId),
      undecodable: (reason, method) => this.pipeline.undecodable(reason, method),
      eventsGranted: () => void this.subscriptions.opened(),
      warnOnce: (msg) => this.warnOnce(msg),
    });
    const connection = this.connection;
    this.calls = new CallTable(s.callTableCap, s.endedCallGraceMs);
    this.subscriptions = new Subscriptions(
      // Subscriptions go out only once the platform granted `subscr` on the socket.
      { get open() { return connection.eventsOpen; }, request: (method, params) => connection.socket.request(method, params) },
      { expires: s.subscriptionExpires, lingerMs: s.socketLingerMs, retryMinMs: s.reconnectMinMs, retryMaxMs: s.reconnectMaxMs },
      {
        debug: (msg) => this.logger.debug(msg),
        warnOnce: (msg) => this.warnOnce(msg),
        problem: (detail) => connection.status.subscriptions(detail),
        adopted: (listener) => this.pipeline.adopt(listener),
      },
    );
    this.use = new SocketUse({
      subscriptions: this.subscriptions,
      socket: connection.socket,
      lingerMs: s.socketLingerMs,
      usable: () => !this.closing && connection.session.failure === undefined,
      idle: () => {
        // Nothing listens any more, so the table would silently go stale: start afresh next time.
        connection.outage(false);
        this.gapFill.reset();
        this.calls.clear();
        connection.status.set('idle');
      },
    });
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
    return this.connection.status.state;
  }

  /** Why the state is what it is ("connection refused", ...), when there is something to say. */
  get stateDetail(): string | undefined {
    return this.connection.status.detail;
  }

  /** What the platform granted the socket at its last connection setup (undefined before the first). */
  get connectionSetup(): ConnectionSetup | undefined {
    return this.connection.connectionSetup;
  }

  /** The TLS settings of this client's connections (the compatibility report checks the certificate with them). */
  get tlsSettings(): Readonly<TlsSettings> {
    return this.connection.tls;
  }

  get stats(): ClientStats {
    return { ...this.counters };
  }

  /** How the client authenticates: `user` (login) or `token` (integration point). */
  get authMode(): 'user' | 'token' {
    return this.connection.session.mode;
  }

  /** Any REST request with the client's credentials. Non-2xx answers throw (404 ERA_NOT_FOUND, else ERA_HTTP). */
  async rest(method: string, path: string, body?: unknown, options: RestOptions = {}): Promise<RestResult> {
    validateRestRequest(method, path, body);
    const timeoutMs = validateTimeout(options.timeoutMs);
    const res = await this.call({ method, path, body, query: options.query, timeoutMs });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }

  /** A call command (dial, transfer, hold, ...): validated before anything is sent, then sent over REST. */
  async command(cmd: CallCommand): Promise<CommandResult> {
    const valid = validateCommand(cmd);
    const res = await this.call(buildCallRequest(valid));
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
    const name = validateWsRequest(method, params);
    const reply = await this.rawWsRequest(name, params, validateTimeout(options.timeoutMs));
    const failure = replyFailure(name, reply, this.connection.redact);
    if (failure !== undefined) throw failure;
    return reply;
  }

  /**
   * Calls `callback` for each event matching `spec.events` (once per event, in arrival
   * order). The socket opens with the first listener and closes with the last.
   */
  listen(spec: ListenSpec, callback: (ev: EraEvent) => void): ListenHandle {
    this.assertUsable();
    if (!isObject(spec) || !Array.isArray(spec.events)) throw invalid('listen() needs { events: [patterns] }');
    if (typeof callback !== 'function') throw invalid('listen() needs a callback');
    const follows = spec.attachCall === true;
    // The table's subscription first, so that the shared subscription is sent once with the full union.
    if (follows) this.use.follow(1);
    let listener: Listener;
    try {
      listener = this.subscriptions.add(spec, callback);
    } catch (err) {
      if (follows) this.use.follow(-1);
      throw err;
    }
    this.use.update();
    return this.use.handle(() => {
      this.subscriptions.remove(listener);
      if (follows) this.use.follow(-1);
    });
  }

  /** Keeps the call table fed (the calls subscription open) until the handle is closed. */
  trackCalls(): ListenHandle {
    this.assertUsable();
    this.use.follow(1);
    this.use.update();
    return this.use.handle(() => this.use.follow(-1));
  }

  /**
   * One record per finished call (nodes.md, "Call log node"): after its end, with its recording's
   * key once it came (or `waitRecordingMs` passed), once — in a cluster, out of one replica.
   * Keeps the call table fed until the handle is closed.
   */
  callLog(spec: CallLogSpec, callback: (logged: LoggedCall) => void): ListenHandle {
    this.assertUsable();
    const { name, options } = checkedCallLog(spec);
    if (typeof callback !== 'function') throw invalid('callLog() needs a callback');
    this.use.follow(1);
    const log = this.callLogs.add(name, options, callback);
    this.use.update();
    return this.use.handle(() => {
      log.close();
      this.use.follow(-1);
    });
  }

  /**
   * Live figures (nodes.md, "Live figures node"): calls going on now from the call table, and the
   * finished calls of the last `windowMs` counted as the call log records them. Keeps the call
   * table fed until the handle is closed.
   */
  callStats(spec: CallStatsSpec): CallStatsHandle {
    this.assertUsable();
    const key = isObject(spec) && typeof spec.key === 'string' && spec.key !== '' ? spec.key : undefined;
    // A named predecessor still counting (a redeploy of the node alone) hands on its window: no call lost meanwhile.
    const lingering = key === undefined ? undefined : this.lingeringStats.get(key);
    if (lingering !== undefined) {
      this.lingeringStats.delete(key!);
      clearTimeout(lingering.timer);
      this.feed.remove(lingering.stats);
    }
    const window = statsWindowFor(lingering === undefined ? spec : { ...spec, resume: lingering.stats.window });
    const stats = new CallStats(this.calls, window, (msg) => this.warnOnce(msg));
    this.use.follow(1);
    this.feed.add(stats);
    this.use.update();
    const handle = this.use.handle(() => {
      const linger = this.connection.settings.socketLingerMs;
      if (key === undefined || linger <= 0 || this.closing) {
        this.feed.remove(stats);
      } else {
        const timer = setTimeout(() => {
          this.lingeringStats.delete(key);
          this.feed.remove(stats);
        }, linger);
        timer.unref();
        this.lingeringStats.set(key, { stats, timer });
      }
      this.use.follow(-1);
    });
    return { snapshot: () => stats.snapshot(this.tableState()), window, close: handle.close };
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
   * so whatever happened to them in between is reported (gap fill), not lost. And what its
   * named call logs held (`takeCallLogs()` there): their successors here take it over.
   */
  resume(calls: readonly CallHandOver[], callLogs: readonly CallLogHandOver[] = []): void {
    this.assertUsable();
    // Calls whose records still wait for their recording's key: ended here too, so the key finds them.
    for (const h of callLogs) for (const w of h.waiting) this.calls.restoreEnded(w.logged.call);
    this.callLogs.restore(callLogs);
    const live = calls.filter((c) => c.state !== 'ended');
    if (live.length === 0) return;
    for (const call of live) this.calls.restore(call);
    this.gapFill.remember(live.map((c) => c.connectionId));
    this.connection.outage(true);
  }

  /**
   * What the named call logs hold — records waiting for recording keys, records waiting for a
   * node being redeployed — taken out for a successor client (a full redeploy): `resume()` there.
   */
  takeCallLogs(): CallLogHandOver[] {
    return this.closing ? [] : this.callLogs.take();
  }

  /**
   * The temporary link of a recording (`url`), the recording itself (`buffer`), or the
   * recording streamed into the file at `path` (`file`: written whole or not at all).
   */
  fetchRecording(key: string, options?: { output?: 'url' }): Promise<RecordingLink>;
  fetchRecording(key: string, options: { output: 'buffer' }): Promise<RecordingData>;
  fetchRecording(key: string, options: { output: 'file'; path: string }): Promise<RecordingFile>;
  async fetchRecording(key: string, options: { output?: 'url' | 'buffer' | 'file'; path?: string } = {}): Promise<RecordingLink | RecordingData | RecordingFile> {
    return fetchRecordingOf(key, options, () => {
      this.assertUsable();
      const { origin, session, transport, redact, settings } = this.connection;
      return {
        origin,
        session,
        transport,
        redact,
        wsRequest: (method, params) => this.rawWsRequest(method, params, undefined),
        socketGrants: (capability) => this.socketGrants(capability),
        timeoutMs: settings.requestTimeoutMs,
        retries: settings.recordingRetries,
        retryDelayMs: settings.recordingRetryDelayMs,
        closing: this.closeController.signal,
      };
    });
  }

  /** Logs in (or checks the token) with a cheap request; says how it went in words for a person. */
  testConnection(): Promise<TestResult> {
    return this.connection.test();
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
    this.connection.stop();
    this.claimQueue?.close();
    this.callLogs.close();
    for (const { stats, timer } of this.lingeringStats.values()) {
      clearTimeout(timer);
      this.feed.remove(stats);
    }
    this.lingeringStats.clear();
    this.use.close();
    this.gapFill.reset();
    const { socket, session, transport } = this.connection;
    const socketDone = this.subscriptions.deleteAll(CLOSE_UNSUBSCRIBE_MS).then(() => socket.stop());
    await Promise.all([socketDone, session.end(CLOSE_LOGOUT_MS)]);
    await transport.close(CLOSE_POOL_MS);
    this.removeAllListeners();
  }

  private assertUsable(): void {
    if (this.closing) throw new EraError('ERA_NOT_CONNECTED', 'The Era client is closed');
  }

  /** A request with credentials; throws for anything but 2xx. */
  private async call(req: RestRequest): Promise<RestResponse> {
    this.assertUsable();
    return this.connection.call(req);
  }

  private async rawWsRequest(method: string, params: JsonObject, timeoutMs: number | undefined): Promise<JsonObject> {
    this.assertUsable();
    const { session, socket } = this.connection;
    if (session.failure) throw session.failure;
    return this.use.borrow(() => socket.request(method, params, timeoutMs));
  }

  /** Opens the socket if needed and says whether its setup granted `capability`. */
  private async socketGrants(capability: string): Promise<boolean> {
    this.assertUsable();
    const { session, socket } = this.connection;
    if (session.failure) throw session.failure;
    return this.use.borrow(async () => {
      await socket.ready();
      return this.connection.grants(capability);
    });
  }

  /** The connection's state as far as the call table can be trusted: `syncing` while it catches up with the platform's list. */
  private tableState(): string {
    return this.state === 'connected' && this.gapFill.busy ? 'syncing' : this.state;
  }

  private warnOnce(msg: string, key = msg): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= WARNINGS_KEPT) this.warned.clear();
    this.warned.add(key);
    this.logger.warn(msg);
  }
}
