/**
 * The record of a finished call (nodes.md, "Call log node"): who, how long, answered or not, the
 * recording's key — built once from what the call table knew at the end.
 */
import type { CallDirection, CallState } from '../types';
import type { FinishedCall } from './table';

/**
 * `answered`: someone answered; `missed`: inbound, nobody answered (the caller hung up or the
 * ringing timed out); `unanswered`: outbound or internal, the called party did not answer;
 * `failed`: ended by an error before anyone answered.
 */
export type CallOutcome = 'answered' | 'missed' | 'unanswered' | 'failed';

export interface CallRecord {
  connectionId: string;
  callId?: string;
  direction?: CallDirection;
  from?: string;
  to?: string;
  /** The number that answered (a ring group's or queue's phone), before any transfer; absent when nobody did. */
  answeredBy?: string;
  outcome: CallOutcome;
  startedAt?: number;
  answeredAt?: number;
  endedAt?: number;
  /** Start to answer, or to the end when unanswered; whole seconds. */
  ringSeconds: number;
  /** Answer to end, 0 when unanswered; whole seconds. */
  talkSeconds: number;
  holdSeconds: number;
  endReason?: string;
  /** Blind-transfer targets and replaced calls, in order. */
  transfers: string[];
  recordingKey?: string;
}

/** The completion types that say an error ended the call ([C] `error`; a build's own words for one). */
const ERROR_REASON = /error|fail/i;

export function outcomeOf(call: CallState, failed: boolean): CallOutcome {
  if (call.answeredAt !== undefined) return 'answered';
  if (failed || (call.endReason !== undefined && ERROR_REASON.test(call.endReason))) return 'failed';
  return call.direction === 'out' || call.direction === 'local' ? 'unanswered' : 'missed';
}

function wholeSeconds(fromMs: number | undefined, toMs: number | undefined): number {
  if (fromMs === undefined || toMs === undefined) return 0;
  return Math.max(0, Math.round((toMs - fromMs) / 1000));
}

export function callRecord(finished: FinishedCall): CallRecord {
  const c = finished.call;
  const record: CallRecord = { connectionId: c.connectionId, outcome: outcomeOf(c, finished.failed), ringSeconds: 0, talkSeconds: 0, holdSeconds: 0, transfers: c.transfers.slice() };
  if (c.callId !== undefined) record.callId = c.callId;
  if (c.direction !== undefined) record.direction = c.direction;
  if (c.from !== undefined) record.from = c.from;
  if (c.to !== undefined) record.to = c.to;
  if (c.answeredAt !== undefined && finished.answeredBy !== undefined) record.answeredBy = finished.answeredBy;
  if (c.startedAt !== undefined) record.startedAt = c.startedAt;
  if (c.answeredAt !== undefined) record.answeredAt = c.answeredAt;
  if (c.endedAt !== undefined) record.endedAt = c.endedAt;
  record.ringSeconds = wholeSeconds(c.startedAt, c.answeredAt ?? c.endedAt);
  record.talkSeconds = wholeSeconds(c.answeredAt, c.answeredAt === undefined ? undefined : c.endedAt);
  record.holdSeconds = Math.max(0, Math.round(finished.heldMs / 1000));
  if (c.endReason !== undefined) record.endReason = c.endReason;
  if (c.recordingKey !== undefined) record.recordingKey = c.recordingKey;
  return record;
}
