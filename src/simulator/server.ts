/**
 * The listening socket (plain or TLS) and the first decision about each request: control API,
 * banned address, injected REST fault, REST route or WebSocket upgrade.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { BanAnswers } from './ban';
import type { FaultState } from './faults';
import { serveHttp, writeResponse, type HttpReply, type HttpRequest } from './http';
import { errorReply, json, JSON_CONTENT_TYPE } from './reply';
import { restEntry, type RequestLog } from './requestlog';
import { isLogin } from './rest';
import type { RestStatusFault, SimRequestLog, TlsOptions } from './types';
import type { WsHub } from './ws';

export interface ServerDeps {
  ban: BanAnswers;
  faults: FaultState;
  log: RequestLog;
  hub: WsHub;
  rest(req: HttpRequest): HttpReply;
  control(req: HttpRequest): Promise<HttpReply>;
  tls?: TlsOptions;
}

const CONTROL_PREFIX = '/_sim';

export class SimServer {
  private readonly server: Server;
  /** Answers held back by the restDelay fault, cancelled by close(). */
  private readonly delayed = new Set<NodeJS.Timeout>();
  /** Every TCP connection, HTTP or upgraded, so that close() can cut them all. */
  private readonly connections = new Set<Socket>();

  constructor(private readonly deps: ServerDeps) {
    const onSocket = (socket: Socket): void =>
      serveHttp(socket, {
        request: (req, respond) => this.onRequest(req, respond),
        upgrade: (req, upgraded, head) => this.onUpgrade(req, upgraded, head),
      });
    const { tls } = deps;
    this.server = tls
      ? createTlsServer({ key: tls.key, cert: tls.cert, ...(tls.clientCa && { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }) }, onSocket)
      : createNetServer(onSocket);
    // 'connection' carries the TCP socket for TLS servers too, even before the handshake ends.
    this.server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Stop listening and cut every connection at once. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.destroyConnections();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.destroyConnections();
    });
  }

  private destroyConnections(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
  }

  private onRequest(req: HttpRequest, respond: (reply: HttpReply) => void): void {
    const { ban, faults, log } = this.deps;
    if (req.path === CONTROL_PREFIX || req.path.startsWith(`${CONTROL_PREFIX}/`)) {
      // The control API is never banned, logged or disturbed by faults.
      this.deps.control(req).then(respond, (err: unknown) => respond(errorReply(err)));
      return;
    }
    const entry = restEntry(req);
    log.add(entry);
    const finish = (reply: HttpReply): void => {
      entry.status = reply.status;
      log.publish(entry);
      respond(reply);
    };
    const banned = ban.rest(req.remoteAddress);
    if (banned) {
      finish(banned);
      return;
    }
    if (!isLogin(req)) {
      if (faults.takeRestHang()) {
        log.publish(entry);
        return;
      }
      const fault = faults.takeRestStatus();
      if (fault) {
        finish(faultReply(fault));
        return;
      }
    }
    const reply = this.deps.rest(req);
    const delayMs = isLogin(req) ? 0 : faults.takeRestDelay();
    if (delayMs === 0) {
      finish(reply);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      finish(reply);
    }, delayMs);
    this.delayed.add(timer);
  }

  private onUpgrade(req: HttpRequest, socket: Socket, head: Buffer): void {
    // Logged with the socket's frames (kind "ws"), so that counting REST requests is not
    // disturbed by reconnects; the headers show how the client authorised the upgrade.
    const entry: SimRequestLog = { ...restEntry(req), kind: 'ws', method: 'upgrade' };
    this.deps.log.add(entry);
    const banned = this.deps.ban.upgrade(req.remoteAddress, this.deps.hub.authorisesInBand(req.path));
    if (banned) {
      entry.status = banned.status;
      writeResponse(socket, banned, false);
      socket.end();
    } else {
      const status = this.deps.hub.upgrade(req, socket, head);
      if (status !== undefined) entry.status = status;
    }
    this.deps.log.publish(entry);
  }
}

function faultReply(fault: RestStatusFault): HttpReply {
  const { status, body, contentType } = fault;
  if (body === undefined) return json(status, { error: { code: 'injected', message: `injected fault: status ${status}` } });
  if (typeof body === 'string') return { status, headers: { 'Content-Type': contentType ?? 'text/plain; charset=utf-8' }, body };
  return { status, headers: { 'Content-Type': contentType ?? JSON_CONTENT_TYPE }, body: JSON.stringify(body) };
}
