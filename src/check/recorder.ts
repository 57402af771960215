/**
 * The report's ProtocolObserver: what passed between the client and the platform, kept as the
 * report needs it. It sees secrets (the login's answer, the socket login's password): of a
 * request it keeps field names only, and answers are only ever described by name and type.
 */
import { isObject, type JsonObject, type ProtocolObserver } from '../era';
import { describeEnvelope, EnvelopeTally } from './envelope';

export interface HttpSeen {
  method: string;
  /** Without the query. */
  path: string;
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface UpgradeSeen {
  path: string;
  statusCode?: number;
  error?: string;
}

/** One request the client sent over the socket, and its reply once it came. */
export interface WsExchange {
  method: string;
  /** The request's field names (qid left out): which login form, which subscribe fields. */
  requestKeys: string[];
  /** Of a subscribe: the lifetime asked for. */
  expiresAsked?: number;
  reply?: JsonObject;
}

type Waiter = (exchange: WsExchange) => void;

/** Acknowledgements are matched to pushes by method and qid. */
function ackKey(method: string, qid: unknown): string {
  return `${method}\u0000${JSON.stringify(qid)}`;
}

/** A bound on pushes waiting for their acknowledgement, so a flood cannot grow the set without end. */
const UNACKED_KEPT = 100_000;
const RESULT = '_result';

function parseFrame(text: string): [string, JsonObject] | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return undefined;
  }
  return Array.isArray(frame) && typeof frame[0] === 'string' && isObject(frame[1]) ? [frame[0], frame[1]] : undefined;
}

export class Recorder implements ProtocolObserver {
  readonly rest: HttpSeen[] = [];
  readonly upgrades: UpgradeSeen[] = [];
  readonly exchanges: WsExchange[] = [];
  readonly envelopes = new EnvelopeTally();
  /** Pushes that carried a qid, and how many of those the client acknowledged. */
  pushesWithQid = 0;
  acknowledged = 0;
  private readonly byQid = new Map<string, WsExchange>();
  private readonly subscriptionIds = new Set<string>();
  private readonly unacked = new Set<string>();
  private readonly waiters = new Set<Waiter>();

  http(exchange: HttpSeen): void {
    this.rest.push({ ...exchange, path: exchange.path.split('?', 1)[0] ?? exchange.path });
  }

  upgrade(outcome: UpgradeSeen): void {
    this.upgrades.push({ ...outcome });
  }

  frame(direction: 'in' | 'out', text: string): void {
    // An observer must not throw into the client's socket handlers.
    try {
      if (direction === 'out') this.sent(text);
      else this.received(text);
    } catch {
      // A frame the report cannot read is the client's business, not the report's.
    }
  }

  /** The exchanges of `method`, in the order they were sent. */
  sentOf(method: string): WsExchange[] {
    return this.exchanges.filter((e) => e.method === method);
  }

  /** Resolves with the first exchange of `method` that has its reply, or undefined after `timeoutMs`. */
  replyTo(method: string, timeoutMs: number): Promise<WsExchange | undefined> {
    const done = this.exchanges.find((e) => e.method === method && e.reply !== undefined);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve) => {
      const waiter: Waiter = (exchange) => {
        if (exchange.method !== method) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(exchange);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Pushes with a qid that no acknowledgement answered (yet). */
  get unacknowledged(): number {
    return this.unacked.size;
  }

  private sent(text: string): void {
    const frame = parseFrame(text);
    if (frame === undefined) return;
    const [method, params] = frame;
    if (method.endsWith(RESULT)) {
      if (this.unacked.delete(ackKey(method.slice(0, -RESULT.length), params.qid))) this.acknowledged++;
      return;
    }
    const exchange: WsExchange = { method, requestKeys: Object.keys(params).filter((k) => k !== 'qid') };
    if (method === 'subscribe') {
      if (typeof params.id === 'string') this.subscriptionIds.add(params.id);
      if (typeof params.expires === 'number') exchange.expiresAsked = params.expires;
    }
    this.exchanges.push(exchange);
    this.byQid.set(JSON.stringify(params.qid), exchange);
  }

  private received(text: string): void {
    const frame = parseFrame(text);
    if (frame === undefined) {
      this.envelopes.addMalformed();
      return;
    }
    const [method, params] = frame;
    if (method.endsWith(RESULT)) {
      const key = JSON.stringify(params.qid);
      const exchange = this.byQid.get(key);
      if (exchange === undefined || exchange.reply !== undefined) return;
      this.byQid.delete(key);
      exchange.reply = params;
      for (const waiter of [...this.waiters]) waiter(exchange);
      return;
    }
    this.envelopes.add(describeEnvelope(method, params, this.subscriptionIds));
    if (params.qid === undefined) return;
    this.pushesWithQid++;
    if (this.unacked.size < UNACKED_KEPT) this.unacked.add(ackKey(method, params.qid));
  }
}
