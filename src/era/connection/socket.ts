/**
 * The client's one WebSocket. Owns the connection's life: credentials on the upgrade, a
 * bounded upgrade, the connection setup (the handler's handshake) before anything else, qid
 * request/reply, acknowledging pushes, protocol pings that find a half-open socket, and
 * reconnecting forever with backoff until told to stop. What the frames mean is protocol.ts's
 * business; what to do with events is the SocketHandler's.
 */
import WebSocket, { type ClientOptions } from 'ws';
import { Backoff } from '../util/backoff';
import { AckWriter } from './ack-writer';
import { EraError, REFUSED, describeNetworkError } from '../errors';
import { HandshakeError } from './handshake';
import { decodeFrame, encodeAck, encodeRequest, type FrameSink, type UndecodableReason } from '../protocol/frames';
import { excerpt, isNotFoundReply, isUnknownMethodReply, replyError } from '../protocol/replies';
import { proxyFor, tunnel } from './proxy';
import { connectOptions, type TlsSettings } from './rest';
import type { Session, UpgradeAnswer, UpgradeAuth } from './session';
import type { EraEvent, JsonObject, ProtocolObserver } from '../types';
import { clipText, seconds } from '../util/text';

export interface SocketSettings {
  origin: URL;
  tls: TlsSettings;
  requestTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  observer?: ProtocolObserver;
}

export type SocketState = 'connecting' | 'connected' | 'disconnected';

/** What the socket tells its owner. Called synchronously; must not throw. */
export interface SocketHandler {
  state(state: SocketState, detail?: string): void;
  /**
   * Sets up a freshly opened socket (`request` works before it is ready); the socket is ready
   * when this resolves. A HandshakeError says why not, and whether to try again.
   */
  handshake(request: (method: string, params: JsonObject) => Promise<JsonObject>): Promise<void>;
  /** The socket is open (again) and set up. */
  opened(): void;
  /** An open socket closed, whatever the reason. */
  dropped(): void;
  event(ev: EraEvent, subscriptionId: unknown): void;
  undecodable(reason: UndecodableReason, method: string | undefined): void;
}

export interface SocketCounters {
  received: number;
  reconnects: number;
}

interface Pending {
  resolve(params: JsonObject): void;
  reject(err: EraError): void;
  timer: NodeJS.Timeout;
}

interface OpenWaiter {
  resolve(): void;
  reject(err: EraError): void;
  timer: NodeJS.Timeout;
}

/** A frame as big as this is still read (and, being junk, skipped) rather than dropping the socket. */
const MAX_PAYLOAD = 16 * 1024 * 1024;
/** The longest wait between tries while the platform's port refuses connections. */
const REFUSED_RETRY_MAX_MS = 2000;
/** How long a polite close may take before the socket is cut. */
const CLOSE_GRACE_MS = 1000;


export class EraSocket implements FrameSink {
  private ws: WebSocket | undefined;
  /** Acknowledgements of pushes, written to the TCP/TLS socket under `ws`. */
  private readonly acks = new AckWriter(() => this.ws?.readyState === WebSocket.OPEN);
  private running = false;
  /** Bumped by start/stop so that a connect still waiting for a login knows it is stale. */
  private generation = 0;
  /** The WebSocket itself is open (frames can go). */
  private isOpen = false;
  /** Open and set up: requests and subscriptions may go. */
  private isReady = false;
  private everOpened = false;
  /** The previous attempt was refused with 401: do not log in again at once a second time. */
  private refusedBefore = false;
  private openedAt = 0;
  /** Why the current socket is being cut by us, when it is. */
  private cutReason: string | undefined;
  private lastDetail = '';
  private attemptTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private nextQid = 0;
  private readonly pending = new Map<unknown, Pending>();
  private readonly waiters = new Set<OpenWaiter>();
  private readonly backoff: Backoff;
  private readonly host: string;
  /** Through a corporate proxy when the environment names one for the platform (decided once). */
  private readonly createConnection: ReturnType<typeof tunnel> | undefined;

  constructor(
    private readonly settings: SocketSettings,
    private readonly session: Session,
    private readonly handler: SocketHandler,
    private readonly counters: SocketCounters,
  ) {
    this.backoff = new Backoff(settings.reconnectMinMs, settings.reconnectMaxMs);
    this.host = settings.origin.host;
    const proxy = proxyFor(settings.origin);
    this.createConnection = proxy && tunnel(proxy, settings.origin.protocol === 'https:', settings.requestTimeoutMs);
  }

  /** Open and set up, ready for requests. */
  get open(): boolean {
    return this.isReady;
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.everOpened = false;
    this.backoff.reset();
    this.attempt();
  }

  /** Closes politely (cut after a short grace) and stops reconnecting. Resolves once closed. */
  stop(): Promise<void> {
    this.running = false;
    this.generation++;
    clearTimeout(this.attemptTimer);
    this.attemptTimer = undefined;
    this.failWaiters(new EraError('ERA_NOT_CONNECTED', `The connection to ${this.host} was closed`));
    const ws = this.ws;
    if (ws === undefined) return Promise.resolve();
    // Receipts still waiting go before the close frame, which nothing may follow.
    this.acks.flush();
    // Detached at once, so that a start() before the close completes begins afresh.
    this.detach();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
    });
  }

  /** Sends a request and resolves with the reply's params (errors in them are the caller's to read). */
  async request(method: string, params: JsonObject, timeoutMs = this.settings.requestTimeoutMs): Promise<JsonObject> {
    const started = Date.now();
    if (!this.isReady) await this.whenReady(timeoutMs);
    return this.send(method, params, timeoutMs, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  /** Resolves once the socket is open and set up (opening it is the owner's business). */
  ready(timeoutMs = this.settings.requestTimeoutMs): Promise<void> {
    return this.isReady ? Promise.resolve() : this.whenReady(timeoutMs);
  }

  /** A request on the open socket, set up or not; `left` is what remains of `timeoutMs`. */
  private send(method: string, params: JsonObject, timeoutMs: number, left = timeoutMs): Promise<JsonObject> {
    const ws = this.ws;
    if (ws === undefined || !this.isOpen) {
      return Promise.reject(new EraError('ERA_NOT_CONNECTED', `The connection to ${this.host} closed before the answer came`));
    }
    const qid = ++this.nextQid;
    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(qid);
        reject(new EraError('ERA_TIMEOUT', `${method}: no answer from ${this.host} within ${seconds(timeoutMs)}`));
      }, left);
      this.pending.set(qid, { resolve, reject, timer });
      const frame = encodeRequest(method, qid, params);
      this.settings.observer?.frame?.('out', frame);
      ws.send(frame);
    });
  }

  // FrameSink ------------------------------------------------------------------------

  reply(qid: unknown, params: JsonObject): void {
    const pending = this.pending.get(qid);
    if (pending === undefined) return; // a late reply to a request that timed out
    this.pending.delete(qid);
    clearTimeout(pending.timer);
    pending.resolve(params);
  }

  event(ev: EraEvent, subscriptionId: unknown, method: string, qid: unknown): void {
    this.counters.received++;
    if (qid !== undefined) this.ack(method, qid);
    this.handler.event(ev, subscriptionId);
  }

  undecodable(reason: UndecodableReason, method: string | undefined, qid: unknown): void {
    this.counters.received++;
    // Even a push we cannot read was received: acknowledge it so the server does not resend it.
    if (method !== undefined && qid !== undefined) this.ack(method, qid);
    this.handler.undecodable(reason, method);
  }

  private ack(method: string, qid: unknown): void {
    if (this.ws === undefined || !this.isOpen) return;
    let frame: string;
    try {
      frame = encodeAck(method, qid);
    } catch {
      // A qid nested too deep to be written back cannot be acknowledged; the push is still read.
      return;
    }
    this.settings.observer?.frame?.('out', frame);
    this.acks.add(frame);
  }

  // Connection life ------------------------------------------------------------------

  private whenReady(timeoutMs: number): Promise<void> {
    if (!this.running) {
      return Promise.reject(this.session.failure
        ?? new EraError('ERA_NOT_CONNECTED', `The WebSocket to ${this.host} is not open`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: OpenWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const why = this.lastDetail ? `: ${this.lastDetail}` : '';
          reject(new EraError('ERA_NOT_CONNECTED', `Could not connect to ${this.host} within ${seconds(timeoutMs)}${why}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private failWaiters(err: EraError): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
  }

  private failPending(err: EraError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.pending.clear();
  }

  /** One connection attempt; whatever it throws becomes a retry, never an unhandled rejection. */
  private attempt(): void {
    const generation = this.generation;
    this.connect().catch((err: unknown) => {
      if (generation === this.generation && this.running) this.retryLater(describeNetworkError(err));
    });
  }

  private async connect(): Promise<void> {
    this.attemptTimer = undefined;
    const generation = this.generation;
    this.handler.state('connecting');
    let auth: UpgradeAuth;
    try {
      auth = await this.session.upgrade();
    } catch (err) {
      if (generation !== this.generation) return;
      if (this.session.failure) {
        this.giveUp();
        return;
      }
      this.retryLater(err instanceof EraError ? err.message : describeNetworkError(err));
      return;
    }
    if (generation !== this.generation) {
      auth.settle('not sent');
      return;
    }
    const { origin, tls } = this.settings;
    const url = `${origin.protocol === 'https:' ? 'wss:' : 'ws:'}//${origin.host}${auth.path}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers: auth.headers,
        handshakeTimeout: this.settings.requestTimeoutMs,
        maxPayload: MAX_PAYLOAD,
        perMessageDeflate: false,
        // A client's frames are masked against proxies that a browser's script could poison;
        // this client is no browser, and an all-zero mask lets ws skip masking its frames
        // (ws documents generateMask for this), as ack-writer.ts does for acknowledgements.
        generateMask: leaveMaskZero,
        ...connectOptions(tls),
        // ws hands this to http.request, which calls it in its callback form; @types/ws types
        // the option as net.createConnection.
        ...(this.createConnection && { createConnection: this.createConnection as unknown as ClientOptions['createConnection'] }),
      });
    } catch (err) {
      // Throws synchronously for a header value a server or a user gave that HTTP cannot carry
      // (ERR_INVALID_CHAR); nobody awaits this connect, so it must never escape.
      auth.settle('not sent');
      this.retryLater(`the WebSocket could not be opened: ${describeNetworkError(err)}`);
      return;
    }
    this.ws = ws;
    this.cutReason = undefined;
    let refusedStatus: number | undefined;
    let lastError: unknown;
    // What the upgrade's answer told the session, once: whether a 401 deserves a fresh login at once.
    let retryNow: boolean | undefined;
    const answered = (answer: UpgradeAnswer) => {
      retryNow ??= auth.settle(answer);
    };
    ws.on('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode;
      answered({ statusCode: res.statusCode ?? 0, headers: res.headers });
      this.settings.observer?.upgrade?.({ path: auth.path, statusCode: res.statusCode });
      ws.terminate();
    });
    ws.on('error', (err) => {
      lastError = err;
      if (refusedStatus === undefined && ws.readyState === WebSocket.CLOSED) {
        this.settings.observer?.upgrade?.({ path: auth.path, error: describeNetworkError(err) });
      }
    });
    ws.on('upgrade', (res) => {
      answered({ statusCode: 101, headers: res.headers });
      this.acks.attach(res.socket);
      this.settings.observer?.upgrade?.({ path: auth.path, statusCode: res.statusCode });
    });
    ws.on('open', () => {
      this.isOpen = true;
      this.schedulePing();
      void this.setUp(ws);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.undecodable('not JSON', undefined, undefined);
        return;
      }
      const text = data.toString();
      this.settings.observer?.frame?.('in', text);
      decodeFrame(text, this);
    });
    ws.on('pong', () => {
      clearTimeout(this.pongTimer);
      this.pongTimer = undefined;
      this.schedulePing();
    });
    ws.on('close', (code) => {
      answered(neverReached(lastError) ? 'not sent' : 'no answer');
      if (this.ws !== ws) return;
      this.closed(code, refusedStatus, lastError, retryNow === true);
    });
  }

  /** Runs the handshake on a fresh socket; the socket is ready after it, or cut and tried again. */
  private async setUp(ws: WebSocket): Promise<void> {
    try {
      await this.handler.handshake((method, params) => this.send(method, params, this.settings.requestTimeoutMs));
    } catch (err) {
      if (this.ws !== ws) return;
      const failure = err instanceof HandshakeError ? err : new HandshakeError(describeNetworkError(err), false);
      if (failure.final) {
        this.giveUp();
        void this.stop();
        return;
      }
      this.cutReason = failure.message;
      ws.terminate();
      return;
    }
    if (this.ws === ws) this.opened();
  }

  private opened(): void {
    this.isReady = true;
    this.openedAt = Date.now();
    this.refusedBefore = false;
    this.lastDetail = '';
    if (this.everOpened) this.counters.reconnects++;
    this.everOpened = true;
    this.handler.state('connected');
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.waiters.clear();
    this.handler.opened();
  }

  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.pingTimer = undefined;
      const ws = this.ws;
      if (!ws || !this.isOpen) return;
      ws.ping();
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        this.cutReason = `no answer to pings within ${seconds(this.settings.pingTimeoutMs)}`;
        ws.terminate();
      }, this.settings.pingTimeoutMs);
    }, this.settings.pingIntervalMs);
  }

  /** Forgets the current socket: no more pings, and requests waiting on it fail. */
  private detach(): void {
    const wasOpen = this.isReady;
    this.ws = undefined;
    this.acks.detach();
    this.isOpen = false;
    this.isReady = false;
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = this.pongTimer = undefined;
    this.failPending(new EraError('ERA_NOT_CONNECTED', `The connection to ${this.host} closed before the answer came`));
    if (wasOpen) this.handler.dropped();
  }

  private closed(code: number, refusedStatus: number | undefined, lastError: unknown, freshLogin: boolean): void {
    const wasOpen = this.isReady;
    this.detach();
    if (!this.running) return;

    if (refusedStatus === 401) {
      const again = freshLogin && !this.refusedBefore;
      if (this.session.failure) {
        this.giveUp();
        return;
      }
      if (again) {
        // The session expired: one fresh login, at once.
        this.refusedBefore = true;
        this.attempt();
        return;
      }
      this.retryLater('the platform refused the WebSocket (HTTP 401) even after logging in again');
      return;
    }
    this.refusedBefore = false;
    if (wasOpen && Date.now() - this.openedAt >= this.settings.pingIntervalMs + this.settings.pingTimeoutMs) {
      this.backoff.reset(); // that connection really was up: start again from the shortest delay
    }
    let detail: string;
    if (this.cutReason !== undefined) detail = this.cutReason;
    else if (refusedStatus !== undefined) detail = `the platform refused the WebSocket (HTTP ${refusedStatus})`;
    else if (lastError instanceof Error && lastError.message === 'Opening handshake has timed out') {
      detail = `no answer to the WebSocket upgrade within ${seconds(this.settings.requestTimeoutMs)}`;
    } else if (lastError !== undefined) detail = describeNetworkError(lastError);
    else detail = wasOpen ? `connection lost (code ${code})` : `the connection closed during the upgrade (code ${code})`;
    this.retryLater(detail);
  }

  private retryLater(detail: string): void {
    this.lastDetail = detail;
    this.handler.state('disconnected', detail);
    // A refused connection means nothing listens (the platform is restarting) and costs it
    // nothing, so those retries stay within 2 s to be back soon after it; any failure where
    // something answered backs off all the way to reconnectMaxMs.
    const ceiling = detail.endsWith(REFUSED) ? REFUSED_RETRY_MAX_MS : undefined;
    // A ban is waited out to its end: any knock before that only prolongs it.
    const banLeft = this.session.banEndsAt() - Date.now();
    this.attemptTimer = setTimeout(() => this.attempt(), banLeft > 0 ? banLeft : this.backoff.next(ceiling));
  }

  /** Authentication failed for good (the session says so): stop trying. */
  private giveUp(): void {
    this.running = false;
    this.failWaiters(this.session.failure!);
  }
}

/** The masking key ws hands over is zero-filled: left so, frames go unmasked. */
function leaveMaskZero(): void {}

/** Errors of a connection that never opened: nothing of the upgrade reached the platform. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether `err` (or what it wraps) says the connection never opened. */
function neverReached(err: unknown): boolean {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 3; depth++, e = e.cause as typeof e) {
    if (typeof e.code === 'string' && NOT_CONNECTED.has(e.code)) return true;
  }
  return false;
}

/**
 * The error a socket request's reply carries, as a person reads it (ERA_NOT_FOUND when it says
 * "no such thing", else ERA_HTTP), or undefined for a successful reply.
 */
export function replyFailure(method: string, reply: JsonObject, redact: (text: string) => string): EraError | undefined {
  const error = replyError(reply, false);
  if (error === undefined) return undefined;
  const code = error.code === undefined ? '' : ` (code ${clipText(String(error.code))})`;
  const words = `${redact(excerpt(error.message))}${code}`;
  const text = isUnknownMethodReply(error, method)
    ? `This Era version does not support the WebSocket method ${clipText(method)}: ${words}`
    : `${clipText(method)}: the platform answered with an error: ${words}`;
  return new EraError(isNotFoundReply(error) ? 'ERA_NOT_FOUND' : 'ERA_HTTP', text);
}
