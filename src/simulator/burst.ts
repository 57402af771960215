/**
 * Complete short calls back-to-back as fast as the event loop allows: the load generator of
 * the benchmarks. Work is done in chunks so that sockets get written and acknowledgements
 * read between them, and it pauses while a reader is far behind instead of buffering without
 * bound.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { CallModel } from './calls';
import { badRequest } from './errors';
import { extension, russianMobile } from './ids';
import type { BurstOptions, BurstResult } from './types';
import type { WsHub } from './ws';

/** Calls per event-loop turn: large enough to amortise the turn, small enough to keep I/O flowing. */
const CHUNK = 100;
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** A reader that takes nothing for this long is not waited for any more. */
const STALL_MS = 2000;
const MAX_BURST_CALLS = 1_000_000;

export async function runBurst(calls: CallModel, hub: WsHub, options: BurstOptions, stopped: () => boolean): Promise<BurstResult> {
  const count = options.calls;
  if (!Number.isInteger(count) || count < 0 || count > MAX_BURST_CALLS) throw badRequest(`"calls" must be an integer from 0 to ${MAX_BURST_CALLS}`);
  const answer = options.answer !== false;
  const firstEvent = calls.eventCount;
  const t0 = performance.now();
  let done = 0;
  while (done < count && !stopped()) {
    await drained(hub);
    const end = Math.min(count, done + CHUNK);
    for (; done < end; done++) {
      const call = calls.start({ from: russianMobile(), to: extension(), dir: 'in', answer });
      calls.hangup(call, answer ? 'bye' : 'cancel', 0);
    }
    await nextTurn();
  }
  const ms = performance.now() - t0;
  const events = calls.eventCount - firstEvent;
  return { calls: done, events, ms: Math.round(ms), eventsPerSecond: ms > 0 ? Math.round((events * 1000) / ms) : 0 };
}

async function drained(hub: WsHub): Promise<void> {
  let last = hub.maxBufferedAmount();
  let progressAt = Date.now();
  while (last > HIGH_WATER_BYTES) {
    await sleep(1);
    const now = hub.maxBufferedAmount();
    if (now < last) progressAt = Date.now();
    else if (Date.now() - progressAt > STALL_MS) return;
    last = now;
  }
}
