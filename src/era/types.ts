/** Plain types shared by the client's modules and its users. */

export type JsonObject = Record<string, unknown>;

export interface Logger {
  debug(msg: string): void;
  warn(msg: string): void;
}

/** One platform event as delivered to listeners. Shared by every listener it reaches: read-only. */
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
  /** The call's state after this event (a copy), when a listener of this event asked for it. */
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
