import path from 'node:path';

/** Sizes of the runs; each can be changed with an environment variable (BENCH_EVENTS=100000 npm run bench). */
function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

function list(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  return raw ? raw.split(',').map((s) => Number(s.trim())) : fallback;
}

export const config = {
  /** Event path: call events per measured run (rounded up to whole calls of 6 call events). */
  events: int('BENCH_EVENTS', 40_000),
  /** Events of the warm-up run every variant gets before the measured ones. */
  warmupEvents: int('BENCH_WARMUP_EVENTS', 6_000),
  /**
   * Measured rounds: each round runs every variant once, so that other load on the machine
   * falls on all of them alike; medians are reported.
   */
  eventRounds: int('BENCH_EVENT_ROUNDS', 5),
  /** Command path: requests per measured run, and how many are in flight at once. */
  requests: int('BENCH_REQUESTS', 10_000),
  concurrency: int('BENCH_CONCURRENCY', 16),
  warmupRequests: int('BENCH_WARMUP_REQUESTS', 1_000),
  commandRounds: int('BENCH_COMMAND_ROUNDS', 3),
  /** Command path: messages fed at once in the burst run. */
  burst: int('BENCH_BURST', 20_000),
  /** Scale: concurrent tracked calls, then events over many short calls. */
  scaleCalls: int('BENCH_SCALE_CALLS', 10_000),
  scaleEvents: int('BENCH_SCALE_EVENTS', 1_000_000),
  /** era-wait: messages held at once, then released. */
  waits: int('BENCH_WAITS', 20_000),
  /** era-stats: calls going on, calls finished in its window, snapshots measured at each stage. */
  statsLive: int('BENCH_STATS_LIVE', 10_000),
  statsFinished: int('BENCH_STATS_FINISHED', 100_000),
  statsSnapshots: int('BENCH_STATS_SNAPSHOTS', 200),
  /** Recovery: how long the simulator stays down (ms), and tries of each. */
  recoveryDownMs: list('BENCH_RECOVERY_DOWN_MS', [500, 5_000, 15_000]),
  recoveryTrials: int('BENCH_RECOVERY_TRIALS', 3),
  /**
   * BENCH_CANDIDATE=<dir>: another build of the package (a directory with its package.json and
   * dist/, e.g. a patched copy or another checkout) measured side by side with this one: its
   * era-events, era-hold and recovery runs are added, interleaved with the others.
   */
  candidate: process.env.BENCH_CANDIDATE ? path.resolve(process.env.BENCH_CANDIDATE) : undefined,
  /**
   * BENCH_SIMULATOR=lenient: the simulator serves without the connection setup, so that a
   * candidate built before the client spoke it can be measured beside this checkout.
   */
  strictSimulator: process.env.BENCH_SIMULATOR !== 'lenient',
  /** Webhook path: deliveries a second, seconds per run, measured rounds. */
  webhookRate: int('BENCH_WEBHOOK_RATE', 1_000),
  webhookSeconds: int('BENCH_WEBHOOK_SECONDS', 10),
  webhookRounds: int('BENCH_WEBHOOK_ROUNDS', 3),
  /** BENCH_PROFILE=1: every client process writes a CPU profile to bench/out/profiles/. */
  profile: process.env.BENCH_PROFILE === '1',
};

/** Set by the orchestrator in a process that measures the BENCH_CANDIDATE build: the package directory to link. */
export const PACKAGE_ENV = 'BENCH_PACKAGE_UNDER_TEST';

/** The environment of a client process for `packageDir` (none: this checkout). */
export function packageEnv(packageDir: string | undefined): Record<string, string> {
  return packageDir ? { [PACKAGE_ENV]: packageDir } : {};
}

/** A variant's key in the results: `<key>@candidate` when measured on the candidate build. */
export function resultKey(key: string, packageDir: string | undefined): string {
  return packageDir ? `${key}@candidate` : key;
}
