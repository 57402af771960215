/**
 * A small HTTP/1.1 server side on a raw socket. Node's own HTTP parser answers 400 to the
 * platform's method tokens (REFER, SWITCHCONF, SEND_DTMF, ...) before any handler runs, so
 * the simulator reads requests itself: request line, headers, a Content-Length or chunked
 * body, keep-alive with pipelining, and hands WebSocket upgrades over untouched.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpRequest {
  method: string;
  /** The request-target as sent, path and query. */
  target: string;
  /** The path part of the target, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names; repeated headers joined. */
  headers: Record<string, string>;
  body: Buffer;
  remoteAddress: string;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpHandlers {
  /** Call `respond` once. Never calling it leaves the connection waiting (a fault the tests use). */
  request(req: HttpRequest, respond: (reply: HttpReply) => void): void;
  /** The socket now belongs to the handler; `head` holds bytes that arrived after the request. */
  upgrade(req: HttpRequest, socket: Socket, head: Buffer): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Idle keep-alive connections are closed after this; clients normally close theirs first. */
const IDLE_MS = 120_000;
const EMPTY = Buffer.alloc(0);
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;
const CRLF = '\r\n';
const HEAD_END = '\r\n\r\n';

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client for the ban rule. */
function normaliseAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function writeResponse(socket: Socket, reply: HttpReply, keepAlive: boolean, headOnly = false): void {
  if (socket.destroyed) return;
  const body = reply.body === undefined ? EMPTY : typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Status'}${CRLF}`;
  for (const [name, value] of Object.entries(reply.headers ?? {})) head += `${name}: ${value}${CRLF}`;
  head += `Content-Length: ${body.length}${CRLF}Connection: ${keepAlive ? 'keep-alive' : 'close'}${CRLF}${CRLF}`;
  const headBytes = Buffer.from(head, 'latin1');
  socket.write(headOnly || body.length === 0 ? headBytes : Buffer.concat([headBytes, body]));
}

type Framing = { kind: 'need-more' } | { kind: 'error'; status: number } | { kind: 'request'; req: HttpRequest; end: number; keepAlive: boolean; upgrade: boolean };

const NEED_MORE: Framing = { kind: 'need-more' };

/** Serve one accepted connection (plain or TLS) until it closes or is upgraded. */
export function serveHttp(socket: Socket, handlers: HttpHandlers): void {
  new HttpConnection(socket, handlers);
}

class HttpConnection {
  private buffer: Buffer = EMPTY;
  /** A request is being handled: later pipelined requests wait so answers stay in order. */
  private busy = false;
  private pumping = false;
  /** Closed for HTTP: upgraded, or a `Connection: close` exchange is over. */
  private finished = false;
  private continueSent = false;
  private readonly remoteAddress: string;

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.pump();
  };

  constructor(
    private readonly socket: Socket,
    private readonly handlers: HttpHandlers,
  ) {
    this.remoteAddress = normaliseAddress(socket.remoteAddress);
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    // Resets by clients are routine; without a listener they would crash the process.
    socket.on('error', () => socket.destroy());
    socket.on('data', this.onData);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.busy && !this.finished && this.buffer.length > 0) {
        const framing = this.frame();
        if (framing.kind === 'need-more') return;
        if (framing.kind === 'error') {
          this.finished = true;
          writeResponse(this.socket, { status: framing.status }, false);
          this.socket.end();
          return;
        }
        this.buffer = this.buffer.subarray(framing.end);
        this.continueSent = false;
        this.dispatch(framing.req, framing.keepAlive, framing.upgrade);
      }
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(req: HttpRequest, keepAlive: boolean, upgrade: boolean): void {
    if (upgrade) {
      this.finished = true;
      this.socket.removeListener('data', this.onData);
      this.socket.setTimeout(0);
      const head = this.buffer;
      this.buffer = EMPTY;
      try {
        this.handlers.upgrade(req, this.socket, head);
      } catch {
        this.socket.destroy();
      }
      return;
    }
    this.busy = true;
    let answered = false;
    const respond = (reply: HttpReply): void => {
      if (answered) return;
      answered = true;
      writeResponse(this.socket, reply, keepAlive, req.method === 'HEAD');
      this.busy = false;
      if (!keepAlive) {
        this.finished = true;
        this.socket.end();
        return;
      }
      this.pump();
    };
    try {
      this.handlers.request(req, respond);
    } catch {
      // A bug in a handler must cost one request, not the process that hosts the tests.
      respond({ status: 500 });
    }
  }

  /** Find the next complete request in the buffer, or say what is wrong with it. */
  private frame(): Framing {
    let start = 0;
    // Stray CRLFs between requests are allowed (RFC 9112 §2.2).
    while (start + 1 < this.buffer.length && this.buffer[start] === 13 && this.buffer[start + 1] === 10) start += 2;
    const headEnd = this.buffer.indexOf(HEAD_END, start, 'latin1');
    if (headEnd === -1) return this.buffer.length - start > MAX_HEAD_BYTES ? { kind: 'error', status: 431 } : NEED_MORE;
    if (headEnd - start > MAX_HEAD_BYTES) return { kind: 'error', status: 431 };

    const lines = this.buffer.toString('latin1', start, headEnd).split(CRLF);
    const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
    if (!requestLine) return { kind: 'error', status: 400 };
    const [, method = '', target = '', minor] = requestLine;
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) return { kind: 'error', status: 400 };
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers[name];
      headers[name] = previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
    }

    const bodyStart = headEnd + HEAD_END.length;
    let body: Buffer;
    let end: number;
    if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
      const chunked = decodeChunked(this.buffer, bodyStart);
      if (chunked === null) return this.waitForBody(headers);
      if (typeof chunked === 'number') return { kind: 'error', status: chunked };
      ({ body, end } = chunked);
    } else {
      const lengthHeader = headers['content-length'];
      const length = lengthHeader === undefined ? 0 : /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : -1;
      if (length < 0) return { kind: 'error', status: 400 };
      if (length > MAX_BODY_BYTES) return { kind: 'error', status: 413 };
      if (this.buffer.length < bodyStart + length) return this.waitForBody(headers);
      body = this.buffer.subarray(bodyStart, bodyStart + length);
      end = bodyStart + length;
    }

    const connection = (headers.connection ?? '').toLowerCase();
    const keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const upgrade = method === 'GET' && connection.includes('upgrade') && (headers.upgrade ?? '').toLowerCase() === 'websocket';
    const q = target.indexOf('?');
    const req: HttpRequest = {
      method,
      target,
      path: q === -1 ? target : target.slice(0, q),
      query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
      headers,
      body,
      remoteAddress: this.remoteAddress,
    };
    return { kind: 'request', req, end, keepAlive, upgrade };
  }

  private waitForBody(headers: Record<string, string>): Framing {
    if (!this.continueSent && (headers.expect ?? '').toLowerCase() === '100-continue') {
      this.continueSent = true;
      this.socket.write(`HTTP/1.1 100 Continue${CRLF}${CRLF}`);
    }
    return NEED_MORE;
  }
}

/** A chunked body from `pos`: the body and where it ends, null if incomplete, or a status. */
function decodeChunked(buffer: Buffer, pos: number): { body: Buffer; end: number } | null | number {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, pos, 'latin1');
    if (lineEnd === -1) return null;
    const sizeText = (buffer.toString('latin1', pos, lineEnd).split(';')[0] ?? '').trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 400;
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 2;
    if (size === 0) {
      // Trailers, ignored, up to the empty line.
      for (;;) {
        const trailerEnd = buffer.indexOf(CRLF, pos, 'latin1');
        if (trailerEnd === -1) return null;
        if (trailerEnd === pos) return { body: Buffer.concat(parts, total), end: pos + 2 };
        pos = trailerEnd + 2;
      }
    }
    total += size;
    if (total > MAX_BODY_BYTES) return 413;
    if (buffer.length < pos + size + 2) return null;
    parts.push(buffer.subarray(pos, pos + size));
    pos += size + 2;
  }
}
