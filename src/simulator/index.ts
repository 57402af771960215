/**
 * The Era platform simulator: an independent implementation of the platform API as
 * era-platform.md models it, for tests, benchmarks and the demo. It shares no code with the
 * client in src/era on purpose: each checks the other.
 *
 *   const sim = await startSimulator({ port: 0 });
 *   sim.on('event', (e) => ...);
 *   await sim.stop();
 */
import { EventEmitter } from 'node:events';
import { Auth } from './auth';
import { BanAnswers } from './ban';
import { runBurst } from './burst';
import { CallModel, simView, type PlatformEvent } from './calls';
import { handleControl } from './control';
import { badRequest, invalidState } from './errors';
import { FaultState } from './faults';
import { Recordings } from './recordings';
import { RequestLog } from './requestlog';
import { handleRest } from './rest';
import { SimServer } from './server';
import { DEFAULT_TRAFFIC_INTERVAL_MS, TrafficGenerator } from './traffic';
import type {
  AnswerOptions,
  BanRestStatus,
  BanUpgrade,
  BurstOptions,
  BurstResult,
  Envelope,
  Faults,
  FaultsPatch,
  LoginDomainField,
  NextPhoneOptions,
  RecordEventName,
  ResolvedOptions,
  SendToSocketsOptions,
  SimCall,
  SimEvent,
  SimRequestLog,
  SimulatorOptions,
  StartCallOptions,
  SubscriptionInfo,
  WebhookDelivery,
  WebhookInfo,
  WebhookStats,
} from './types';
import { WebhookHub } from './webhooks';
import { WsHub } from './ws';

export * from './types';
export { SimError } from './errors';

export const DEMO_CREDENTIALS = { domain: 'demo.local', login: 'operator', password: 'operator', token: 'demo-token' } as const;

const ENVELOPES: readonly Envelope[] = ['model', 'flat', 'method'];
const LOGIN_DOMAIN_FIELDS: readonly LoginDomainField[] = ['td', 'domain'];
const RECORD_EVENT_NAMES: readonly RecordEventName[] = ['connection_set_record_info', 'set_call_record_info'];
const BAN_REST_STATUSES: readonly BanRestStatus[] = [403, 429];
const BAN_UPGRADES: readonly BanUpgrade[] = [403, 429, 'open'];
/** An HTTP token (RFC 9110 §5.6.2), what a cookie name must be. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The largest junk frame `sendToSockets({ size })` builds. */
const MAX_JUNK_BYTES = 64 * 1024 * 1024;

export interface SimulatorEvents {
  event: [SimEvent];
  request: [SimRequestLog];
  webhook: [WebhookDelivery];
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const envelope = options.envelope ?? 'model';
  if (!ENVELOPES.includes(envelope)) throw new TypeError(`envelope must be one of ${ENVELOPES.join(', ')}`);
  const loginDomainField = options.loginDomainField ?? 'td';
  if (!LOGIN_DOMAIN_FIELDS.includes(loginDomainField)) throw new TypeError(`loginDomainField must be one of ${LOGIN_DOMAIN_FIELDS.join(', ')}`);
  const recordEventName = options.recordEventName ?? 'connection_set_record_info';
  if (!RECORD_EVENT_NAMES.includes(recordEventName)) throw new TypeError(`recordEventName must be one of ${RECORD_EVENT_NAMES.join(', ')}`);
  const sessionCookie = options.sessionCookie ?? 'EraSession';
  if (!COOKIE_NAME.test(sessionCookie)) throw new TypeError('sessionCookie must be a cookie name');
  const banRestStatus = options.banRestStatus ?? 403;
  if (!BAN_REST_STATUSES.includes(banRestStatus)) throw new TypeError(`banRestStatus must be one of ${BAN_REST_STATUSES.join(', ')}`);
  const banUpgrade = options.banUpgrade ?? 403;
  if (!BAN_UPGRADES.includes(banUpgrade)) throw new TypeError(`banUpgrade must be one of ${BAN_UPGRADES.join(', ')}`);
  const traffic = options.traffic ?? false;
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    domain: options.domain ?? DEMO_CREDENTIALS.domain,
    login: options.login ?? DEMO_CREDENTIALS.login,
    password: options.password ?? DEMO_CREDENTIALS.password,
    token: options.token ?? DEMO_CREDENTIALS.token,
    banThreshold: options.banThreshold ?? 5,
    banWindowMs: options.banWindowMs ?? 180_000,
    banMs: options.banMs ?? 180_000,
    banRestStatus,
    banUpgrade,
    recordLinkTtlMs: options.recordLinkTtlMs ?? 300_000,
    dlgStopDelayMs: options.dlgStopDelayMs ?? 3000,
    maxSubscriptionExpires: options.maxSubscriptionExpires ?? 3600,
    maxWebhookExpires: options.maxWebhookExpires ?? 3600,
    envelope,
    strict: options.strict ?? true,
    loginDomainField,
    knowsSetup: options.knowsSetup ?? true,
    sessionCookie,
    recordEventName,
    trafficIntervalMs: traffic === false ? 0 : traffic === true ? DEFAULT_TRAFFIC_INTERVAL_MS : (traffic.intervalMs ?? DEFAULT_TRAFFIC_INTERVAL_MS),
    ...(options.tls && { tls: options.tls }),
  };
}

export class Simulator extends EventEmitter<SimulatorEvents> {
  readonly options: ResolvedOptions;
  private readonly faultState = new FaultState();
  private readonly log: RequestLog;
  private readonly auth: Auth;
  private readonly recordings: Recordings;
  private readonly calls: CallModel;
  private readonly hub: WsHub;
  private readonly webhooks: WebhookHub;
  private readonly server: SimServer;
  private readonly traffic: TrafficGenerator | undefined;
  private boundPort = 0;
  private stopped = false;
  /** Waits to end when the simulator stops: a restart's down time, waitForEvent calls. */
  private readonly onStop = new Set<() => void>();

  constructor(options: SimulatorOptions = {}) {
    super();
    const o = resolveOptions(options);
    this.options = o;
    this.log = new RequestLog((entry) => {
      if (this.listenerCount('request') > 0) this.emit('request', entry);
    });
    this.auth = new Auth(o);
    this.recordings = new Recordings(o.recordLinkTtlMs);
    this.calls = new CallModel({
      publish: (event) => this.publish(event),
      recordings: this.recordings,
      dlgStopDelayMs: o.dlgStopDelayMs,
      domain: o.domain,
      strict: o.strict,
      recordEventName: o.recordEventName,
    });
    this.hub = new WsHub({
      auth: this.auth,
      faults: this.faultState,
      log: this.log,
      calls: this.calls,
      recordings: this.recordings,
      envelope: o.envelope,
      maxSubscriptionExpires: o.maxSubscriptionExpires,
      domain: o.domain,
      strict: o.strict,
      knowsSetup: o.knowsSetup,
      loginDomainField: o.loginDomainField,
    });
    this.webhooks = new WebhookHub({
      faults: this.faultState,
      maxExpires: o.maxWebhookExpires,
      delivered: (delivery) => {
        if (this.listenerCount('webhook') > 0) this.emit('webhook', delivery);
      },
    });
    const restDeps = { auth: this.auth, calls: this.calls, recordings: this.recordings, faults: this.faultState, strict: o.strict, webhooks: this.webhooks };
    this.server = new SimServer({
      ban: new BanAnswers(this.auth, this.faultState, { rest: o.banRestStatus, upgrade: o.banUpgrade }),
      faults: this.faultState,
      log: this.log,
      hub: this.hub,
      rest: (req) => handleRest(restDeps, req),
      control: (req) => handleControl(this, req),
      ...(o.tls && { tls: o.tls }),
    });
    this.traffic = o.trafficIntervalMs > 0 ? new TrafficGenerator(this.calls, o.trafficIntervalMs) : undefined;
  }

  /** `http://host:port`, or `https://` with the `tls` option; WebSockets are on the same origin. */
  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<this> {
    this.boundPort = await this.server.listen(this.options.port, this.options.host);
    this.traffic?.start();
    return this;
  }

  /** Close the server, every socket and every timer: nothing of it keeps the process alive. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.traffic?.stop();
    this.calls.timers.clear();
    this.hub.dropAll();
    for (const end of [...this.onStop]) end();
    await Promise.all([this.server.close(), this.webhooks.close()]);
  }

  /**
   * A platform restart as clients see it: every socket is dropped and the port is closed for
   * `downMs`, while calls go on; events produced meanwhile are lost. Resolves when the port
   * accepts connections again.
   */
  async restart({ downMs = 500 }: { downMs?: number } = {}): Promise<void> {
    this.hub.dropAll();
    await this.server.close();
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.onStop.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, downMs);
      this.onStop.add(wake);
    });
    if (!this.stopped) await this.server.listen(this.boundPort, this.options.host);
  }

  /** `calls` complete short calls back-to-back, as fast as possible (dlg_stop at once). */
  burst(options: BurstOptions): Promise<BurstResult> {
    return runBurst(this.calls, this.hub, options, () => this.stopped);
  }

  startCall(options: StartCallOptions): SimCall {
    const dir = options.dir ?? 'in';
    return simView(this.calls.start({ ...options, dir }));
  }

  /** The called phone answers; `by` names which one of a ring group's or queue's phones ringing now. */
  answerCall(id: string, options: AnswerOptions = {}): SimCall {
    const call = this.calls.knownCall(id);
    this.calls.answer(call, options.by);
    return simView(call);
  }

  /** A queue call moves on to its next phone (with `ring: false`, only the phone ringing now stops). */
  nextPhone(id: string, options: NextPhoneOptions = {}): SimCall {
    const call = this.calls.knownCall(id);
    this.calls.nextPhone(call, options.ring !== false);
    return simView(call);
  }

  /** Another phone (`by`) picks up a ringing call: `dlg_pickup`, then the answer's events. */
  pickupCall(id: string, by: string): SimCall {
    const call = this.calls.knownCall(id);
    this.calls.pickup(call, by);
    return simView(call);
  }

  hangupCall(id: string, reason = 'bye'): SimCall {
    const call = this.calls.knownCall(id);
    this.calls.hangup(call, reason);
    return simView(call);
  }

  /** A party presses keys: `leg` is "a" (the caller, default), "b", or a leg's Call-Id. */
  pressDtmf(id: string, digits: string, leg?: string): SimCall {
    const call = this.calls.knownCall(id);
    if (call.state === 'ended') throw invalidState(`call ${id} has ended`);
    this.calls.dtmf(call, digits, leg, 'a');
    return simView(call);
  }

  getCall(id: string): SimCall {
    return simView(this.calls.knownCall(id));
  }

  /** Every call the simulator remembers, ended ones too, oldest first. */
  listCalls(): SimCall[] {
    return this.calls.allCalls().map(simView);
  }

  /** Resolve with the next event that matches: `"class.type"`, `"type"`, or a predicate. */
  waitForEvent(match: string | ((event: SimEvent) => boolean), timeoutMs = 5000): Promise<SimEvent> {
    const test = typeof match === 'function' ? match : (e: SimEvent): boolean => e.type === match || `${e.class}.${e.type}` === match;
    return new Promise((resolve, reject) => {
      const settle = (outcome: SimEvent | Error): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.onStop.delete(cancel);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onEvent = (event: SimEvent): void => {
        if (test(event)) settle(event);
      };
      const cancel = (): void => settle(new Error('the simulator was stopped'));
      const timer = setTimeout(() => settle(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
      this.on('event', onEvent);
      this.onStop.add(cancel);
    });
  }

  requests(): SimRequestLog[] {
    return this.log.list();
  }

  clearRequests(): void {
    this.log.clear();
  }

  subscriptions(): SubscriptionInfo[] {
    return this.hub.subscriptions();
  }

  /** Live webhook registrations. */
  webhookRegistrations(): WebhookInfo[] {
    return this.webhooks.list();
  }

  /** Counts of webhook deliveries so far. */
  get webhookStats(): WebhookStats {
    return this.webhooks.stats;
  }

  /** Forget every webhook registration, as a platform that lost them (their renewals then get 404). */
  forgetWebhooks(): void {
    this.webhooks.clear();
  }

  get faults(): Faults {
    return this.faultState.snapshot();
  }

  /** Merge faults into the current set (null or false switches one off). */
  setFaults(faults: FaultsPatch): void {
    this.faultState.merge(faults);
  }

  clearFaults(): void {
    this.faultState.clear();
  }

  /**
   * Ends every WebSocket at once: terminated without a close frame, or with `closeCode` closed
   * politely (1001 is a server going away). Returns how many there were.
   */
  dropSockets(closeCode?: number): number {
    return this.hub.dropAll(closeCode);
  }

  /** Push text to every open socket: a raw string, a JSON value, and/or a junk frame. */
  sendToSockets(options: SendToSocketsOptions): number {
    let sockets = 0;
    if (options.raw !== undefined) sockets = this.hub.sendAll(options.raw);
    if ('frame' in options) sockets = this.hub.sendAll(JSON.stringify(options.frame) ?? 'null');
    if (options.size !== undefined) sockets = this.hub.sendAll(junk(options.size));
    return sockets;
  }

  /** Every session token becomes invalid: the next REST request or upgrade with it gets 401. */
  expireSessions(): void {
    this.auth.expireSessions();
  }

  /** Forget calls, subscriptions, webhooks, the request log, faults, bans, sessions and recordings. */
  reset(): void {
    this.calls.reset();
    this.hub.clearSubscriptions();
    this.webhooks.clear();
    this.log.clear();
    this.faultState.clear();
    this.auth.reset();
    this.recordings.reset();
  }

  private publish(event: PlatformEvent): void {
    if (!this.faultState.dropEvents) {
      this.hub.deliver(event);
      this.webhooks.deliver(event);
    }
    if (this.listenerCount('event') > 0) this.emit('event', { class: event.class, type: event.type, data: event.data });
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return new Simulator(options).start();
}

/** Text that starts like a frame and never becomes valid JSON. */
function junk(size: number): string {
  if (!Number.isInteger(size) || size < 1 || size > MAX_JUNK_BYTES) throw badRequest(`"size" must be an integer from 1 to ${MAX_JUNK_BYTES}`);
  return '["junk",{'.concat('x'.repeat(Math.max(0, size - 9))).slice(0, size);
}
