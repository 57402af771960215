/**
 * Clustered event path: the event path's bursts into era-events (default settings) in one
 * Node-RED, with the cluster section off and on. On, every event is claimed in a real Redis
 * (redis-server on loopback, in a process of its own) before it is emitted; with one replica
 * every claim is won, so the difference is the claim's cost. Rounds interleave the two;
 * medians are reported, with the claim's latency (from the call to its answer) and Redis's CPU.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../config';
import { fixed, int, ratio, table } from '../lib/format';
import { median } from '../lib/stats';
import { RedisServer } from '../../test/support/redis';
import { CALL_EVENTS_PER_CALL, Pair, type Variant } from './events';

export interface ClusterRun {
  key: string;
  label: string;
  events: number;
  cpuUsPerEvent: number;
  eventsPerSecond: number;
  cpuUsPerEventRuns: number[];
  /** CPU per event out under the steady traffic (the process's whole CPU over the window, idle work included). */
  steadyCpuUsPerEvent: number;
  /** Claims per emitted event (1 when each event is claimed once), and their latency: medians over the rounds. */
  claimsPerEvent?: number;
  claimP50Ms?: number;
  claimP99Ms?: number;
  /** Redis's own CPU per claim (median over the rounds). */
  redisCpuUsPerClaim?: number;
}

export interface ClusterResults {
  runs: ClusterRun[];
  /** The claim's latency at a steady rate well below saturation (the rate measured: events out over the window). */
  steady: { callEventsPerSecond: number; claims: number; p50Ms: number; p99Ms: number };
}

interface Sample {
  sunk: number;
  cpuUs: number;
}

interface ClaimStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

/** Steady traffic after the bursts: a short call every 5 ms (up to 1,200 call events a second) for 5 s. */
const STEADY_INTERVAL_MS = 5;
const STEADY_MS = 5_000;
/** era-events with attachCall also subscribes to the call table's ccsevents: 13 frames per burst call. */
const SUBSCRIPTION = ['callevents.*', 'ccsevents.'];

export async function clusterPath(): Promise<ClusterResults> {
  const calls = Math.ceil(config.events / CALL_EVENTS_PER_CALL);
  const warmCalls = Math.ceil(config.warmupEvents / CALL_EVENTS_PER_CALL);
  const redis = await RedisServer.start();
  const variants: Variant[] = [
    { key: 'era-attach', label: 'era-events (default), cluster off', script: 'events-red.ts', subscription: SUBSCRIPTION, frames: 13 },
    { key: 'era-cluster', label: 'era-events (default), cluster on: each event claimed in Redis', script: 'events-red.ts', subscription: SUBSCRIPTION, frames: 13, redisUrl: redis.url },
  ];
  const pairs: Pair[] = [];
  const claims = { perEvent: [] as number[], p50: [] as number[], p99: [] as number[], redisCpu: [] as number[] };
  try {
    for (const v of variants) {
      process.stderr.write(`cluster: starting ${v.label}, warm-up burst ...\n`);
      const pair = await Pair.start(v);
      pairs.push(pair);
      await pair.burst(warmCalls, false);
    }
    for (let round = 1; round <= config.eventRounds; round++) {
      process.stderr.write(`cluster: round ${round} of ${config.eventRounds} ...\n`);
      for (const pair of pairs) {
        const redisCpu0 = redis.cpuUs();
        await pair.burst(calls, true, round === 1 ? `cluster-${pair.v.key}` : undefined);
        if (pair.v.redisUrl === undefined) continue;
        const c = await pair.client.call<ClaimStats>('claims');
        claims.perEvent.push(c.count / pair.events);
        claims.p50.push(c.p50Ms);
        claims.p99.push(c.p99Ms);
        claims.redisCpu.push((redis.cpuUs() - redisCpu0) / c.count);
      }
    }
    // Steady traffic, each variant in turn: CPU per event out, and the claims' latency.
    const steadyCpu = new Map<Pair, number>();
    let steady: ClaimStats = { count: 0, p50Ms: NaN, p99Ms: NaN };
    let rate = 0;
    for (const pair of pairs) {
      process.stderr.write(`cluster: steady traffic for ${STEADY_MS / 1000} s, ${pair.v.label} ...\n`);
      if (pair.v.redisUrl !== undefined) await pair.client.call('claims', { reset: true });
      const s0 = await pair.client.call<Sample>('sample');
      await pair.sim.stream(STEADY_INTERVAL_MS);
      await sleep(STEADY_MS);
      await pair.sim.stream(0);
      await sleep(500);
      const s1 = await pair.client.call<Sample>('sample');
      steadyCpu.set(pair, (s1.cpuUs - s0.cpuUs) / (s1.sunk - s0.sunk));
      if (pair.v.redisUrl === undefined) continue;
      steady = await pair.client.call<ClaimStats>('claims');
      rate = (s1.sunk - s0.sunk) / (STEADY_MS / 1000);
    }
    return {
      steady: { callEventsPerSecond: rate, claims: steady.count, p50Ms: steady.p50Ms, p99Ms: steady.p99Ms },
      runs: pairs.map((pair) => {
        const r = pair.result();
        const run: ClusterRun = {
          key: r.key,
          label: r.label,
          events: r.events,
          cpuUsPerEvent: r.cpuUsPerEvent,
          eventsPerSecond: r.eventsPerSecond,
          cpuUsPerEventRuns: r.cpuUsPerEventRuns,
          steadyCpuUsPerEvent: steadyCpu.get(pair)!,
        };
        if (pair.v.redisUrl === undefined) return run;
        return { ...run, claimsPerEvent: median(claims.perEvent), claimP50Ms: median(claims.p50), claimP99Ms: median(claims.p99), redisCpuUsPerClaim: median(claims.redisCpu) };
      }),
    };
  } finally {
    for (const pair of pairs) await pair.stop();
    await redis.stop();
  }
}

export function clusterSection({ runs, steady }: ClusterResults): string {
  const single = runs.find((r) => r.key === 'era-attach');
  const clustered = runs.find((r) => r.key === 'era-cluster');
  const rows = runs.map((r) => [
    r.label,
    int(r.events),
    fixed(r.cpuUsPerEvent),
    single ? ratio(r.cpuUsPerEvent / single.cpuUsPerEvent) : '–',
    int(r.eventsPerSecond),
    single ? ratio(r.eventsPerSecond / single.eventsPerSecond) : '–',
    r.claimsPerEvent === undefined ? '–' : fixed(r.claimsPerEvent, 2),
    r.claimP50Ms === undefined ? '–' : fixed(r.claimP50Ms, 2),
    r.claimP99Ms === undefined ? '–' : fixed(r.claimP99Ms, 2),
    r.redisCpuUsPerClaim === undefined ? '–' : fixed(r.redisCpuUsPerClaim),
  ]);
  return [
    '## Clustered event path',
    '',
    `The event path's load (short calls from \`sim.burst\`, ${int(Math.ceil(config.events / CALL_EVENTS_PER_CALL) * CALL_EVENTS_PER_CALL)} call events per measured burst, a warm-up`,
    `burst first, ${config.eventRounds} interleaved rounds, medians) into \`era-events\` with default settings in one Node-RED, with the`,
    'era-server\'s cluster section off and on. On, every event is claimed in Redis (Debian\'s `redis-server` on',
    'loopback, no persistence, in a process of its own) before it is emitted; one replica wins every claim, so the',
    'difference is what a claim costs the replica. CPU is the Node-RED process\'s; Redis\'s own CPU per claim (from',
    '/proc, 10 ms steps) is listed apart. A claim\'s latency runs from the client\'s call to its answer, so it includes',
    'the wait for the event-loop turn in which node-redis writes the pipelined claims; in a burst it is mostly the',
    'queue of frames and claims ahead of it (and claims in flight that long are what makes the garbage collector work',
    'harder). Below, each variant in turn under steady traffic it keeps up with: its CPU per event out (the process\'s',
    'whole CPU over the window, pings and timers included) and the claim\'s latency there.',
    '',
    table(['client', 'events', 'CPU µs/event', '× off', 'events/s', '× off', 'claims/event', 'claim p50 ms (burst)', 'claim p99 ms (burst)', 'Redis CPU µs/claim'], rows),
    '',
    table(
      ['steady traffic', 'CPU µs/event, cluster off', 'CPU µs/event, cluster on', '× off', 'claims', 'claim p50 ms', 'claim p99 ms'],
      [
        [
          `a short call every ${STEADY_INTERVAL_MS} ms for ${STEADY_MS / 1000} s (${int(steady.callEventsPerSecond)} call events/s)`,
          single ? fixed(single.steadyCpuUsPerEvent) : '–',
          clustered ? fixed(clustered.steadyCpuUsPerEvent) : '–',
          single && clustered ? ratio(clustered.steadyCpuUsPerEvent / single.steadyCpuUsPerEvent) : '–',
          int(steady.claims),
          fixed(steady.p50Ms, 2),
          fixed(steady.p99Ms, 2),
        ],
      ],
    ),
    '',
    'CPU µs per event in each round:',
    '',
    table(['client', 'rounds'], runs.map((r) => [r.label, r.cpuUsPerEventRuns.map((v) => fixed(v)).join(', ')])),
  ].join('\n');
}
