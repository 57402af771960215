/**
 * The webhook load: deliveries POSTed at a fixed rate (open loop: a slow answer does not slow
 * the sending), each a call event of the simulator's as its webhooks carry it, answer time of
 * each from sending to the answer's head. Bodies are made before the window, from a burst of
 * the simulator in this process (stopped before any delivery).
 */
import { Pool } from 'undici';
import { deliveryBody } from '../../src/simulator/webhooks';
import { startSimulator } from '../../src/simulator';
import { serve } from '../lib/rpc';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `count` call events (callevents only, as a webhook for `callevents` gets them), each with a fresh id. */
async function bodies(count: number): Promise<string[]> {
  const sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
  const out: string[] = [];
  sim.on('event', (e) => {
    if (e.class === 'callevents' && out.length < count) out.push(deliveryBody(e));
  });
  try {
    while (out.length < count) await sim.burst({ calls: Math.ceil((count - out.length) / 6) });
  } finally {
    await sim.stop();
  }
  return out;
}

let payloads: string[] = [];

serve({
  /** Makes the next run's bodies (outside the measured window). */
  async prepare(args: { count: number }) {
    payloads = await bodies(args.count);
  },
  async run(args: { url: string; rate: number; seconds: number; connections: number }) {
    const n = args.rate * args.seconds;
    if (payloads.length < n) throw new Error(`prepare ${n} bodies first`);
    const url = new URL(args.url);
    const pool = new Pool(url.origin, { connections: args.connections, pipelining: 1 });
    const latency = new Float64Array(n).fill(-1);
    const statuses: Record<string, number> = {};
    let done = 0;
    let settle: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    const outcome = (i: number, started: number, status: string) => {
      latency[i] = performance.now() - started;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (++done === n) settle();
    };
    const send = (i: number) => {
      const started = performance.now();
      pool
        .request({ method: 'POST', path: url.pathname, headers: { 'content-type': 'application/json; charset=utf-8' }, body: payloads[i] })
        .then(
          (res) => {
            outcome(i, started, String(res.statusCode));
            return res.body.dump();
          },
          (err: unknown) => outcome(i, started, (err as { code?: string }).code ?? 'error'),
        );
    };
    const intervalMs = 1000 / args.rate;
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(n, Math.floor((performance.now() - t0) / intervalMs) + 1);
        while (sent < due) send(sent++);
        if (sent < n) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    const sendingMs = performance.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, 30_000)))]);
    clearTimeout(timer);
    await pool.close();
    const answered = latency.filter((v) => v >= 0).sort();
    return { deliveries: n, sendingMs, statuses, unanswered: n - done, p50Ms: percentile(answered, 50), p99Ms: percentile(answered, 99), maxMs: answered[answered.length - 1] ?? NaN };
  },
});
