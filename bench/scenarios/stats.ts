/**
 * era-stats: the CPU of one snapshot (an input message in, the figures out to the sink) and Node-RED's
 * heap, with no call, with `statsLive` calls going on, and with `statsFinished` calls finished in the
 * window besides — right after them, and once the call table's 60 s grace for ended calls is over,
 * when what stays of them is the window's counts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../config';
import { fixed, int, mb, table, verdict } from '../lib/format';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';

/** What the window of 100,000 finished calls may add to the heap: far below what records of them would take. */
const WINDOW_TARGET_MB = 5;

interface Sample {
  heapUsed: number;
  rss: number;
}

interface SnapshotRun {
  cpuUs: number;
  wallMs: number;
}

interface Stage {
  label: string;
  heap: Sample;
  snapshots: SnapshotRun;
}

export interface StatsResults {
  live: number;
  finished: number;
  snapshots: number;
  operators: number;
  stages: Stage[];
  burstSeconds: number;
}

export async function statsPath(): Promise<StatsResults> {
  const { statsLive: live, statsFinished: finished, statsSnapshots: snapshots } = config;
  const sim = await SimProcess.start();
  const client = new Child('stats.ts');
  const stages: Stage[] = [];
  const stage = async (label: string) => {
    const s: Stage = { label, heap: await client.call<Sample>('sample'), snapshots: await client.call<SnapshotRun>('snapshots', { count: snapshots }) };
    stages.push(s);
    process.stderr.write(`stats: ${label}: heap ${mb(s.heap.heapUsed)} MB, ${fixed(s.snapshots.cpuUs / snapshots / 1000, 2)} ms CPU a snapshot\n`);
  };
  try {
    await client.call('setup', { url: sim.url, maxCalls: live + finished + 10_000 });
    await sim.subscribed(['callevents.']);
    await client.call('reach', { live: 0, finished: 0, timeoutMs: 10_000 });
    await stage('no call');
    const ringing = await sim.startCalls(Math.floor(live / 2), false);
    const talking = await sim.startCalls(live - ringing.length, true);
    await client.call('reach', { live, finished: 0, timeoutMs: 120_000 });
    await stage(`${int(live)} going on`);
    const t0 = Date.now();
    await sim.burst(finished);
    const { operators } = await client.call<{ operators: number }>('reach', { live, finished, timeoutMs: 600_000 });
    const burstSeconds = (Date.now() - t0) / 1000;
    await stage(`${int(live)} going on, ${int(finished)} finished in the window`);
    await sleep(61_000);
    await client.call('sweep');
    await stage('the same, 61 s later (the table\'s ended calls gone)');
    await sim.hangup([...ringing, ...talking]);
    return { live, finished, snapshots, operators, stages, burstSeconds };
  } finally {
    await client.stop();
    await sim.stop();
  }
}

export function statsSection(r: StatsResults): string {
  const [, going, full, swept] = r.stages;
  const windowBytes = swept!.heap.heapUsed - going!.heap.heapUsed;
  const perSnapshot = (s: Stage) => fixed(s.snapshots.cpuUs / r.snapshots / 1000, 2);
  const wallPerSnapshot = (s: Stage) => fixed(s.snapshots.wallMs / r.snapshots, 2);
  return [
    '## era-stats: snapshots and memory',
    '',
    `One era-stats node (window 60 min) in Node-RED; ${int(r.live)} calls going on (half ringing, half talking), then a burst`,
    `of ${int(r.finished)} answered short calls (${fixed(r.burstSeconds, 0)} s until the figures counted them all). ${int(r.snapshots)} snapshots`,
    'at each stage, one after the other: an input message into the node, the figures out to the sink; CPU of the Node-RED',
    'process over them. Heap after GC. The window keeps counts per time bucket, not calls; the call table keeps ended calls',
    'for its 60 s grace period, so the last row (61 s later) shows what the window itself holds. Right after the burst a',
    'snapshot costs more: the live figures walk the call table, which still holds the 100,000 ended calls then.',
    `${int(r.operators)} numbers in \`operators\`.`,
    '',
    table(
      ['stage', 'heap MB', 'CPU per snapshot, ms', 'wall per snapshot, ms'],
      r.stages.map((s) => [s.label, mb(s.heap.heapUsed), perSnapshot(s), wallPerSnapshot(s)]),
    ),
    '',
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    `| ${int(r.finished)} finished calls in the window do not hold ${int(r.finished)} records (under ${WINDOW_TARGET_MB} MB) | ${mb(windowBytes)} MB above the heap with the live calls alone | ${verdict(windowBytes < WINDOW_TARGET_MB * 2 ** 20)} |`,
    `| a snapshot with ${int(r.live)} going on and ${int(r.finished)} finished in the window | ${perSnapshot(swept!)} ms CPU (${perSnapshot(full!)} ms while the table still held them) | (reported) |`,
  ].join('\n');
}
