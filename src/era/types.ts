/** Plain types shared by the client's modules and its users. */

export type JsonObject = Record<string, unknown>;

export interface Logger {
  debug(msg: string): void;
  warn(msg: string): void;
}

/**
 * Sees the protocol as it passes, for a report of how an installation speaks it (era-check).
 * Called synchronously; must not throw. It sees secrets (a login's body, session tokens): an
 * observer must not show values it did not scrub.
 */
export interface ProtocolObserver {
  /** A REST exchange, once its answer is read. */
  http?(exchange: { method: string; path: string; statusCode: number; headers: Record<string, string | string[] | undefined>; body: unknown }): void;
  /** The WebSocket upgrade's outcome: 101, another status, or a network error's description. */
  upgrade?(outcome: { path: string; statusCode?: number; error?: string }): void;
  /** A text frame as sent or received. */
  frame?(direction: 'in' | 'out', text: string): void;
}

/** One platform event as delivered to listeners. The object is shared by every listener it reaches (read it in the callback); its `payload` and `call` are the listener's own. */
export interface EraEvent {
  /** `"<class>.<type>"`, e.g. `"callevents.dlg_start"`. */
  topic: string;
  class: string;
  type: string;
  /** The event's fields as the platform sent them. */
  payload: JsonObject;
  eventId: string | undefined;
  connectionId: string | undefined;
  callId: string | undefined;
  /** True for events the client made up after a reconnect to report what happened while away. */
  replayed: boolean | undefined;
  /**
   * The call's state after this event, when the listener asked for it: a copy of the listener's
   * own, set just before its callback (read it there, not later).
   */
  call: CallState | undefined;
}

export type CallDirection = 'in' | 'out' | 'local';
export type CallPhase = 'ringing' | 'talking' | 'held' | 'ended';

/** The state object of a call (nodes.md, "Call state nodes"). Times are ms timestamps. */
export interface CallState {
  connectionId: string;
  callId?: string;
  direction?: CallDirection;
  from?: string;
  to?: string;
  state: CallPhase;
  /** SIP Call-Ids of the legs seen so far. */
  legs: string[];
  /** True only while the call is on hold. */
  held: boolean;
  /** Transfer targets (blind) and replaced connectionIds (attended), in order. */
  transfers: string[];
  recordingKey?: string;
  startedAt?: number;
  answeredAt?: number;
  endedAt?: number;
  /** dlg_end's `reason`, as sent. */
  endReason?: string;
}

export type DialMode = 'post' | 'invite' | 'ivr';
export type TransferMode = 'blind' | 'attended';
export type ConferenceMode = 'switch' | 'join';

/** A command once validated: ids and numbers are trimmed strings, modes are set. */
export type ValidCommand =
  | { op: 'dial'; mode: DialMode; from?: string; to: string; ivr?: string; extra?: JsonObject }
  | { op: 'transfer'; mode: TransferMode; call: string; to?: string; replaces?: string; leg?: string; extra?: JsonObject }
  | { op: 'conference'; mode: ConferenceMode; call: string; conference?: string; extra?: JsonObject }
  | { op: 'hold' | 'unhold'; call: string; leg?: string; extra?: JsonObject }
  | { op: 'answer'; call: string; leg?: string; extra?: JsonObject }
  | { op: 'dtmf'; call: string; leg?: string; digits: string; extra?: JsonObject }
  | { op: 'record'; call: string; record: boolean; extra?: JsonObject }
  | { op: 'hangup'; call: string }
  | { op: 'lookup'; key: string; extra?: JsonObject }
  | { op: 'list'; offset?: number; limit?: number }
  | { op: 'get'; call: string };

/**
 * The claims a cluster of replicas shares (src/cluster implements them on Redis): only the replica
 * that claims an event delivers it to exclusive listeners (events/claims.ts).
 */
export interface EventClaims {
  /**
   * Claims `keys` for this replica, all or none. Resolves true when this replica delivers the
   * event (it won every key, or the store cannot tell: at least once), false when another
   * replica holds one of them. A rejection counts as true.
   */
  claim(keys: readonly string[]): Promise<boolean>;
  /** A claim went unanswered for CLAIM_TIMEOUT_MS: the store should be treated as unreachable until it answers again. */
  unanswered(): void;
}
