/**
 * Long polling has no change token (the platform's article: the external system reads the
 * call list periodically), so the client compares successive snapshots itself.
 */
import { listedCall } from '../protocol/call-list';
import type { CallPhase, JsonObject } from '../types';

export type PlatformCall = JsonObject;

/** Calls of one poll by connectionId, as the platform listed them. */
export type CallSnapshot = Map<string, PlatformCall>;

export interface PollChange {
  topic: string;
  payload: PlatformCall;
  connectionId: string;
  callId?: string;
}

/** Topic for a call that changed from one state to another, in the vocabulary of events. */
function changeTopic(before: CallPhase | undefined, after: CallPhase | undefined): string {
  if (before === 'ringing' && after === 'talking') return 'callevents.dlg_start';
  return 'ccsevents.call_set_state';
}

function change(topic: string, connectionId: string, callId: string | undefined, payload: PlatformCall): PollChange {
  const out: PollChange = { topic, payload, connectionId };
  if (callId !== undefined) out.callId = callId;
  return out;
}

/**
 * Messages for calls that appeared (`callevents.invite`), changed state (`dlg_start` when
 * answered, else `ccsevents.call_set_state`) or vanished (`callevents.dlg_end`, reason
 * `unknown`: the list does not say how a call ended) since `previous`. `items` are the
 * calls of `GET /rest/v1/uc/calls` as sent (protocol's callListItems reads them).
 */
export function diffCalls(previous: CallSnapshot | undefined, items: readonly PlatformCall[]): {
  snapshot: CallSnapshot;
  changes: PollChange[];
} {
  const snapshot: CallSnapshot = new Map();
  const changes: PollChange[] = [];
  for (const item of items) {
    const call = listedCall(item);
    if (call === undefined) continue;
    const id = call.connectionId;
    snapshot.set(id, item);
    const before = previous?.get(id);
    if (!before) {
      changes.push(change('callevents.invite', id, call.callId, item));
      continue;
    }
    const was = listedCall(before)?.state;
    if (was !== call.state) changes.push(change(changeTopic(was, call.state), id, call.callId, item));
  }
  if (previous) {
    for (const [id, item] of previous) {
      if (!snapshot.has(id)) {
        changes.push(change('callevents.dlg_end', id, listedCall(item)?.callId, { ...item, state: 'end', reason: 'unknown' }));
      }
    }
  }
  return { snapshot, changes };
}

/**
 * Claim keys of poll changes, for replicas that poll the same platform (client.onceInCluster):
 * a call's start and end once per call; a change of state by its place in the call's history as
 * this replica polled it. A replica that missed a short-lived state (or started later) numbers
 * the later changes differently and emits them again, rather than never.
 */
export class PollChangeKeys {
  /** State changes seen per call still listed. */
  private readonly seen = new Map<string, number>();

  keysOf(change: PollChange): string[] {
    const id = change.connectionId;
    if (change.topic === 'callevents.invite') {
      this.seen.set(id, 0);
      return [`poll:${id}:invite`];
    }
    if (change.topic === 'callevents.dlg_end') {
      this.seen.delete(id);
      return [`poll:${id}:dlg_end`];
    }
    const n = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, n);
    return [`poll:${id}:${n}:${String(change.payload.state)}`];
  }
}
