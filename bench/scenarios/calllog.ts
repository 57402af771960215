/**
 * era-call-log: its CPU per finished call on the event path's bursts, beside era-events (default
 * settings) on the same bursts, in interleaved rounds; and Node-RED's heap (after GC) idle, while
 * `scaleCalls` records wait for their recordings' keys, right after the keys came and every
 * record went out, 5 s later, and after the call table's 60 s grace period.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../config';
import { fixed, int, mb, ratio, table, verdict } from '../lib/format';
import type { Measured } from '../lib/meter';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';
import { median } from '../lib/stats';
import type { CallLogMemorySample, CallLogVariant } from '../procs/calllog-red';
import { CALL_EVENTS_PER_CALL } from './events';

const TIMEOUT_MS = 300_000;
/** Long enough that no record stops waiting for its key during the run. */
const WAIT_RECORDING_S = 3_600;
/** The client's endedCallGraceMs default; the table is swept when next touched. */
const ENDED_CALL_GRACE_MS = 60_000;
/** Control-API requests in flight at once while the platform's recording events are pushed. */
const PUSHES_IN_FLIGHT = 16;

export interface CallLogCpuRun {
  variant: CallLogVariant;
  label: string;
  /** Messages out per finished call (era-events: the call's 6 call events). */
  messagesPerCall: number;
  calls: number;
  framesPerCall: number;
  cpuUsPerCall: number;
  callsPerSecond: number;
  cpuUsPerCallRuns: number[];
}

export interface CallLogMemory {
  calls: number;
  samples: Array<CallLogMemorySample & { label: string }>;
}

export interface CallLogResults {
  cpu: CallLogCpuRun[];
  memory: CallLogMemory;
}

const VARIANTS: ReadonlyArray<{ variant: CallLogVariant; label: string; messagesPerCall: number }> = [
  { variant: 'call-log', label: 'era-call-log (one record per call)', messagesPerCall: 1 },
  { variant: 'events', label: 'era-events, callevents.*, attachCall true (6 messages per call)', messagesPerCall: CALL_EVENTS_PER_CALL },
];

class Pair {
  readonly cpu: number[] = [];
  readonly rate: number[] = [];
  readonly frames: number[] = [];
  calls = 0;

  private constructor(
    readonly v: (typeof VARIANTS)[number],
    readonly sim: SimProcess,
    readonly client: Child,
  ) {}

  static async start(v: (typeof VARIANTS)[number]): Promise<Pair> {
    const sim = await SimProcess.start();
    const client = new Child('calllog-red.ts');
    await client.call('setup', { url: sim.url, variant: v.variant, waitRecording: 10 });
    await sim.subscribed(['callevents.*', 'ccsevents.']);
    return new Pair(v, sim, client);
  }

  async burst(calls: number, record: boolean, profile?: string): Promise<void> {
    await this.client.call('arm', { count: calls * this.v.messagesPerCall, profile });
    const produced = this.sim.burst(calls);
    const m = await this.client.call<Measured & { frames: number }>('wait', { timeoutMs: TIMEOUT_MS });
    await produced;
    if (!record) return;
    this.calls = calls;
    this.cpu.push(m.cpuUs / calls);
    this.rate.push((calls * 1000) / m.wallMs);
    this.frames.push(m.frames / calls);
  }

  result(): CallLogCpuRun {
    return {
      variant: this.v.variant,
      label: this.v.label,
      messagesPerCall: this.v.messagesPerCall,
      calls: this.calls,
      framesPerCall: median(this.frames),
      cpuUsPerCall: median(this.cpu),
      callsPerSecond: median(this.rate),
      cpuUsPerCallRuns: this.cpu,
    };
  }

  async stop(): Promise<void> {
    await this.client.stop();
    await this.sim.stop();
  }
}

async function cpuPath(): Promise<CallLogCpuRun[]> {
  const calls = Math.ceil(config.events / CALL_EVENTS_PER_CALL);
  const warmCalls = Math.ceil(config.warmupEvents / CALL_EVENTS_PER_CALL);
  const pairs: Pair[] = [];
  try {
    for (const v of VARIANTS) {
      process.stderr.write(`call log: starting ${v.label}, warm-up burst ...\n`);
      const pair = await Pair.start(v);
      pairs.push(pair);
      await pair.burst(warmCalls, false);
    }
    for (let round = 1; round <= config.eventRounds; round++) {
      process.stderr.write(`call log: round ${round} of ${config.eventRounds} ...\n`);
      for (const pair of pairs) await pair.burst(calls, true, round === 1 ? `calllog-${pair.v.variant}` : undefined);
    }
    return pairs.map((p) => p.result());
  } finally {
    for (const pair of pairs) await pair.stop();
  }
}

/** The platform's event about call `id` (`<cid>.<invitets>`), pushed to every socket through the control API. */
function frame(id: string, cls: string, type: string, fields: Record<string, unknown>): unknown {
  const cid = id.slice(0, id.lastIndexOf('.'));
  return ['event', { class: cls, type, data: { eventid: `${type}-${id}`, eventts: Date.now(), connectionid: id, cid, ...fields } }];
}

async function push(simUrl: string, frames: unknown[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < frames.length) {
      const body = JSON.stringify({ frame: frames[next++] });
      const res = await fetch(`${simUrl}/_sim/ws/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (!res.ok) throw new Error(`/_sim/ws/send answered ${res.status}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: PUSHES_IN_FLIGHT }, worker));
}

async function memoryPath(): Promise<CallLogMemory> {
  const sim = await SimProcess.start();
  const client = new Child('calllog-red.ts');
  const samples: CallLogMemory['samples'] = [];
  const sample = async (label: string): Promise<CallLogMemorySample> => {
    const s = await client.call<CallLogMemorySample>('sample');
    samples.push({ label, ...s });
    process.stderr.write(`call log memory: ${label}: heap ${mb(s.heapUsed)} MB, ${s.out} out, ${s.recordsHeld} records held\n`);
    return s;
  };
  try {
    const n = config.scaleCalls;
    await client.call('setup', { url: sim.url, variant: 'call-log', waitRecording: WAIT_RECORDING_S });
    await sim.subscribed(['callevents.*', 'ccsevents.']);
    await sample('idle (era-call-log deployed, connected, no calls)');
    const ids = await sim.startCalls(n, true);
    // Each call is said to be recorded; its key is held back until every record waits for one.
    await push(sim.url, ids.map((id) => frame(id, 'callevents', 'rec_info', { isrec: 'true', dir: 'in' })));
    await sim.hangup(ids);
    for (let tries = 0; (await client.call<CallLogMemorySample>('sample')).ended < n; tries++) {
      if (tries > 600) throw new Error('the calls did not all end in the call table within a minute');
      await sleep(100);
    }
    const waiting = await sample(`${int(n)} records waiting for their recordings' keys`);
    if (waiting.out !== 0) throw new Error(`${waiting.out} records went out before their keys came`);
    await push(sim.url, ids.map((id) => frame(id, 'ccsevents', 'connection_set_record_info', { key: `fs:main1:Srv-001/${id}.mp3` })));
    await client.call('reach', { total: n, timeoutMs: TIMEOUT_MS });
    await sample('every key came, every record out');
    await sleep(5_000);
    await sample('5 s later');
    process.stderr.write(`call log memory: waiting ${ENDED_CALL_GRACE_MS / 1000} s for the call table's grace period ...\n`);
    await sleep(ENDED_CALL_GRACE_MS + 1_000);
    await sim.burst(1);
    await client.call('reach', { total: n + 1, timeoutMs: TIMEOUT_MS });
    await sample('grace period over (one more call to sweep the table)');
    return { calls: n, samples };
  } finally {
    await client.stop();
    await sim.stop();
  }
}

export async function callLogPath(): Promise<CallLogResults> {
  return { cpu: await cpuPath(), memory: await memoryPath() };
}

export function callLogSection({ cpu, memory }: CallLogResults): string {
  const events = cpu.find((r) => r.variant === 'events');
  const [idle] = memory.samples;
  const last = memory.samples[memory.samples.length - 1]!;
  return [
    '## era-call-log: CPU per finished call, and memory while records wait for keys',
    '',
    `The event path's bursts of short answered calls (${int(cpu[0]?.calls ?? 0)} per burst, dlg_stop at once), the same to each`,
    `variant, ${config.eventRounds} interleaved rounds, medians: era-call-log alone (one record per call, waitRecording 10) beside`,
    'era-events with default settings (its 6 call events per call). CPU of the Node-RED process per finished call.',
    '',
    table(
      ['variant', 'frames per call', 'µs CPU per call', '× era-events', 'calls / s', 'µs per call, each round'],
      cpu.map((r) => [
        r.label,
        fixed(r.framesPerCall, 1),
        fixed(r.cpuUsPerCall),
        events ? ratio(r.cpuUsPerCall / events.cpuUsPerCall) : '–',
        int(r.callsPerSecond),
        r.cpuUsPerCallRuns.map((x) => fixed(x, 0)).join(', '),
      ]),
    ),
    '',
    `Memory: ${int(memory.calls)} answered calls, each announced as recorded (\`rec_info\`), end while their keys are held back, so`,
    `each record waits (waitRecording ${WAIT_RECORDING_S} s); then every key comes and every record goes out. Heap after GC in the`,
    'Node-RED process, and how many of the records sent are still reachable (weak references in that process).',
    '',
    table(
      ['moment', 'heap MB', 'above idle MB', 'records out', 'records still held', 'calls in the table'],
      memory.samples.map((s) => [s.label, mb(s.heapUsed), mb(s.heapUsed - idle!.heapUsed), int(s.out), int(s.recordsHeld), int(s.tracked)]),
    ),
    '',
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    `| memory flat once the records are out (no record held after the call table's grace period) | ${int(last.recordsHeld)} records held; ${mb(last.heapUsed - idle!.heapUsed)} MB above idle | ${verdict(last.recordsHeld === 0)} |`,
  ].join('\n');
}
