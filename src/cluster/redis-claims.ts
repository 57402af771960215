/**
 * Event claims on Redis (the client's EventClaims, src/era/claims.ts). An event is claimed by
 * one script call that sets every key of the event to this replica's name, with an expiry,
 * only if no other replica holds any of them: all or none, atomically. The same replica
 * claiming again wins again, so a second look at one event (another subscription, a
 * redeploy's kept events) never loses it to itself. node-redis writes the commands of one
 * event-loop turn together: claims are pipelined.
 *
 * While Redis cannot answer, every claim is won at once (at least once rather than never),
 * said once in the log and in the health; a probe claim brings claiming back when it answers.
 *
 * A claim of an event lasts minutes: replicas see one event within seconds of each other. A
 * claim of a call's start or end lasts longer than gap fill looks back (GAP_FILL_HORIZON_MS):
 * a replica that was cut off for hours makes up the start or end another replica emitted live
 * long ago, and must find that claim still there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createClient } from '@redis/client';
import { CLAIM_TIMEOUT_MS, type EventClaims, GAP_FILL_HORIZON_MS } from '../era';
import type { ClusterSettings } from './settings';

/** How long an event's claim is kept: far longer than any replica takes to see the same event. */
const EVENT_CLAIM_TTL_MS = 300_000;
/** How long a call's start or end is kept: gap fill's horizon, and an hour for clocks that disagree. */
const CALL_CLAIM_TTL_MS = GAP_FILL_HORIZON_MS + 3_600_000;
/**
 * The keys of a call's start and end (claims.ts: `call:<connectionId>:invite|end`, also under an
 * era-webhook's own prefix `webhook:<path>:`; era-calls' poll changes:
 * `poll:<connectionId>:invite|dlg_end`) and of its record in a call log
 * (`calllog:<node>:<connectionId>`): a few per call, so keeping them a day costs little.
 */
const CALL_KEY = /^(webhook:[^:]*:)?(call|poll):.+:(invite|dlg_end|end)$|^calllog:/;
const PROBE_TTL_MS = 1_000;
const PROBE_EVERY_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
const RECONNECT_MAX_MS = 500;

/** KEYS: the event's keys; ARGV[1]: the replica's name, ARGV[1 + i]: the expiry of KEYS[i] in ms. 1: claimed, 0: another replica holds one. */
const CLAIM_SCRIPT = `for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held and held ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[i + 1])
end
return 1`;
const CLAIM_SHA = createHash('sha1').update(CLAIM_SCRIPT).digest('hex');

export type ClusterHealth = 'connecting' | 'ok' | 'unreachable';

export interface ClusterLogger {
  log(msg: string): void;
  warn(msg: string): void;
}

export interface RedisClaimsOptions {
  settings: ClusterSettings;
  logger: ClusterLogger;
  /** Called on every change of health; `detail` says why Redis is unreachable. */
  health(health: ClusterHealth, detail?: string): void;
  /** How long claims are kept, in ms (tests shorten them): an event's, and a call's start or end. */
  ttl?: { eventMs: number; callMs: number };
}

const WON = Promise.resolve(true);

/** A Redis or socket error in a few words (node-redis errors never carry the password). */
function redisFailure(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found (DNS)';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'no answer';
    default: {
      const message = err instanceof Error ? err.message : String(err);
      if (/^(WRONGPASS|NOAUTH)/.test(message)) return 'the password (or user) was refused';
      if (err instanceof Error && err.name === 'ConnectionTimeoutError') return `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`;
      return message.length > 120 ? `${message.slice(0, 119)}…` : message;
    }
  }
}

function isWon(reply: unknown): boolean {
  return reply === 1;
}

export class RedisClaims implements EventClaims {
  private readonly client: ReturnType<typeof createClient>;
  private readonly prefix: string;
  /** This replica's name in the claims it holds: host, process and a random part for restarts. */
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private state: ClusterHealth = 'connecting';
  /** The outage was logged: the next `ok` is logged too. */
  private outageSaid = false;
  private probing = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ttl: { eventMs: number; callMs: number };

  constructor(private readonly options: RedisClaimsOptions) {
    this.ttl = options.ttl ?? { eventMs: EVENT_CLAIM_TTL_MS, callMs: CALL_CLAIM_TTL_MS };
    const { redis, name } = options.settings;
    this.prefix = `${name}:`;
    const socket = {
      host: redis.host,
      port: redis.port,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, RECONNECT_MAX_MS),
    };
    this.client = createClient({
      socket: redis.tls ? { ...socket, tls: true } : socket,
      username: redis.username,
      password: redis.password,
      database: redis.database,
      // node-redis would arm a timer per command (5 s by default); the client's claim queue
      // bounds every claim itself, and a probe waits as long as Redis takes.
      commandOptions: { timeout: 0 },
    });
    // Without a listener an 'error' event would be thrown; node-redis reconnects by itself.
    this.client.on('error', (err: unknown) => this.unreachable(redisFailure(err)));
    this.client.on('ready', () => void this.probe());
    this.client.connect().catch((err: unknown) => {
      if (!this.closed) this.unreachable(redisFailure(err));
    });
  }

  get health(): ClusterHealth {
    return this.state;
  }

  claim(keys: readonly string[]): Promise<boolean> {
    if (this.state === 'unreachable' || this.closed) return WON;
    return this.send(keys, (key) => (CALL_KEY.test(key) ? this.ttl.callMs : this.ttl.eventMs)).then(isWon, (err: unknown) => {
      this.unreachable(redisFailure(err));
      return true;
    });
  }

  unanswered(): void {
    this.unreachable(`no answer to a claim within ${CLAIM_TIMEOUT_MS / 1000} s`);
  }

  /** Closes the connection at once; claims in flight count as won. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    try {
      this.client.destroy();
    } catch {
      // already closed
    }
  }

  /** Runs the claim script for `keys`, each kept for `ttlMs(key)`; resolves with its reply (1: claimed). */
  private send(keys: readonly string[], ttlMs: (key: string) => number): Promise<unknown> {
    const args = ['EVALSHA', CLAIM_SHA, String(keys.length)];
    for (const key of keys) args.push(this.prefix + key);
    args.push(this.owner);
    for (const key of keys) args.push(String(ttlMs(key)));
    return this.client.sendCommand(args).catch((err: unknown) => {
      // A restarted Redis forgot the script: send it whole once, which also caches it again.
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      args[0] = 'EVAL';
      args[1] = CLAIM_SCRIPT;
      return this.client.sendCommand(args);
    });
  }

  /**
   * A claim of this replica's own probe key: when it succeeds, claims work again. One at a
   * time, however long it takes: a Redis that answers late answers the probe late too, and a
   * lost connection fails it (node-redis then reconnects and says 'ready').
   */
  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.send([`probe:${this.owner}`], () => PROBE_TTL_MS);
      if (!this.closed) this.reachable();
    } catch (err) {
      if (!this.closed) this.unreachable(redisFailure(err));
    } finally {
      this.probing = false;
    }
  }

  private reachable(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.state === 'ok') return;
    this.state = 'ok';
    if (this.outageSaid) this.options.logger.log(`Cluster: Redis at ${this.options.settings.shownUrl} answers again: events are claimed again`);
    this.outageSaid = false;
    this.options.health('ok');
  }

  private unreachable(detail: string): void {
    if (this.closed) return;
    this.probeTimer ??= this.probeLater();
    if (this.state === 'unreachable') return;
    this.state = 'unreachable';
    if (!this.outageSaid) {
      this.outageSaid = true;
      this.options.logger.warn(
        `Cluster: Redis at ${this.options.settings.shownUrl} is unreachable (${detail}): this replica emits every event itself (at least once) until Redis answers`,
      );
    }
    this.options.health('unreachable', detail);
  }

  /** Probes again every second while unreachable; a probe needs a connection, which node-redis keeps trying. */
  private probeLater(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.closed || this.state === 'ok') return;
      this.probeTimer = this.probeLater();
      if (this.client.isReady) void this.probe();
    }, PROBE_EVERY_MS);
    timer.unref();
    return timer;
  }
}
