/**
 * Event path: the same bursts of short calls from the simulator to each client variant. Every
 * variant has its own simulator and client processes, all started first; each gets a warm-up
 * burst, then `eventRounds` rounds run one measured burst per variant in turn. CPU per event
 * and events per second from frame to output, medians over the rounds.
 */
import { config, packageEnv, resultKey } from '../config';
import type { Measured } from '../lib/meter';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';
import { median } from '../lib/stats';

/** A burst call carries 6 call events (invite, dlg_init, dlg_call, dlg_start, dlg_end, dlg_stop) among its 13. */
export const CALL_EVENTS_PER_CALL = 6;
const EVENTS_PER_BURST_CALL = 13;
const TIMEOUT_MS = 120_000;

export interface EventRun {
  key: string;
  label: string;
  /** Frames the socket carried per emitted event (era-events with attachCall also takes ccsevents for the call table): counted by era-events' client, else from the subscription. */
  framesPerEvent: number;
  events: number;
  /** Medians over the rounds, and every round's figure. */
  cpuUsPerEvent: number;
  eventsPerSecond: number;
  cpuUsPerEventRuns: number[];
  eventsPerSecondRuns: number[];
  /** The rate at which the simulator produced the call events of the burst (median): no client can go faster. */
  simCallEventsPerSecond: number;
  /** The simulator's CPU time over its burst's wall time (median): near 1, it was the bottleneck. */
  simBusy: number;
}

export interface EventResults {
  runs: EventRun[];
  /** Mean size of an event frame, as the bare client received them. */
  frameBytes: number;
}

export interface Variant {
  key: string;
  label: string;
  script: string;
  /** What the subscription the simulator sees must ask for (pattern prefixes). */
  subscription: readonly string[];
  /** Frames per call on the socket, unless the client counts them (era-events). */
  frames: number;
  /** Another build of the package (BENCH_CANDIDATE) instead of this checkout's. */
  packageDir?: string;
  /** The cluster section on, claiming in this Redis (scenarios/cluster.ts). */
  redisUrl?: string;
}

const VARIANTS: readonly Variant[] = [
  { key: 'bare', label: 'bare `ws` client + JSON.parse (limit)', script: 'events-bare.ts', subscription: ['callevents.*'], frames: 6 },
  { key: 'core', label: 'core flow: websocket in → json → change → switch → function', script: 'events-red.ts', subscription: ['callevents.*'], frames: 6 },
  { key: 'floor', label: 'minimal Node-RED node: ws + JSON.parse + send (floor)', script: 'events-red.ts', subscription: ['callevents.*'], frames: 6 },
  { key: 'era-plain', label: 'era-events, attachCall false', script: 'events-red.ts', subscription: ['callevents.*'], frames: 6 },
  { key: 'era-attach', label: 'era-events, attachCall true (default)', script: 'events-red.ts', subscription: ['callevents.*', 'ccsevents.'], frames: 13 },
];

/** The era-events variants again on the BENCH_CANDIDATE build, keyed `<key>@candidate`. */
function candidates(dir: string | undefined): Variant[] {
  if (dir === undefined) return [];
  return VARIANTS.filter((v) => v.key.startsWith('era-')).map((v) => ({ ...v, label: `${v.label} — candidate`, packageDir: dir }));
}

export class Pair {
  readonly cpu: number[] = [];
  readonly rate: number[] = [];
  readonly simRate: number[] = [];
  readonly simBusy: number[] = [];
  readonly framesPerEvent: number[] = [];
  events = 0;

  private constructor(
    readonly v: Variant,
    readonly sim: SimProcess,
    readonly client: Child,
  ) {}

  static async start(v: Variant): Promise<Pair> {
    const sim = await SimProcess.start();
    const client = new Child(v.script, { env: packageEnv(v.packageDir) });
    await client.call('setup', { url: sim.url, variant: v.key, redisUrl: v.redisUrl });
    await sim.subscribed([...v.subscription]);
    return new Pair(v, sim, client);
  }

  /** One burst of `calls` calls; `record` keeps its figures. */
  async burst(calls: number, record: boolean, profile?: string): Promise<void> {
    await this.client.call('arm', { events: calls * CALL_EVENTS_PER_CALL, profile });
    const produced = this.sim.burst(calls);
    const m = await this.client.call<Measured & { frames?: number }>('wait', { timeoutMs: TIMEOUT_MS });
    const b = await produced;
    if (!record) return;
    this.events = m.count;
    this.cpu.push(m.cpuUs / m.count);
    this.rate.push((m.count * 1000) / m.wallMs);
    this.simRate.push((b.events * (CALL_EVENTS_PER_CALL / EVENTS_PER_BURST_CALL) * 1000) / b.ms);
    this.simBusy.push(b.cpuUs / 1000 / b.ms);
    this.framesPerEvent.push((m.frames ?? this.v.frames * calls) / m.count);
  }

  result(): EventRun {
    return {
      key: resultKey(this.v.key, this.v.packageDir),
      label: this.v.label,
      framesPerEvent: median(this.framesPerEvent),
      events: this.events,
      cpuUsPerEvent: median(this.cpu),
      eventsPerSecond: median(this.rate),
      cpuUsPerEventRuns: this.cpu,
      eventsPerSecondRuns: this.rate,
      simCallEventsPerSecond: median(this.simRate),
      simBusy: median(this.simBusy),
    };
  }

  async stop(): Promise<void> {
    await this.client.stop();
    await this.sim.stop();
  }
}

export async function eventPath(): Promise<EventResults> {
  const calls = Math.ceil(config.events / CALL_EVENTS_PER_CALL);
  const warmCalls = Math.ceil(config.warmupEvents / CALL_EVENTS_PER_CALL);
  const pairs: Pair[] = [];
  try {
    for (const v of [...VARIANTS, ...candidates(config.candidate)]) {
      process.stderr.write(`event path: starting ${v.label}, warm-up burst ...\n`);
      const pair = await Pair.start(v);
      pairs.push(pair);
      await pair.burst(warmCalls, false);
    }
    for (let round = 1; round <= config.eventRounds; round++) {
      process.stderr.write(`event path: round ${round} of ${config.eventRounds} ...\n`);
      for (const pair of pairs) await pair.burst(calls, true, round === 1 ? `events-${resultKey(pair.v.key, pair.v.packageDir).replace('@', '-')}` : undefined);
    }
    const frameBytes = await pairs.find((p) => p.v.key === 'bare')!.client.call<number>('frameBytes');
    return { runs: pairs.map((p) => p.result()), frameBytes };
  } finally {
    for (const pair of pairs) await pair.stop();
  }
}
