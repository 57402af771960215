/**
 * No event lost across a reconnect: events produced while the socket was down never come,
 * so after it is back the client compares its call table with the platform's list of
 * active calls and reports the difference as replayed events (`replayed: true`).
 */
import { randomUUID } from 'node:crypto';
import type { CallTable } from './calls';
import type { Dispatcher } from './dispatch';
import { EraError } from './errors';
import {
  callListRequest,
  listedCalls,
  makeReplayedEvent,
  replayedEndPayload,
  replayedInvitePayload,
  type ListedCall,
  type PlatformRequest,
} from './protocol';

const PAGE = 1000;

/** Every active call, page by page; `maxCalls` bounds the reading like the table's cap bounds the table. */
export async function fetchActiveCalls(
  send: (req: PlatformRequest) => Promise<{ body: unknown }>,
  maxCalls: number,
): Promise<ListedCall[]> {
  const all: ListedCall[] = [];
  for (let offset = 0; offset < maxCalls; offset += PAGE) {
    const res = await send(callListRequest(offset, PAGE));
    const page = listedCalls(res.body);
    if (page === undefined) throw new EraError('ERA_HTTP', 'The list of calls has an unexpected shape');
    all.push(...page);
    if (page.length < PAGE) break;
  }
  return all;
}

function replayId(): string {
  return `replayed-${randomUUID()}`;
}

/**
 * A call the table holds as live but the platform no longer lists ended while we were
 * away: one `callevents.dlg_end` with reason "unknown". A listed call the table does not
 * know started while we were away: one `callevents.invite`. Returns how many were made up.
 */
export function fillGap(listed: readonly ListedCall[], table: CallTable, dispatcher: Dispatcher): number {
  const now = Date.now();
  const byId = new Map<string, ListedCall>();
  for (const call of listed) byId.set(call.connectionId, call);
  let count = 0;
  for (const call of [...table.active()]) {
    if (byId.has(call.connectionId)) continue;
    dispatcher.replay(makeReplayedEvent('callevents', 'dlg_end', replayedEndPayload(call, replayId(), now)));
    count++;
  }
  for (const call of listed) {
    if (table.peek(call.connectionId) === undefined) {
      dispatcher.replay(makeReplayedEvent('callevents', 'invite', replayedInvitePayload(call, replayId(), now)), call);
      count++;
    } else {
      table.align(call);
    }
  }
  return count;
}
