/**
 * Long polling has no change token (the platform's article: the external system reads the
 * call list periodically), so the client compares successive snapshots itself.
 */

export type PlatformCall = Record<string, unknown>;

/** Calls of one poll by id, with the fields compared between polls. */
export type CallSnapshot = Map<string, PlatformCall>;

export interface PollChange {
  topic: string;
  payload: PlatformCall;
  connectionId: string;
  callId?: string;
}

/** Topic for a call that changed from one state to another, in the vocabulary of events. */
function changeTopic(before: unknown, after: unknown): string {
  if (before === 'ring' && after === 'talk') return 'callevents.dlg_start';
  return 'ccsevents.call_set_state';
}

function idOf(call: PlatformCall): string | undefined {
  const id = call.id ?? call.connectionid;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

function change(topic: string, id: string, payload: PlatformCall): PollChange {
  const out: PollChange = { topic, payload, connectionId: id };
  if (typeof payload.cid === 'string') out.callId = payload.cid;
  return out;
}

/**
 * Messages for calls that appeared (`callevents.invite`), changed state (`dlg_start` when
 * answered, else `ccsevents.call_set_state`) or vanished (`callevents.dlg_end`, reason
 * `unknown`: the list does not say how a call ended) since `previous`.
 */
export function diffCalls(previous: CallSnapshot | undefined, calls: readonly PlatformCall[]): {
  snapshot: CallSnapshot;
  changes: PollChange[];
} {
  const snapshot: CallSnapshot = new Map();
  const changes: PollChange[] = [];
  for (const call of calls) {
    const id = idOf(call);
    if (id === undefined) continue;
    snapshot.set(id, call);
    const before = previous?.get(id);
    if (!before) changes.push(change('callevents.invite', id, call));
    else if (before.state !== call.state) changes.push(change(changeTopic(before.state, call.state), id, call));
  }
  if (previous) {
    for (const [id, call] of previous) {
      if (!snapshot.has(id)) changes.push(change('callevents.dlg_end', id, { ...call, state: 'end', reason: 'unknown' }));
    }
  }
  return { snapshot, changes };
}
