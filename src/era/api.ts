/** The types of the client's public API (client.ts), apart from its behaviour. */
import type { CallLogDirection } from './calls/call-log';
import type { CallStatsSnapshot, StatsWindow } from './calls/stats';
import type { ResponseHeaders } from './connection/rest';
import type { Query } from './protocol/paths';

export type { ClientState } from './connection/state';

export interface RestOptions {
  query?: Query;
  timeoutMs?: number;
}

export interface RestResult {
  statusCode: number;
  headers: ResponseHeaders;
  /** Parsed JSON, else the text; null when empty. */
  body: unknown;
}

export interface CommandResult {
  statusCode: number;
  body: unknown;
  /** The new call's id, for dial commands whose answer names it. */
  connectionId?: string;
}

/** What a call log (era-call-log) asks for: which calls, and how long a record waits for its recording's key. */
export interface CallLogSpec {
  /** `all` (default), `in` or `out`. */
  direction?: CallLogDirection;
  /** Milliseconds a record waits after the end for the recording's key (0: none); default 10 s. */
  waitRecordingMs?: number;
  /**
   * Names the log across a redeploy (a node's id, the same on every replica): a successor with
   * the same key, added within the linger, takes over its waiting records and those that came meanwhile.
   */
  key?: string;
}

export interface ListenHandle {
  close(): void;
}

/** What live figures (era-stats) ask for. */
export interface CallStatsSpec {
  /** The window of finished calls counted: 1 s to a day. */
  windowMs: number;
  /** An inbound call answered within this counts toward the service level. */
  serviceLevelMs: number;
  /** A predecessor's window (a redeploy): carried on when it was kept with the same window and service level. */
  resume?: StatsWindow;
  /**
   * Names the figures across a redeploy (a node's id): closed, they go on counting for the linger,
   * and a successor with the same key carries their window on.
   */
  key?: string;
}

export interface CallStatsHandle extends ListenHandle {
  /** The figures now; while the connection is not up, `live` is null (the table may no longer be true). */
  snapshot(): CallStatsSnapshot;
  /** The finished calls counted so far, for a successor to resume. */
  readonly window: StatsWindow;
}

export interface ClientStats {
  /** Pushes received (everything but replies). */
  received: number;
  /** Pushes decoded as events. */
  decoded: number;
  /** Pushes skipped because they could not be decoded. */
  undecodable: number;
  /** Events dropped because they had already reached the same listeners (or a replay reported them). */
  duplicates: number;
  /** Times the WebSocket came back after a loss. */
  reconnects: number;
}

export interface TestResult {
  ok: boolean;
  message: string;
}
