/**
 * Scale: Node-RED's heap (after GC) idle with era-events deployed and connected, with
 * `scaleCalls` answered calls going on, then at checkpoints through `scaleEvents` events of
 * short calls, and once more after the ended-call grace period.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../config';
import type { MemorySample } from '../procs/scale';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';
import { CALL_EVENTS_PER_CALL } from './events';

/** Events the socket carries for one burst call (callevents and ccsevents: attachCall is on). */
const EVENTS_PER_BURST_CALL = 13;
/** Call events out of era-events: starting and answering a call, ending it (dlg_end, then dlg_stop after 3 s). */
const CALL_EVENTS_TO_TALK = 4;
const CALL_EVENTS_TO_END = 2;
/** The client's endedCallGraceMs default, which era-server does not expose; the table is swept when next touched. */
const ENDED_CALL_GRACE_MS = 60_000;
const CHECKPOINTS = 4;
const TIMEOUT_MS = 300_000;

export interface ScaleSample extends MemorySample {
  label: string;
}

export async function scale(): Promise<ScaleSample[]> {
  const sim = await SimProcess.start();
  const client = new Child('scale.ts');
  const samples: ScaleSample[] = [];
  const sample = async (label: string) => {
    const s = await client.call<MemorySample>('sample');
    samples.push({ label, ...s });
    process.stderr.write(`scale: ${label}: heap ${(s.heapUsed / 2 ** 20).toFixed(1)} MB, ${s.tracked} calls tracked\n`);
  };
  let expected = 0;
  const reach = (more: number) => client.call('reach', { total: (expected += more), timeoutMs: TIMEOUT_MS });
  try {
    await client.call('setup', { url: sim.url });
    await sim.subscribed(['callevents.*', 'ccsevents.']);
    await sample('idle (era-events deployed, connected, no calls)');
    const ids = await sim.startCalls(config.scaleCalls, true);
    await reach(config.scaleCalls * CALL_EVENTS_TO_TALK);
    await sample(`${config.scaleCalls.toLocaleString('en-US')} calls going on`);
    await sim.hangup(ids);
    await reach(config.scaleCalls * CALL_EVENTS_TO_END);
    const calls = Math.ceil(config.scaleEvents / EVENTS_PER_BURST_CALL);
    for (let k = 1; k <= CHECKPOINTS; k++) {
      const chunk = Math.round((calls * k) / CHECKPOINTS) - Math.round((calls * (k - 1)) / CHECKPOINTS);
      await sim.burst(chunk);
      await reach(chunk * CALL_EVENTS_PER_CALL);
      const received = Math.round((calls * k) / CHECKPOINTS) * EVENTS_PER_BURST_CALL;
      await sample(`after ${received.toLocaleString('en-US')} more events (all calls ended)`);
    }
    process.stderr.write(`scale: waiting ${ENDED_CALL_GRACE_MS / 1000} s for the ended-call grace period ...\n`);
    await sleep(ENDED_CALL_GRACE_MS + 1_000);
    await sim.burst(1);
    await reach(CALL_EVENTS_PER_CALL);
    await sample('grace period over (one more call to sweep the table)');
    return samples;
  } finally {
    await client.stop();
    await sim.stop();
  }
}
