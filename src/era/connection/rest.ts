/**
 * HTTP to the platform: one undici keep-alive pool per base URL (through the proxy the
 * environment names, when it names one), the TLS settings of THIS client only, a timeout per
 * request, and transport failures turned into EraErrors. It never retries: a command (a POST
 * dial) must not be sent twice.
 */
import type { Readable } from 'node:stream';
import { Pool, ProxyAgent, type Dispatcher } from 'undici';
import { EraError, describeNetworkError, type Redactor } from '../errors';
import { errorBodyText, isUnknownVerbStatus } from '../protocol/replies';
import { type Query } from '../protocol/paths';
import { proxyFor } from './proxy';
import type { ProtocolObserver } from '../types';
import { clipText, seconds } from '../util/text';

export interface TlsSettings {
  /** PEM bundle(s) of a private CA, added to what the server's chain is checked against. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** false only when the user switched verification off for this server. */
  verifyTls: boolean;
  /** A client certificate (PEM) and its key, for platforms that ask for one (a core tls-config node). */
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** The name to ask for in SNI and to check the certificate against, when not the URL's host. */
  servername?: string;
}

export interface RestRequest {
  method: string;
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  /** Sent as JSON when defined. */
  body?: unknown;
  /** How long the request may take, from when it was asked for (the transport's default when absent). */
  timeoutMs?: number;
  /** When `timeoutMs` runs out (epoch ms), for a request that waited before reaching the transport. */
  deadline?: number;
}

/** A request's deadline (epoch ms), and its failure when the deadline comes before its answer. */
export interface Until {
  deadline: number;
  late(): EraError;
}

/** The failure of a request whose time ran out: its whole time, wherever it was spent. */
export function noAnswer(host: string, timeoutMs: number): EraError {
  return new EraError('ERA_TIMEOUT', `No answer from ${host} within ${seconds(timeoutMs)}`);
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface RestResponse {
  statusCode: number;
  headers: ResponseHeaders;
  /** Parsed JSON, else the text; null when empty. A Buffer for downloads. */
  body: unknown;
}

export interface DownloadOptions {
  /** Takes a 2xx body as it arrives (a file being written); rejects with an EraError for its own failures. */
  save?: (body: Readable) => Promise<void>;
  /** Cuts the download (the client is closing). */
  signal?: AbortSignal;
}

const CONNECTIONS = 16;

export type ConnectOptions = Omit<TlsSettings, 'verifyTls'> & { rejectUnauthorized: boolean };

/** TLS options for a connection to the platform: only those set, so Node's defaults stay. */
export function connectOptions(tls: TlsSettings): ConnectOptions {
  const out: ConnectOptions = { rejectUnauthorized: tls.verifyTls };
  if (tls.ca) out.ca = tls.ca;
  if (tls.cert) out.cert = tls.cert;
  if (tls.key) out.key = tls.key;
  if (tls.passphrase) out.passphrase = tls.passphrase;
  if (tls.servername) out.servername = tls.servername;
  return out;
}

/** A keep-alive pool for `origin`, through the proxy the environment names for it if any. */
function dispatcherFor(origin: URL, tls: TlsSettings, connections: number): Dispatcher {
  const proxy = proxyFor(origin);
  return proxy === undefined
    ? new Pool(origin.origin, { connections, pipelining: 1, connect: connectOptions(tls) })
    : new ProxyAgent({ uri: proxy.href, requestTls: connectOptions(tls), connections, pipelining: 1 });
}

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (text === '') return null;
  const json = typeof contentType === 'string' && /json/i.test(contentType);
  const first = text.charCodeAt(0);
  // 0x7b '{', 0x5b '[': a JSON body sent with a wrong or missing Content-Type.
  if (json || first === 0x7b || first === 0x5b) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}


export class RestTransport {
  private readonly pool: Dispatcher;
  private readonly host: string;
  /** `scheme://host:port`, worked out once: URL's getter serialises it on every read. */
  private readonly originText: string;

  constructor(
    origin: URL,
    private readonly tls: TlsSettings,
    private readonly defaultTimeoutMs: number,
    private readonly observer?: ProtocolObserver,
  ) {
    this.host = origin.host;
    this.originText = origin.origin;
    this.pool = dispatcherFor(origin, tls, CONNECTIONS);
  }

  /** How long `req` may take in all. */
  timeoutOf(req: RestRequest): number {
    return req.timeoutMs ?? this.defaultTimeoutMs;
  }

  /** `req`'s time, running from now, and its failure when the time runs out before it could be sent. */
  until(req: RestRequest): Until {
    const timeoutMs = this.timeoutOf(req);
    return { deadline: Date.now() + timeoutMs, late: () => noAnswer(this.host, timeoutMs) };
  }

  /** Sends a request; an answer of any status resolves, a transport failure rejects. */
  async send(req: RestRequest): Promise<RestResponse> {
    const ended = await this.exchange(req, undefined);
    if (ended === WITHDRAWN) throw new EraError('ERA_NOT_CONNECTED', `The request to ${this.host} was withdrawn`);
    if ('error' in ended) throw ended.error;
    return ended;
  }

  /**
   * Sends a request that presents credentials `check` may withdraw: asked just before the
   * request is written (it may wait in the pool's queue first), false withdraws it unsent.
   * Never rejects: a failure says whether any of the request may have reached the platform.
   */
  present(req: RestRequest, check: WriteCheck): Promise<RestResponse | NoAnswer | typeof WITHDRAWN> {
    return this.exchange(req, check);
  }

  /**
   * A plain GET of an absolute URL (a recording link), through the pool when it is ours.
   * `idleMs` bounds the wait for the answer and every silence within its body, not the whole
   * transfer: a long recording over a slow link arrives as long as bytes keep coming. A 2xx
   * body goes to `save` as it arrives (the result's body is then null), else it is buffered;
   * any other answer's body is buffered, for the error message. `save` reports its own
   * failures as EraErrors; every other failure is the download's.
   */
  async download(url: URL, idleMs: number, options: DownloadOptions = {}): Promise<RestResponse> {
    if (url.origin === this.originText) return this.downloadWith(this.pool, url, idleMs, options);
    const client = dispatcherFor(url, this.tls, 1);
    try {
      return await this.downloadWith(client, url, idleMs, options);
    } finally {
      void client.destroy();
    }
  }

  /** Lets requests in flight finish for up to `graceMs`, then cuts them. */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([this.pool.close().catch(() => undefined), cut]);
    clearTimeout(timer);
    // After a clean close this resolves at once; after the grace it cuts what is left.
    await this.pool.destroy().catch(() => undefined);
  }

  private async downloadWith(dispatcher: Dispatcher, url: URL, idleMs: number, options: DownloadOptions): Promise<RestResponse> {
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: url.origin,
        method: 'GET',
        path: url.pathname + url.search,
        signal: options.signal,
        headersTimeout: idleMs,
        bodyTimeout: idleMs,
      });
    } catch (err) {
      throw downloadError(url.host, err, idleMs, options.signal, 'Cannot reach');
    }
    const { statusCode, headers } = res;
    try {
      if (options.save && statusCode >= 200 && statusCode < 300) {
        await options.save(res.body);
        return { statusCode, headers, body: null };
      }
      return { statusCode, headers, body: Buffer.from(await res.body.arrayBuffer()) };
    } catch (err) {
      if (err instanceof EraError) throw err;
      throw downloadError(url.host, err, idleMs, options.signal, 'The download broke off from');
    }
  }

  private exchange(req: RestRequest, check: WriteCheck | undefined): Promise<RestResponse | NoAnswer | typeof WITHDRAWN> {
    const headers: Record<string, string> = { ...req.headers };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    let path = req.path;
    if (req.query && Object.keys(req.query).length > 0) {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(req.query)) search.set(key, String(value));
      path += (path.includes('?') ? '&' : '?') + search.toString();
    }
    const timeoutMs = this.timeoutOf(req);
    const leftMs = req.deadline === undefined ? timeoutMs : Math.min(timeoutMs, req.deadline - Date.now());
    // Its time was spent waiting (for a login, at the session gate): it is not sent at all.
    if (leftMs <= 0) return Promise.resolve({ error: noAnswer(this.host, timeoutMs), sent: false });
    return new Promise((resolve) => {
      const handler = new Exchange(this.host, req.method, path, timeoutMs, leftMs, check, this.observer, resolve);
      // undici closes a connection after a body sent with a method it does not know to carry
      // one (REFER, NOTIFY, SEND_DTMF, ...); the platform expects those bodies, so keep it.
      this.pool.dispatch({ origin: this.originText, method: req.method, path, headers, body: payload, reset: false }, handler);
    });
  }
}

/** Asked just before a request is written: false withdraws it. */
export interface WriteCheck {
  readonly usable: boolean;
}

/** A request that was never written: what it presented was dropped while it waited in the pool's queue. */
export const WITHDRAWN = Symbol('withdrawn');

/** A request that got no answer. `sent`: some of it may have reached the platform (it was written). */
export interface NoAnswer {
  error: EraError;
  sent: boolean;
}

const WITHDRAW = new Error('withdrawn before it was written');

/**
 * One request's way through the pool, as undici's dispatch handler: it learns the moment the
 * request is about to be written (withdrawn then if its check says so), gathers the body, and
 * ends once — with the answer, or with what went wrong and whether the request was written.
 * Its own timer runs from the moment it is queued, as a caller's timeout does.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private written = false;
  private ended = false;
  private timedOut = false;
  private controller: Dispatcher.DispatchController | undefined;
  private statusCode = 0;
  private headers: ResponseHeaders = {};
  private chunks: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly host: string,
    private readonly method: string,
    private readonly path: string,
    /** The request's whole time, as the failure names it. */
    private readonly timeoutMs: number,
    /** What is left of it now (less after a wait at the session gate). */
    leftMs: number,
    private readonly check: WriteCheck | undefined,
    private readonly observer: ProtocolObserver | undefined,
    private readonly resolve: (ended: RestResponse | NoAnswer | typeof WITHDRAWN) => void,
  ) {
    this.timer = setTimeout(this.expired, leftMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.ended || this.check?.usable === false) {
      if (!this.ended) this.end(WITHDRAWN);
      controller.abort(WITHDRAW);
      return;
    }
    this.written = true;
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    // An informational answer (1xx) comes before the real one.
    this.statusCode = statusCode;
    this.headers = headers;
    this.chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.ended) return;
    const body = parseBody(bodyText(this.chunks), this.headers['content-type']);
    this.observer?.http?.({ method: this.method, path: this.path, statusCode: this.statusCode, headers: this.headers, body });
    this.end({ statusCode: this.statusCode, headers: this.headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.ended) return;
    const error = this.timedOut
      ? noAnswer(this.host, this.timeoutMs)
      : new EraError('ERA_NOT_CONNECTED', `Cannot reach ${this.host}: ${describeNetworkError(err)}`);
    this.end({ error, sent: this.written });
  }

  private readonly expired = (): void => {
    this.timedOut = true;
    // Written: cut it (onResponseError ends it). Still queued: it ends now, and is withdrawn when its turn comes.
    if (this.controller !== undefined) this.controller.abort(new Error('timed out'));
    else this.end({ error: noAnswer(this.host, this.timeoutMs), sent: false });
  };

  private end(ended: RestResponse | NoAnswer | typeof WITHDRAWN): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.resolve(ended);
  }
}

/** A body as text, as undici's `text()` reads it: UTF-8, a byte order mark left out. */
function bodyText(chunks: Buffer[]): string {
  if (chunks.length === 0) return '';
  const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

/** A failed download in words: silence (undici's idle timeouts) is ERA_TIMEOUT, the rest a lost connection. */
function downloadError(host: string, err: unknown, idleMs: number, signal: AbortSignal | undefined, failed: string): EraError {
  if (signal?.aborted) return new EraError('ERA_NOT_CONNECTED', `The download from ${host} was stopped: the client is closing`);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new EraError('ERA_TIMEOUT', `No answer from ${host} within ${seconds(idleMs)}`);
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new EraError('ERA_TIMEOUT', `The download from ${host} stalled: no data for ${seconds(idleMs)}`);
  }
  return new EraError('ERA_NOT_CONNECTED', `${failed} ${host}: ${describeNetworkError(err)}`);
}

const PATH_SHOWN = 120;

/** A request path as error messages show it: a call id can be any length, a message should not be. */
export function shownPath(path: string): string {
  return path.length > PATH_SHOWN ? `${path.slice(0, PATH_SHOWN - 1)}…` : path;
}

/** The error for a non-2xx answer: 404 is ERA_NOT_FOUND, anything else ERA_HTTP with the status. */
export function httpError(fullMethod: string, fullPath: string, res: RestResponse, redact: Redactor): EraError {
  const path = shownPath(fullPath);
  const method = clipText(fullMethod);
  const reason = redact(errorBodyText(Buffer.isBuffer(res.body) ? res.body.toString('utf8') : res.body));
  const tail = reason === '' ? '' : `: ${reason}`;
  if (res.statusCode === 404) {
    return new EraError('ERA_NOT_FOUND', `${method} ${path}: not found (HTTP 404)${tail}`, 404);
  }
  if (isUnknownVerbStatus(res.statusCode)) {
    // Older builds lack some verbs (INVITE, SEND_DTMF, SETUP_RECORD, ...): say so, not "failed".
    return new EraError('ERA_HTTP', `This Era version does not support ${method} on ${path} (HTTP ${res.statusCode})${tail}`, res.statusCode);
  }
  return new EraError('ERA_HTTP', `${method} ${path} failed with HTTP ${res.statusCode}${tail}`, res.statusCode);
}
