/**
 * Public shapes of the simulator: its options, the objects its control API returns and the
 * events it emits. The contract is written down in docs/ARCHITECTURE.md ("The simulator").
 */

export type BanRestStatus = 403 | 429;
export type BanUpgrade = 403 | 429 | 'open';

/** Which of the push envelopes of era-platform.md §4 the simulator uses for events. */
export type Envelope = 'model' | 'flat' | 'method';

/** The field of the WebSocket `login` that carries the domain (older builds: `domain`). */
export type LoginDomainField = 'td' | 'domain';

/** The name of the ccsevents recording event; the platform's builds disagree (§7). */
export type RecordEventName = 'connection_set_record_info' | 'set_call_record_info';

export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** Demand a client certificate signed by this CA (installations that authenticate clients so). */
  clientCa?: string | Buffer;
}

export interface SimulatorOptions {
  /** 0 = any free port. */
  port?: number;
  host?: string;
  /** true, or `{ intervalMs }` for another rate than a new call every ~2 s. */
  traffic?: boolean | { intervalMs?: number };
  domain?: string;
  login?: string;
  password?: string;
  /** The integration point's token (`token_local`). */
  token?: string;
  /** Serve https/wss with this key and certificate. */
  tls?: TlsOptions;
  banThreshold?: number;
  banWindowMs?: number;
  banMs?: number;
  /** The status of a REST request from a banned address: 403 (default), or 429 with `Retry-After`. */
  banRestStatus?: BanRestStatus;
  /**
   * A WebSocket upgrade from a banned address: 403 (default), 429 with `Retry-After`, or `open`:
   * a strict `/ws` lets the socket in and refuses its in-band `login` (the token API, authorised
   * by its upgrade, and a lenient `/ws` then answer 403).
   */
  banUpgrade?: BanUpgrade;
  recordLinkTtlMs?: number;
  dlgStopDelayMs?: number;
  /** Seconds; a longer subscription lifetime asked for is granted this. */
  maxSubscriptionExpires?: number;
  /** Seconds; a longer webhook lifetime asked for is granted this. Default 3600. */
  maxWebhookExpires?: number;
  envelope?: Envelope;
  /**
   * The connection as the vendor documents it (era-platform.md §2.3): `setup` (and `login` on
   * `/ws`) before anything else, `errormsg` error replies, only `session_type: "token"`, the
   * documented invite fields. Default false (the forgiving behaviour of earlier versions).
   */
  strict?: boolean;
  /** Where the WebSocket `login` reads the domain from. Default `td`. */
  loginDomainField?: LoginDomainField;
  /** false: an older build that answers `setup` as an unknown method and needs none. Default true. */
  knowsSetup?: boolean;
  /** The session cookie's name when the login asks for no token. Default `EraSession`. */
  sessionCookie?: string;
  /** Default `connection_set_record_info`. */
  recordEventName?: RecordEventName;
}

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'tls' | 'traffic'>> & {
  tls?: TlsOptions;
  /** 0 = no traffic. */
  trafficIntervalMs: number;
};

export type EventClass = 'callevents' | 'ccsevents';

export interface SimEventData {
  eventid: string;
  eventts: number;
  cid: string;
  connectionid: string;
  invitets: number;
  invitedt: string;
  [field: string]: unknown;
}

/** One event the platform produced; `data` is what goes inside the push envelope. */
export interface SimEvent {
  class: EventClass;
  type: string;
  data: SimEventData;
}

export type CallDir = 'in' | 'out' | 'local';
export type SimCallState = 'ring' | 'talk' | 'hold' | 'ended';

/** The simulator's own view of a call (control API and programmatic API). */
export interface SimCall {
  id: string;
  connectionid: string;
  cid: string;
  invitets: number;
  fromnum: string;
  tonum: string;
  callednum: string;
  dir: CallDir;
  state: SimCallState;
  acallid: string;
  bcallid: string;
  record: boolean;
  isreferred: boolean;
  recordingKey?: string;
  conference?: string;
  reason?: string;
  /** The phones a ring group rings at once (the call was started with `group`). */
  group?: string[];
  /** The phones a queue rings one after another (the call was started with `queue`). */
  queue?: string[];
  /** A ring group's or queue's forks started so far, in order. */
  forks?: SimFork[];
}

/** One fork of a ring group or queue call (`fork_start`): one phone being rung. */
export interface SimFork {
  phone: string;
  /** The fork's own SIP Call-Id: its `forkcallid`, and `idcall` of its leg events. */
  forkcallid: string;
  state: 'ring' | 'stopped' | 'answered';
}

export interface StartCallOptions {
  /** The caller. */
  from: string;
  /** The number dialled: one phone, or the number of the ring group or queue. */
  to: string;
  dir?: CallDir;
  record?: boolean;
  /** Answered at once (by the first phone of a group or queue). */
  answer?: boolean;
  /** A ring group: these phones ring at once, in one dialog. */
  group?: string[];
  /** A queue (hunt group): these phones ring one after another, in one dialog. */
  queue?: string[];
  /**
   * With `group` or `queue`: how long each phone rings. A queue then moves on to its next phone
   * (and ends `timeout` after the last); a group ends `timeout`. Without it they ring until told.
   */
  ringMs?: number;
}

export interface AnswerOptions {
  /** The phone that answers: one of a group's or queue's phones ringing now; default the first ringing. */
  by?: string;
}

export interface NextPhoneOptions {
  /** false: the phone ringing now stops, and the queue waits before the next one (`next` again). Default true. */
  ring?: boolean;
}

export interface SimRequestLog {
  kind: 'rest' | 'ws';
  ts: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: { authorization?: string; cookie?: string; contentType?: string };
  /** Parsed JSON, or the raw text when it is not JSON; undefined when there was none. */
  body: unknown;
  status?: number;
}

export type SubscriptionId = string | number;

export interface SubscriptionInfo {
  /** The WebSocket's connection id (the `connectionid` of its connection_info). */
  connectionId: string;
  id: SubscriptionId;
  events: string[];
  /** Empty: no filter. */
  objects: string[];
  expiresAt: number;
}

export interface RestStatusFault {
  status: number;
  count: number;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
}

/** A counted refusal that carries the platform's text (a default one when left out). */
export interface CountedRefusal {
  count: number;
  errormsg?: string;
}

/** How a banned address is answered while the fault is set, over the `banRestStatus` / `banUpgrade` options. */
export interface BanAnswerFault {
  rest?: BanRestStatus;
  upgrade?: BanUpgrade;
}

export interface Faults {
  restStatus?: RestStatusFault;
  restHang?: { count: number };
  /** The next `count` REST answers are worked out at once but sent `ms` later (a slow network). */
  restDelay?: { count: number; ms: number };
  noPong?: boolean;
  hangUpgrade?: boolean;
  subscribeError?: { count: number; code?: string | number; message?: string };
  recordingNotReady?: { count: number };
  dropEvents?: boolean;
  /** Capability name → the errormsg its setup entry gets instead of "ok". */
  refuseCapabilities?: Record<string, string>;
  /** The next `count` setups are refused as a whole. */
  setupError?: CountedRefusal;
  /** Setup is never answered. */
  setupHang?: boolean;
  /** The next `count` WebSocket logins, of either form, are refused. */
  refuseWsLogin?: CountedRefusal;
  /** The next `count` `rsessionid` logins are refused; login/pwd still works. */
  refuseRsessionid?: { count: number };
  /** This share (0–1) of webhook deliveries is never sent, evenly spread (every 5th for 0.2). */
  webhookDrop?: number;
  /** This share of webhook deliveries is sent twice. */
  webhookDuplicate?: number;
  /** This share of webhook deliveries is held back `ms` before it is sent. */
  webhookDelay?: { share: number; ms: number };
  /** The next `count` webhook deliveries carry a body that is not JSON instead of their event. */
  webhookJunk?: { count: number };
  /** The next `count` webhook creations (POST) are refused with `status` (403) and `errormsg`. */
  webhookCreateError?: WebhookRefusal;
  /** The next `count` webhook renewals (PUT) are refused likewise. */
  webhookRenewError?: WebhookRefusal;
  banAnswer?: BanAnswerFault;
}

export interface WebhookRefusal {
  count: number;
  status?: number;
  errormsg?: string;
}

/** A webhook registration as the REST API and `GET /_sim/webhooks` show it. */
export interface WebhookInfo {
  id: string;
  url: string;
  classes: string[];
  /** The lifetime granted, in seconds. */
  expires: number;
  expiresAt: number;
}

/** What became of one webhook delivery (the simulator's `webhook` event). */
export interface WebhookDelivery {
  url: string;
  class: string;
  type: string;
  eventid: string;
  outcome: 'answered' | 'refused' | 'failed' | 'dropped';
  status?: number;
  error?: string;
  /** The body was junk (the webhookJunk fault) instead of the event. */
  junk?: boolean;
  /** 1, or 2 for the second copy of a duplicated delivery. */
  copy?: number;
}

/** Counts of webhook deliveries since the simulator started. */
export interface WebhookStats {
  /** Requests sent (a duplicated delivery counts twice). */
  sent: number;
  /** Answered 2xx. */
  answered: number;
  /** Answered with another status. */
  refused: number;
  /** No answer: connection refused, reset, timed out. */
  failed: number;
  /** Not sent: the webhookDrop fault, or a receiver 10,000 deliveries behind. */
  dropped: number;
  duplicated: number;
  delayed: number;
  junk: number;
}

/** A change to the current faults: a key set to null (or false) switches that fault off. */
export type FaultsPatch = { [K in keyof Faults]?: Faults[K] | null | false };

export interface BurstOptions {
  calls: number;
  /** Default true: every call is answered before it ends. */
  answer?: boolean;
}

export interface BurstResult {
  calls: number;
  events: number;
  ms: number;
  eventsPerSecond: number;
}

export interface SendToSocketsOptions {
  raw?: string;
  frame?: unknown;
  /** A junk (non-JSON) text frame of this many bytes. */
  size?: number;
}
