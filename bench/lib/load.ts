/**
 * A closed-loop load: `requests` requests with `concurrency` in flight (a new one starts as
 * one ends), latency of each from start to end, this process's CPU over the run.
 */
import { cpuSince } from './meter';
import { startProfile, stopProfile } from './profile';

export interface LoadResult {
  requests: number;
  ok: number;
  /** Failures by code (ERA_*, HTTP status, EMFILE, ...). */
  errors: Record<string, number>;
  /** Requests with no outcome when the run's deadline passed. */
  unanswered: number;
  cpuUs: number;
  wallMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Starts request `i`; its outcome comes back through the `finish` given to runLoad's caller. */
export type Launch = (i: number) => void;
/** Ends request `i`: no error is success. */
export type Finish = (i: number, error?: string) => void;

export interface LoadSpec {
  requests: number;
  concurrency: number;
  timeoutMs: number;
  profile?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `wire(finish)` returns the launcher: the caller routes each outcome to `finish`. */
export async function runLoad(spec: LoadSpec, wire: (finish: Finish) => Launch): Promise<LoadResult> {
  const n = spec.requests;
  const startedAt = new Float64Array(n);
  const latency = new Float64Array(n).fill(-1);
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let ok = 0;
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const launchNext = () => {
    const i = next++;
    startedAt[i] = performance.now();
    launch(i);
  };
  const launch = wire((i, error) => {
    if (latency[i]! >= 0) return; // an outcome was already counted for it
    latency[i] = performance.now() - startedAt[i]!;
    if (error === undefined) ok++;
    else errors[error] = (errors[error] ?? 0) + 1;
    done++;
    if (next < n) launchNext();
    if (done === n) settle();
  });
  if (spec.profile !== undefined) await startProfile();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < Math.min(spec.concurrency, n); k++) launchNext();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, spec.timeoutMs)))]);
  clearTimeout(timer);
  const cpuUs = cpuSince(cpu0);
  const wallMs = performance.now() - t0;
  if (spec.profile !== undefined) await stopProfile(spec.profile);
  const answered = latency.filter((v) => v >= 0).sort();
  return {
    requests: n,
    ok,
    errors,
    unanswered: n - done,
    cpuUs,
    wallMs,
    p50Ms: percentile(answered, 50),
    p99Ms: percentile(answered, 99),
  };
}
