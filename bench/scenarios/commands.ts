/**
 * Command path: the same hold/resume requests through era-hold, the core http request node
 * (default and keep-alive) and a bare undici Pool, `concurrency` in flight. Every variant has
 * its own simulator and client processes, all started and warmed up first; then
 * `commandRounds` rounds run each variant in turn (medians reported); then a burst of `burst`
 * messages at once into era-hold and into the core node.
 */
import { config, packageEnv, resultKey } from '../config';
import type { LoadResult } from '../lib/load';
import { Child } from '../lib/rpc';
import { SimProcess, type ConnectionCounts } from '../lib/sim';
import { median } from '../lib/stats';

/** Talking calls the requests hold and resume in turn. */
const CALLS = 64;
const RUN_TIMEOUT_MS = 300_000;
const BURST_TIMEOUT_MS = 120_000;

export interface CommandRun extends LoadResult {
  key: string;
  label: string;
  concurrency: number;
  connections: ConnectionCounts;
}

export interface CommandResults {
  /** One per variant: medians over the rounds (connections: the most of any round). */
  runs: CommandRun[];
  bursts: CommandRun[];
}

interface Variant {
  key: string;
  label: string;
  script: string;
  /** Also gets the burst of `config.burst` messages. */
  burst: boolean;
  /** Another build of the package (BENCH_CANDIDATE) instead of this checkout's. */
  packageDir?: string;
}

const VARIANTS: readonly Variant[] = [
  { key: 'bare', label: 'bare undici Pool (16 connections)', script: 'commands-bare.ts', burst: false },
  { key: 'core-http', label: 'core http request node (defaults)', script: 'commands-red.ts', burst: true },
  { key: 'core-http-keepalive', label: 'core http request node, keep-alive on', script: 'commands-red.ts', burst: false },
  { key: 'era-hold', label: 'era-hold', script: 'commands-red.ts', burst: true },
];

/** era-hold again on the BENCH_CANDIDATE build. */
function candidates(dir: string | undefined): Variant[] {
  if (dir === undefined) return [];
  return [{ key: 'era-hold', label: 'era-hold — candidate', script: 'commands-red.ts', burst: true, packageDir: dir }];
}

interface Spec {
  requests: number;
  concurrency: number;
  timeoutMs: number;
  profile?: string;
}

class Pair {
  readonly rounds: CommandRun[] = [];

  private constructor(
    readonly v: Variant,
    readonly sim: SimProcess,
    readonly client: Child,
    readonly calls: string[],
  ) {}

  static async start(v: Variant): Promise<Pair> {
    const sim = await SimProcess.start();
    const client = new Child(v.script, { env: packageEnv(v.packageDir) });
    const calls = await sim.startCalls(CALLS, true);
    await client.call('setup', { url: sim.url, variant: v.key });
    return new Pair(v, sim, client, calls);
  }

  async run(spec: Spec): Promise<CommandRun> {
    await this.sim.resetConnections();
    const result = await this.client.call<LoadResult>('run', { ...spec, calls: this.calls });
    return { key: resultKey(this.v.key, this.v.packageDir), label: this.v.label, ...result, concurrency: spec.concurrency, connections: await this.sim.connections() };
  }

  /** The rounds summed up: medians of rates, CPU and latencies; the worst of errors and connections. */
  summary(): CommandRun {
    const r = this.rounds;
    const pick = (f: (x: CommandRun) => number) => median(r.map(f));
    const errors: Record<string, number> = {};
    for (const x of r) for (const [code, n] of Object.entries(x.errors)) errors[code] = Math.max(errors[code] ?? 0, n);
    const wallMs = pick((x) => x.wallMs);
    return {
      ...r[0]!,
      ok: Math.min(...r.map((x) => x.ok)),
      errors,
      unanswered: Math.max(...r.map((x) => x.unanswered)),
      cpuUs: pick((x) => x.cpuUs),
      wallMs,
      p50Ms: pick((x) => x.p50Ms),
      p99Ms: pick((x) => x.p99Ms),
      connections: {
        accepted: Math.max(...r.map((x) => x.connections.accepted)),
        open: r[r.length - 1]!.connections.open,
        maxOpen: Math.max(...r.map((x) => x.connections.maxOpen)),
      },
    };
  }

  async stop(): Promise<void> {
    await this.client.stop();
    await this.sim.stop();
  }
}

export async function commandPath(): Promise<CommandResults> {
  const pairs: Pair[] = [];
  const run = (requests: number, profile?: string): Spec => ({ requests, concurrency: config.concurrency, timeoutMs: RUN_TIMEOUT_MS, profile });
  try {
    for (const v of [...VARIANTS, ...candidates(config.candidate)]) {
      process.stderr.write(`command path: starting ${v.label}, warm-up ...\n`);
      const pair = await Pair.start(v);
      pairs.push(pair);
      await pair.run(run(config.warmupRequests));
    }
    for (let round = 1; round <= config.commandRounds; round++) {
      process.stderr.write(`command path: round ${round} of ${config.commandRounds} ...\n`);
      for (const pair of pairs) pair.rounds.push(await pair.run(run(config.requests, round === 1 ? `commands-${resultKey(pair.v.key, pair.v.packageDir).replace('@', '-')}` : undefined)));
    }
    const bursts: CommandRun[] = [];
    // The core node's burst last: it leaves thousands of sockets behind.
    for (const pair of [...pairs].sort((a, b) => Number(a.v.key === 'core-http') - Number(b.v.key === 'core-http')).filter((p) => p.v.burst)) {
      process.stderr.write(`command path: burst of ${config.burst} into ${pair.v.label} ...\n`);
      bursts.push(await pair.run({ requests: config.burst, concurrency: config.burst, timeoutMs: BURST_TIMEOUT_MS }));
    }
    return { runs: pairs.map((p) => p.summary()), bursts };
  } finally {
    for (const pair of pairs) await pair.stop();
  }
}
