/**
 * What every vendor stand-in shares: a node:http server on a free port of 127.0.0.1, bodies
 * read as the vendors accept them (JSON, or form-encoded with `a[b]=c` nesting), a log of what
 * arrived with the status it got, and faults a test puts in front of the next requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON or form body (nested objects for `a[b]=c`), the raw text when neither parses. */
  body: unknown;
  at: number;
  status?: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The next `count` requests that `matches` (default: every one) get this answer instead. */
export interface Fault extends Reply {
  count: number;
  matches?: (r: Received) => boolean;
}

const MAX_BODY = 16 * 1024 * 1024;

export abstract class StandIn {
  readonly received: Received[] = [];
  url = '';
  private faults: Fault[] = [];
  private readonly server = http.createServer((req, res) => void this.serve(req, res));

  protected abstract route(r: Received): Reply | Promise<Reply>;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  /** Requests to `path` (exact, or a predicate), in arrival order. */
  requests(path: string | ((r: Received) => boolean)): Received[] {
    return this.received.filter(typeof path === 'string' ? (r) => r.path === path : path);
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: Reply;
    let received: Received | undefined;
    try {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://stand-in');
      received = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: parseBody(raw, String(req.headers['content-type'] ?? '')),
        at: Date.now(),
      };
      this.received.push(received);
      reply = this.takeFault(received) ?? (await this.route(received));
    } catch (err) {
      reply = { status: 500, body: { error: 'stand-in failure', detail: String(err) } };
    }
    if (received) received.status = reply.status;
    const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    const type = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    res.writeHead(reply.status, { 'Content-Type': type, ...reply.headers });
    res.end(text);
  }

  private takeFault(r: Received): Reply | undefined {
    const i = this.faults.findIndex((f) => f.count > 0 && (!f.matches || f.matches(r)));
    if (i < 0) return undefined;
    const fault = this.faults[i];
    fault.count -= 1;
    if (fault.count === 0) this.faults.splice(i, 1);
    return { status: fault.status, body: fault.body, headers: fault.headers };
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, type: string): unknown {
  if (!raw) return undefined;
  if (type.includes('application/x-www-form-urlencoded')) return parseForm(raw);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** `a[b][c]=1&d=2` → `{a: {b: {c: '1'}}, d: '2'}`, as PHP (and so Bitrix24) reads a form. */
export function parseForm(raw: string): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const path = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let at: JsonObject = out;
    path.forEach((part, i) => {
      if (i === path.length - 1) at[part] = value;
      else {
        const next = at[part];
        at = next !== null && typeof next === 'object' && !Array.isArray(next) ? next : (at[part] = {});
      }
    });
  }
  return out;
}

/** The inverse of parseForm: nested objects become `a[b]=…` fields. */
export function encodeForm(value: JsonObject, prefix = ''): string {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) parts.push(encodeForm(v, name));
    else parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(v === null ? '' : String(v))}`);
  }
  return parts.filter((p) => p !== '').join('&');
}

/** POSTs a form the way the vendors deliver events; resolves with the answer's status and text. */
export async function postForm(url: string, form: JsonObject): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: encodeForm(form),
  });
  return { status: res.status, text: await res.text() };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
