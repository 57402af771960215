/**
 * The WebSocket endpoints (era-platform.md §2.2–§4): the user API `/ws` and the token API
 * `/ws/token/v1[/<TOKEN>]`, the `["method", {params}]` framing with qid echo, the connection's
 * `setup` and `login` (connection.ts), subscriptions and event pushes, the `ccs` call methods
 * and `callrecord_get_path`.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Session } from './auth';
import type { CallModel, PlatformEvent } from './calls';
import { ConnectionSetup, type ApiKind, type ConnectionDeps } from './connection';
import { errorBody, SimError } from './errors';
import { pushFrame, type PushFrame } from './envelope';
import { writeResponse, type HttpRequest } from './http';
import { uuid } from './ids';
import type { Recordings } from './recordings';
import { json } from './reply';
import { wsEntry, type RequestLog } from './requestlog';
import { SubscriptionSet } from './subscriptions';
import type { Envelope, SubscriptionInfo } from './types';

/** `auth`, `faults` and the connection options come with ConnectionDeps. */
export interface WsHubDeps extends ConnectionDeps {
  log: RequestLog;
  calls: CallModel;
  recordings: Recordings;
  envelope: Envelope;
  maxSubscriptionExpires: number;
  domain: string;
}

/** Client frames are small requests; anything bigger is a broken or hostile client. */
const MAX_PAYLOAD = 4 * 1024 * 1024;
const TOKEN_PATH = '/ws/token/v1';

type Params = Record<string, unknown>;
/** What a method handler adds to the `ok` reply; `result` replaces the "ok" itself. */
type ReplyFields = Params;

/** Who an upgrade let in; a strict `/ws` socket has no session until its in-band login. */
interface Owner {
  kind: ApiKind;
  session?: Session;
}

class SimSocket {
  readonly connectionId = uuid();
  readonly subs: SubscriptionSet;
  /** qid of the last push: incrementing per socket. */
  qid = 0;
  private corked = false;

  constructor(
    readonly ws: WebSocket,
    private readonly raw: Socket,
    readonly path: string,
    readonly conn: ConnectionSetup,
    maxExpires: number,
  ) {
    this.subs = new SubscriptionSet(this.connectionId, maxExpires);
  }

  /**
   * Send one text frame. Frames sent in the same tick are corked into one write, so a burst of
   * events costs a system call per tick rather than per event.
   */
  send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(text);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.raw.uncork();
  };
}

export class WsHub {
  private readonly sockets = new Set<SimSocket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    autoPong: false,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD,
  });

  constructor(private readonly deps: WsHubDeps) {}

  /**
   * Take over an upgrade request. Returns the status answered (101 when the socket is now a
   * WebSocket), or undefined when the `hangUpgrade` fault leaves it unanswered.
   */
  upgrade(req: HttpRequest, socket: Socket, head: Buffer): number | undefined {
    if (this.deps.faults.hangUpgrade) {
      socket.pause();
      return undefined;
    }
    const owner = this.authorize(req);
    if (typeof owner === 'number') {
      const message = owner === 404 ? `no WebSocket endpoint at ${req.path}` : 'not authorised';
      writeResponse(socket, json(owner, errorBody(owner === 404 ? 'not_found' : 'unauthorized', message)), false);
      socket.end();
      return owner;
    }
    let accepted = false;
    // ws reads only method, url and headers of the request it is given. Without a
    // verifyClient option it completes the handshake synchronously, so `accepted` is final below.
    const incoming = { method: req.method, url: req.target, headers: req.headers, socket } as unknown as IncomingMessage;
    this.wss.handleUpgrade(incoming, socket, head, (ws) => {
      accepted = true;
      this.adopt(ws, socket, req.path, new ConnectionSetup(this.deps, owner.kind, owner.session, req.remoteAddress));
    });
    return accepted ? 101 : 400;
  }

  /** Push one event to every subscription that matches it, once per subscription. */
  deliver(event: PlatformEvent): void {
    if (this.sockets.size === 0) return;
    let frame: PushFrame | undefined;
    let now = 0;
    for (const sock of this.sockets) {
      if (sock.subs.size === 0) continue;
      for (const sub of sock.subs.values()) {
        if (!sub.matches(event)) continue;
        // The expiry timer may be late while a burst keeps the loop busy; the deadline is not.
        if (now === 0) now = Date.now();
        if (sub.expiresAt <= now) continue;
        frame ??= pushFrame(this.deps.envelope, event);
        sock.send(frame.head + ++sock.qid + ',"id":' + sub.idJson + frame.tail);
      }
    }
  }

  /** Send a text frame to every open socket; returns how many got it. */
  sendAll(text: string): number {
    let sent = 0;
    for (const sock of this.sockets) {
      if (sock.ws.readyState !== WebSocket.OPEN) continue;
      sock.send(text);
      sent++;
    }
    return sent;
  }

  /** Kill every socket without a close frame, as a network failure would. */
  dropAll(closeCode?: number): number {
    const count = this.sockets.size;
    for (const sock of this.sockets) {
      sock.subs.clear();
      if (closeCode === undefined) sock.ws.terminate();
      else sock.ws.close(closeCode);
    }
    this.sockets.clear();
    return count;
  }

  subscriptions(): SubscriptionInfo[] {
    return [...this.sockets].flatMap((s) => s.subs.info());
  }

  clearSubscriptions(): void {
    for (const sock of this.sockets) sock.subs.clear();
  }

  /** The largest amount of data waiting to be written to one socket, for the burst's pacing. */
  maxBufferedAmount(): number {
    let max = 0;
    for (const sock of this.sockets) max = Math.max(max, sock.ws.bufferedAmount);
    return max;
  }

  /** Does a socket on `path` authorise in-band, by its `login`, rather than by its upgrade? */
  authorisesInBand(path: string): boolean {
    return this.deps.strict && isUserApi(path);
  }

  private authorize(req: HttpRequest): Owner | 401 | 404 {
    const { auth } = this.deps;
    if (isUserApi(req.path)) {
      // The documented user API authorises in-band (§2.3): the upgrade itself carries nothing.
      if (this.deps.strict) return { kind: 'user' };
      return auth.authenticate(req.headers, req.remoteAddress, true) ?? 401;
    }
    let token: string | undefined;
    if (req.path === TOKEN_PATH || req.path === `${TOKEN_PATH}/`) {
      token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    } else if (req.path.startsWith(`${TOKEN_PATH}/`)) {
      token = safeDecode(req.path.slice(TOKEN_PATH.length + 1));
    } else {
      return 404;
    }
    return token !== undefined && auth.checkIntegrationToken(token, req.remoteAddress) ? { kind: 'token' } : 401;
  }

  private adopt(ws: WebSocket, raw: Socket, path: string, conn: ConnectionSetup): void {
    const sock = new SimSocket(ws, raw, path, conn, this.deps.maxSubscriptionExpires);
    this.sockets.add(sock);
    ws.on('message', (data, isBinary) => this.onMessage(sock, data, isBinary));
    ws.on('ping', (data) => {
      if (!this.deps.faults.noPong) ws.pong(data);
    });
    // Protocol errors (oversized or broken frames) close the socket; the close handler cleans up.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      sock.subs.clear();
      this.sockets.delete(sock);
    });
  }

  private onMessage(sock: SimSocket, data: RawData, isBinary: boolean): void {
    const text = isBinary ? undefined : rawText(data);
    let frame: unknown;
    try {
      frame = text === undefined ? undefined : JSON.parse(text);
    } catch {
      frame = undefined;
    }
    if (!Array.isArray(frame) || typeof frame[0] !== 'string') {
      // Malformed frames are logged and ignored: a real server would not crash either.
      this.log(sock, '', text ?? '<binary>');
      return;
    }
    const method = frame[0];
    const params: unknown = frame[1];
    this.log(sock, method, params);
    // Acknowledgements of our pushes (`event_result`) need no answer.
    if (method.endsWith('_result')) return;
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      this.replyError(sock, method, undefined, 'bad_request', 'params must be an object');
      return;
    }
    const request = params as Params;
    try {
      const fields = this.handle(sock, method, request);
      if (fields !== undefined) this.reply(sock, method, request.qid, fields);
    } catch (err) {
      if (err instanceof SimError) this.replyError(sock, method, request.qid, err.code, err.message);
      else this.replyError(sock, method, request.qid, 'internal', err instanceof Error ? err.message : String(err));
    }
  }

  /** The reply's fields; undefined leaves the request unanswered. */
  private handle(sock: SimSocket, method: string, params: Params): ReplyFields | undefined {
    const { conn } = sock;
    if (method === 'setup') return conn.setup(params);
    if (method === 'login') return conn.login(params);
    conn.check(method);
    switch (method) {
      case 'connection_info': {
        const { session } = conn;
        return {
          domain: this.deps.domain,
          ownertype: conn.kind,
          capabilities: conn.capabilities(),
          sessionid: session?.id ?? sock.connectionId,
          connectionid: sock.connectionId,
          timestamp: Date.now(),
          ...(session && { login: session.login }),
        };
      }
      case 'subscribe': {
        const refused = this.deps.faults.takeSubscribeError();
        if (refused) throw new SimError(500, refused.code, refused.message);
        const expires = sock.subs.subscribe(params);
        return { id: params.id, expires };
      }
      case 'bye': {
        const { idconn } = params;
        if (typeof idconn !== 'string' || idconn === '') throw new SimError(400, 'bad_request', '"idconn" must name a call');
        this.deps.calls.hangup(this.deps.calls.activeCall(idconn), 'bye');
        return {};
      }
      case 'callrecord_get_path': {
        const { key } = params;
        if (typeof key !== 'string' || key === '') throw new SimError(400, 'bad_request', '"key" must be a recording key');
        return { result: this.deps.recordings.link(key) };
      }
      default:
        throw new SimError(400, 'unknown_method', `unknown method ${method}`);
    }
  }

  private reply(sock: SimSocket, method: string, qid: unknown, fields: ReplyFields): void {
    sock.send(JSON.stringify([`${method}_result`, { qid, result: 'ok', ...fields }]));
  }

  /** Strict: the documented `errormsg` (§3); lenient: the `error` object of earlier versions. */
  private replyError(sock: SimSocket, method: string, qid: unknown, code: string | number, message: string): void {
    const fields = this.deps.strict ? { errormsg: message } : { error: { code, message } };
    sock.send(JSON.stringify([`${method}_result`, { qid, result: 'error', ...fields }]));
  }

  private log(sock: SimSocket, method: string, params: unknown): void {
    const entry = wsEntry(sock.path, method, params);
    this.deps.log.add(entry);
    this.deps.log.publish(entry);
  }
}

function isUserApi(path: string): boolean {
  return path === '/ws' || path === '/ws/';
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
