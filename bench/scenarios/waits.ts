/**
 * era-wait's memory: Node-RED's heap (after GC) idle, while one era-wait holds `waits` messages
 * (each waiting an hour for its call to be answered), and once every call ended and each message
 * left by output 2. Before the fix, a finished wait kept its message until its deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config, packageEnv } from '../config';
import { int, mb, table, verdict } from '../lib/format';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';

const PER_CALL = 10;
const TIMEOUT_MS = 120_000;

interface Sample {
  heapUsed: number;
  rss: number;
  out: number;
  /** Of the messages fed, how many are still reachable after GC. */
  messagesHeld: number;
}

export interface WaitsRun {
  label: string;
  idle: Sample;
  holding: Sample;
  finished: Sample;
  /** A few seconds later, for anything released late. */
  settled: Sample;
}

export interface WaitsResults {
  waits: number;
  runs: WaitsRun[];
}

async function measure(label: string, packageDir: string | undefined): Promise<WaitsRun> {
  const sim = await SimProcess.start();
  const client = new Child('waits.ts', { env: packageEnv(packageDir) });
  try {
    await client.call('setup', { url: sim.url, maxWaits: config.waits });
    await sim.subscribed(['callevents.']);
    const idle = await client.call<Sample>('sample');
    const ids = await sim.startCalls(Math.ceil(config.waits / PER_CALL), false);
    await client.call('feed', { ids, perCall: PER_CALL });
    const holding = await client.call<Sample>('sample');
    await sim.hangup(ids);
    await client.call('reach', { total: ids.length * PER_CALL, timeoutMs: TIMEOUT_MS });
    const finished = await client.call<Sample>('sample');
    await sleep(5_000);
    const settled = await client.call<Sample>('sample');
    process.stderr.write(`waits (${label}): heap idle ${mb(idle.heapUsed)}, holding ${mb(holding.heapUsed)}, finished ${mb(finished.heapUsed)} MB\n`);
    return { label, idle, holding, finished, settled };
  } finally {
    await client.stop();
    await sim.stop();
  }
}

export async function waitsPath(): Promise<WaitsResults> {
  const runs = [await measure('this checkout', undefined)];
  if (config.candidate) runs.push(await measure('candidate', config.candidate));
  return { waits: Math.ceil(config.waits / PER_CALL) * PER_CALL, runs };
}

export function waitsSection({ waits, runs }: WaitsResults): string {
  const held = (r: WaitsRun) => r.holding.heapUsed - r.idle.heapUsed;
  const kept = (r: WaitsRun) => r.settled.heapUsed - r.idle.heapUsed;
  return [
    '## era-wait: memory of finished waits',
    '',
    `One era-wait holds ${int(waits)} messages (${PER_CALL} per ringing call, each with a 0.5 KB record of its own), each waiting`,
    'an hour for its call to be answered; then every call ends and each message leaves by output 2 at once. Heap after',
    'GC in the Node-RED process: idle, while holding them, right after the last left, and 5 s later; and how many of the',
    'messages are still reachable (weak references in that process). What stays above idle 5 s later is mostly the',
    `call table's ${int(waits / PER_CALL)} ended calls, which it keeps for its 60 s grace period, not the waits.`,
    '',
    table(
      ['build', 'idle MB', 'holding MB', 'finished MB', '5 s later MB', 'held by the waits MB', 'above idle 5 s later MB', 'messages still held'],
      runs.map((r) => [
        r.label,
        mb(r.idle.heapUsed),
        mb(r.holding.heapUsed),
        mb(r.finished.heapUsed),
        mb(r.settled.heapUsed),
        mb(held(r)),
        mb(kept(r)),
        `${int(r.settled.messagesHeld)} of ${int(waits)}`,
      ]),
    ),
    '',
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    `| the memory of ${int(waits)} finished waits is released (no finished message still held) | ${int(runs[0]!.settled.messagesHeld)} messages held; ${mb(kept(runs[0]!))} MB above idle | ${verdict(runs[0]!.settled.messagesHeld === 0)} |`,
  ].join('\n');
}
