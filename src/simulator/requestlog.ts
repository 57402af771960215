/**
 * The log of requests the simulator received (REST and WebSocket frames), bounded so that a
 * benchmark or a long demo does not grow it without end.
 */
import type { HttpRequest } from './http';
import type { SimRequestLog } from './types';

const REQUEST_LOG_CAPACITY = 10_000;

export class RequestLog {
  private readonly entries: SimRequestLog[] = [];
  /** Index of the oldest entry once the ring is full. */
  private head = 0;

  constructor(
    private readonly onEntry: (entry: SimRequestLog) => void,
    private readonly capacity = REQUEST_LOG_CAPACITY,
  ) {}

  add(entry: SimRequestLog): void {
    if (this.entries.length < this.capacity) {
      this.entries.push(entry);
    } else {
      this.entries[this.head] = entry;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  /** Announce an entry once it is complete (a REST entry when its status is known). */
  publish(entry: SimRequestLog): void {
    this.onEntry(entry);
  }

  list(): SimRequestLog[] {
    return [...this.entries.slice(this.head), ...this.entries.slice(0, this.head)];
  }

  clear(): void {
    this.entries.length = 0;
    this.head = 0;
  }
}

export function restEntry(req: HttpRequest): SimRequestLog {
  const headers: SimRequestLog['headers'] = {};
  if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
  if (req.headers.cookie !== undefined) headers.cookie = req.headers.cookie;
  if (req.headers['content-type'] !== undefined) headers.contentType = req.headers['content-type'];
  return {
    kind: 'rest',
    ts: Date.now(),
    method: req.method,
    path: req.path,
    query: Object.fromEntries(req.query),
    headers,
    body: req.body.length === 0 ? undefined : parseLoose(req.body.toString('utf8')),
  };
}

export function wsEntry(path: string, method: string, params: unknown): SimRequestLog {
  return { kind: 'ws', ts: Date.now(), method, path, query: {}, headers: {}, body: params };
}

/** JSON when it parses, the text itself otherwise. */
function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
