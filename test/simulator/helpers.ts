/**
 * Test helpers that talk to the simulator the way any client would: undici for REST, raw `ws`
 * for WebSockets. Never the package's own client: the simulator is checked on its own.
 */
import assert from 'node:assert/strict';
import { request } from 'undici';
import WebSocket from 'ws';
import { startSimulator, type SimEvent, type Simulator, type SimulatorOptions } from '../../src/simulator';

export type Frame = [string, Record<string, unknown>];

/** The documented REST login (§2.1): a session token in the body. A strict platform takes no other session_type. */
export const LOGIN = { domain: 'demo.local', login: 'operator', pwd: 'operator', session_type: 'token' };
/** The in-band login of the user WebSocket API (§2.3), with the demo credentials. */
export const WS_LOGIN = { login: 'operator', pwd: 'operator', td: 'demo.local' };
/** The token API's socket path, with the demo integration token. */
export const TOKEN_WS_PATH = '/ws/token/v1/demo-token';
/** Every capability a method served by the simulator needs (subscribe, bye, callrecord_get_path). */
export const CAPABILITIES: readonly string[] = ['subscr', 'ccs', 'callrecord'];

export interface ReadyOptions {
  /** What `setup` asks for; by default every capability the simulator's methods need. */
  capabilities?: readonly unknown[];
  /** The user API's in-band login: `{rsessionid}` or `{login, pwd, td}`; the demo credentials by default. */
  login?: Record<string, unknown>;
}

export interface OpenReadyOptions extends ReadyOptions {
  /** Upgrade headers (a strict `/ws` ignores them). */
  headers?: Record<string, string>;
  /** Options of the `ws` client, e.g. the CA of a TLS simulator. */
  ws?: WebSocket.ClientOptions;
}

/** Start simulators inside tests; every one started is stopped after the test. */
export function useSimulators(): (options?: SimulatorOptions) => Promise<Simulator> {
  const started: Simulator[] = [];
  const sockets: WsClient[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await Promise.all(started.splice(0).map((sim) => sim.stop()));
  });
  WsClient.track = (c) => sockets.push(c);
  return async (options = {}) => {
    const sim = await startSimulator({ port: 0, ...options });
    started.push(sim);
    return sim;
  };
}

export interface RestResult {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RestOptions {
  body?: unknown;
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

export async function rest(sim: Simulator, method: string, path: string, options: RestOptions = {}): Promise<RestResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  const res = await request(`${sim.url}${path}`, { method, headers, ...(body !== undefined && { body }) });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, body: parsed, text, headers: res.headers };
}

/** Log in and return the session token. */
export async function login(sim: Simulator, body: Record<string, unknown> = LOGIN): Promise<string> {
  const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  return (res.body as { session_token: string }).session_token;
}

export const wsUrl = (sim: Simulator, path: string): string => `${sim.url.replace(/^http/, 'ws')}${path}`;

/** A raw WebSocket that queues every frame so tests can await the ones they expect. */
export class WsClient {
  static track: (c: WsClient) => void = () => undefined;
  readonly frames: Frame[] = [];
  private queue: Frame[] = [];
  private waiters: Array<{ test: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private qid = 1000;
  readonly raw: string[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        return;
      }
      if (!Array.isArray(frame)) return;
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.test(frame));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      } else {
        this.queue.push(frame);
      }
    });
  }

  static open(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url, { headers, ...options });
    const client = new WsClient(ws);
    WsClient.track(client);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
    });
  }

  /**
   * Do what a strict platform wants before it serves anything else (§2.3): `setup`, then on the
   * user API `/ws` the in-band `login`. Returns the last reply (login_result on `/ws`).
   * Throws when either is refused, so a test never goes on with a half set-up socket.
   */
  async ready({ capabilities = CAPABILITIES, login = WS_LOGIN }: ReadyOptions = {}): Promise<Record<string, unknown>> {
    const setup = await this.request('setup', { capabilities });
    if (setup.result !== 'ok') throw new Error(`setup refused: ${JSON.stringify(setup)}`);
    // The token API is authorised by its token; only the user API logs in.
    if (!/^\/ws\/?$/.test(new URL(this.ws.url).pathname)) return setup;
    const loggedIn = await this.request('login', login);
    if (loggedIn.result !== 'ok') throw new Error(`login refused: ${JSON.stringify(loggedIn)}`);
    return loggedIn;
  }

  send(method: string, params: Record<string, unknown>): void {
    this.ws.send(JSON.stringify([method, params]));
  }

  /** Send a request with a fresh qid and await its `_result`. */
  async request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const qid = ++this.qid;
    this.send(method, { qid, ...params });
    const [, reply] = await this.next((f) => f[0] === `${method}_result` && f[1].qid === qid);
    return reply;
  }

  async subscribe(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.request('subscribe', params);
  }

  /** The first frame (queued or future) that passes `test`, consumed. */
  next(test: (f: Frame) => boolean = () => true, timeoutMs = 2000): Promise<Frame> {
    const index = this.queue.findIndex(test);
    if (index !== -1) return Promise.resolve(this.queue.splice(index, 1)[0] as Frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (f: Frame): void => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** Every frame that arrives within `ms` and passes `test` (consumed). */
  async collect(ms: number, test: (f: Frame) => boolean = () => true): Promise<Frame[]> {
    await delay(ms);
    const taken = this.queue.filter(test);
    this.queue = this.queue.filter((f) => !test(f));
    return taken;
  }

  closed(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.ws.once('close', () => resolve()));
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * A socket on `path` (the token API by default) that is set up, and on `/ws` logged in, so a
 * strict simulator (the default) serves the test's own frames.
 */
export async function openReady(sim: Simulator, path = TOKEN_WS_PATH, options: OpenReadyOptions = {}): Promise<WsClient> {
  const client = await WsClient.open(wsUrl(sim, path), options.headers, options.ws);
  await client.ready(options);
  return client;
}

/** A refusal in the documented (strict) shape: `result: "error"` and `errormsg`, no `error` object. */
export function assertErrormsg(reply: Record<string, unknown>, pattern: RegExp, what?: string): void {
  assert.equal(reply.result, 'error', what);
  assert.match(String(reply.errormsg), pattern, what);
  assert.equal('error' in reply, false, 'no error object in strict mode');
}

/** Record every event the simulator produces, as `class.type`. */
export function recorder(sim: Simulator): { events: SimEvent[]; types: (connectionid?: string) => string[]; clear: () => void } {
  const events: SimEvent[] = [];
  sim.on('event', (e) => events.push(e));
  return {
    events,
    types: (connectionid) => events.filter((e) => connectionid === undefined || e.data.connectionid === connectionid).map((e) => `${e.class}.${e.type}`),
    clear: () => void events.splice(0),
  };
}

/** Events as pushed with the default ("model") envelope. */
export const isEvent = (f: Frame): boolean => f[0] === 'event';
export const eventType = (f: Frame): string => `${String(f[1].class)}.${String(f[1].type)}`;
export const eventData = (f: Frame): Record<string, unknown> => f[1].data as Record<string, unknown>;

/** The status a WebSocket upgrade is answered with (101 when it opens). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await delay(10);
  }
}
