/** Test helpers for the client's tests: the simulator over real sockets, waiting, collecting. */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { EraClient, type EraClientOptions } from '../../src/era';
import type { ClientState, EraEvent } from '../../src/era';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';

export { startSimulator, type Simulator };

/** Timings small enough for a test suite; the defaults are seconds. */
export const FAST: Partial<EraClientOptions> = {
  requestTimeoutMs: 1500,
  pingIntervalMs: 200,
  pingTimeoutMs: 200,
  reconnectMinMs: 20,
  reconnectMaxMs: 200,
  socketLingerMs: 50,
};

export const USER = { domain: 'demo.local', login: 'operator', password: 'operator' } as const;

export interface Logged {
  debug: string[];
  warn: string[];
}

export function userClient(url: string, extra: Partial<EraClientOptions> = {}, log?: Logged): EraClient {
  return new EraClient({ url, ...USER, ...FAST, logger: logger(log), ...extra });
}

export function tokenClient(url: string, extra: Partial<EraClientOptions> = {}, log?: Logged): EraClient {
  return new EraClient({ url, authMode: 'token', token: 'demo-token', ...FAST, logger: logger(log), ...extra });
}

function logger(log: Logged | undefined) {
  return {
    debug: (m: string) => log?.debug.push(m),
    warn: (m: string) => log?.warn.push(m),
  };
}

export function newLog(): Logged {
  return { debug: [], warn: [] };
}

export async function sim(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ port: 0, dlgStopDelayMs: 50, ...opts });
}

/** The test CA (test/fixtures/tls), which signed the certificate the TLS tests give the simulator. */
export const TEST_CA = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tls', 'ca.pem'), 'utf8');
const control = new Agent({ connect: { ca: TEST_CA } });

/** The simulator's /_sim/ control API (the documented contract), over HTTP(S). */
export async function ctl<T = unknown>(s: Simulator, method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(`${s.url}/_sim/${path}`, {
    method: method as Dispatcher.HttpMethod,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: control,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`/_sim/${path}: ${res.statusCode} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export interface SimCall {
  id: string;
  connectionid: string;
  cid: string;
  state: string;
  acallid: string;
  bcallid: string;
  fromnum: string;
  tonum: string;
  recordingKey?: string;
}

export interface SimRequest {
  kind: 'rest' | 'ws';
  method: string;
  path: string;
  query: Record<string, string>;
  headers: { authorization?: string; cookie?: string; contentType?: string };
  body: unknown;
  status?: number;
}

export function startCall(s: Simulator, body: Record<string, unknown> = {}): Promise<SimCall> {
  return ctl<SimCall>(s, 'POST', 'calls', { from: '+79990001122', to: '101', ...body });
}

export function requests(s: Simulator): Promise<SimRequest[]> {
  return ctl<SimRequest[]>(s, 'GET', 'requests');
}

export function faults(s: Simulator, f: Record<string, unknown>): Promise<unknown> {
  return ctl(s, 'POST', 'faults', f);
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function waitForState(client: EraClient, state: ClientState, timeoutMs = 5000): Promise<string | undefined> {
  if (client.state === state) return Promise.resolve(client.stateDetail);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('state', on);
      reject(new Error(`timed out waiting for state ${state} (now ${client.state}: ${client.stateDetail ?? ''})`));
    }, timeoutMs);
    const on = (s: ClientState, detail?: string) => {
      if (s !== state) return;
      clearTimeout(timer);
      client.off('state', on);
      resolve(detail);
    };
    client.on('state', on);
  });
}

/** Events a listener received, with a way to wait for some. */
export class Collector {
  readonly events: EraEvent[] = [];
  readonly push = (ev: EraEvent): void => {
    this.events.push(ev);
  };

  topics(connectionId?: string): string[] {
    return this.events.filter((e) => connectionId === undefined || e.connectionId === connectionId).map((e) => e.topic);
  }

  async waitFor(what: string, match: (ev: EraEvent) => boolean, timeoutMs = 5000): Promise<EraEvent> {
    let found: EraEvent | undefined;
    await waitFor(what, () => (found = this.events.find(match)) !== undefined, timeoutMs);
    return found!;
  }
}

/** Waits until the client's subscriptions are live on the simulator. */
export async function subscribed(s: Simulator, count = 1): Promise<void> {
  await waitFor(`${count} subscription(s)`, async () => (await ctl<unknown[]>(s, 'GET', 'subscriptions')).length >= count);
}

/**
 * A TCP relay in front of a server that can be frozen: from then on it accepts and holds
 * connections but forwards nothing, like a server that hangs without closing anything.
 */
export class FreezableProxy {
  private server = net.createServer((client) => this.relay(client));
  private readonly sockets = new Set<net.Socket>();
  frozen = false;
  port = 0;
  /** TCP connections accepted so far. */
  accepted = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    this.accepted++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.frozen) return;
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (!this.frozen) client.destroy();
    });
    upstream.on('error', () => undefined);
    client.on('close', () => {
      if (!this.frozen) upstream.destroy();
    });
    client.on('data', (d) => {
      if (!this.frozen) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!this.frozen) client.write(d);
    });
  }
}
