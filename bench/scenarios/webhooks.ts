/**
 * Webhook path: deliveries POSTed at a fixed rate (1,000 a second for 10 s by default) to
 * era-webhook and to the hand-built core flow, each in its own Node-RED process, from a load
 * process of their own; rounds interleave the variants. Every delivery must be answered 200
 * and emitted once.
 */
import { config } from '../config';
import { fixed, int, ratio, table, verdict } from '../lib/format';
import { Child } from '../lib/rpc';
import { median } from '../lib/stats';

/** Connections the load keeps open to Node-RED, as a platform sending in parallel would. */
const CONNECTIONS = 8;
/** A run ends when no message came for this long after the last delivery was answered. */
const GRACE_MS = 1000;

export interface WebhookRun {
  key: string;
  label: string;
  deliveries: number;
  /** Medians over the rounds, and the worst round's counts. */
  cpuUsPerDelivery: number;
  p50Ms: number;
  p99Ms: number;
  /** The worst round: fewest answered 200, fewest emitted, fewest unique. */
  answered200: number;
  emitted: number;
  unique: number;
  withCall: number;
  /** Other statuses and transport errors over all rounds. */
  problems: Record<string, number>;
  cpuUsPerDeliveryRuns: number[];
  sendingSeconds: number;
}

export interface WebhookResults {
  rate: number;
  seconds: number;
  runs: WebhookRun[];
}

interface Variant {
  key: 'era' | 'era-linked' | 'core';
  label: string;
}

const VARIANTS: readonly Variant[] = [
  { key: 'core', label: 'core flow: http in → function → http response' },
  { key: 'era', label: 'era-webhook, no server' },
  { key: 'era-linked', label: 'era-webhook + server (msg.call)' },
];

interface LoadRun {
  deliveries: number;
  sendingMs: number;
  statuses: Record<string, number>;
  unanswered: number;
  p50Ms: number;
  p99Ms: number;
}

interface RedRun {
  emitted: number;
  unique: number;
  withCall: number;
  cpuUs: number;
}

class Pair {
  readonly rounds: Array<{ load: LoadRun; red: RedRun }> = [];

  private constructor(
    readonly v: Variant,
    readonly red: Child,
    readonly load: Child,
    readonly url: string,
  ) {}

  static async start(v: Variant): Promise<Pair> {
    const red = new Child('webhooks-red.ts');
    const load = new Child('webhooks-load.ts');
    const { url } = await red.call<{ url: string }>('setup', { variant: v.key });
    return new Pair(v, red, load, url);
  }

  async run(rate: number, seconds: number, record: boolean, profile?: string): Promise<void> {
    await this.load.call('prepare', { count: rate * seconds });
    await this.red.call('arm', { profile });
    const load = await this.load.call<LoadRun>('run', { url: this.url, rate, seconds, connections: CONNECTIONS });
    const red = await this.red.call<RedRun>('finish', { expected: load.deliveries, graceMs: GRACE_MS });
    if (record) this.rounds.push({ load, red });
  }

  result(): WebhookRun {
    const problems: Record<string, number> = {};
    for (const { load } of this.rounds) {
      for (const [status, n] of Object.entries(load.statuses)) if (status !== '200') problems[status] = (problems[status] ?? 0) + n;
      if (load.unanswered > 0) problems.unanswered = (problems.unanswered ?? 0) + load.unanswered;
    }
    const cpu = this.rounds.map((r) => r.red.cpuUs / r.load.deliveries);
    return {
      key: this.v.key,
      label: this.v.label,
      deliveries: this.rounds[0]?.load.deliveries ?? 0,
      cpuUsPerDelivery: median(cpu),
      p50Ms: median(this.rounds.map((r) => r.load.p50Ms)),
      p99Ms: median(this.rounds.map((r) => r.load.p99Ms)),
      answered200: Math.min(...this.rounds.map((r) => r.load.statuses['200'] ?? 0)),
      emitted: Math.min(...this.rounds.map((r) => r.red.emitted)),
      unique: Math.min(...this.rounds.map((r) => r.red.unique)),
      withCall: Math.min(...this.rounds.map((r) => r.red.withCall)),
      problems,
      cpuUsPerDeliveryRuns: cpu,
      sendingSeconds: median(this.rounds.map((r) => r.load.sendingMs / 1000)),
    };
  }

  async stop(): Promise<void> {
    await Promise.all([this.red.stop(), this.load.stop()]);
  }
}

export async function webhookPath(): Promise<WebhookResults> {
  const { webhookRate: rate, webhookSeconds: seconds, webhookRounds: rounds } = config;
  const pairs: Pair[] = [];
  try {
    for (const v of VARIANTS) {
      process.stderr.write(`webhook path: starting ${v.label}, warm-up ...\n`);
      const pair = await Pair.start(v);
      pairs.push(pair);
      await pair.run(rate, 1, false);
    }
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`webhook path: round ${round} of ${rounds} ...\n`);
      for (const pair of pairs) await pair.run(rate, seconds, true, round === 1 ? `webhooks-${pair.v.key}` : undefined);
    }
    return { rate, seconds, runs: pairs.map((p) => p.result()) };
  } finally {
    for (const pair of pairs) await pair.stop();
  }
}

export function webhookSection({ rate, seconds, runs }: WebhookResults): string {
  const core = runs.find((r) => r.key === 'core');
  const problems = (r: WebhookRun) => Object.entries(r.problems).map(([k, n]) => `${k} ${int(n)}`).join(', ') || 'none';
  const out = [
    '## Webhook path',
    '',
    `Load: ${int(rate)} deliveries a second for ${seconds} s (${int(rate * seconds)} per run), open loop (sent on schedule whatever the`,
    `answers), over ${CONNECTIONS} keep-alive connections, from a process of its own. Each delivery is one call event as the`,
    'simulator\'s webhooks send it (`{"class","type","data","eventts"}`, made from a simulator burst before the run, every',
    'event id new). Answer time: from sending to the answer\'s head. CPU: the Node-RED process, from the first delivery to',
    'the last message at the sink, per delivery. Each variant gets a 1 s warm-up, then the rounds run each variant in turn;',
    `medians over ${runs[0]?.cpuUsPerDeliveryRuns.length ?? 0} rounds, counts from the worst round. The era-webhook variants reconcile nothing (0) and`,
    'register nothing; with a server they attach `msg.call` from the server\'s call table.',
    '',
    table(
      ['variant', 'deliveries/run', 'answered 200', 'emitted', 'distinct event ids', 'with msg.call', 'p50 ms', 'p99 ms', 'CPU µs/delivery', '× core', 'sending took s', 'other answers'],
      runs.map((r) => [
        r.label,
        int(r.deliveries),
        int(r.answered200),
        int(r.emitted),
        int(r.unique),
        int(r.withCall),
        fixed(r.p50Ms, 2),
        fixed(r.p99Ms, 2),
        fixed(r.cpuUsPerDelivery),
        core ? ratio(r.cpuUsPerDelivery / core.cpuUsPerDelivery) : '–',
        fixed(r.sendingSeconds, 2),
        problems(r),
      ]),
    ),
    '',
    '| target | variant | measured | verdict |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of runs.filter((x) => x.key !== 'core')) {
    const met = r.answered200 === r.deliveries && r.emitted === r.deliveries && r.unique === r.deliveries;
    out.push(`| ${int(rate)} deliveries/s for ${seconds} s: all answered 200 and emitted once | ${r.label} | ${int(r.answered200)} answered 200, ${int(r.emitted)} emitted, ${int(r.unique)} distinct, of ${int(r.deliveries)} | ${verdict(met)} |`);
  }
  out.push('', 'CPU µs per delivery in each round:', '', table(['variant', 'rounds'], runs.map((r) => [r.label, r.cpuUsPerDeliveryRuns.map((v) => fixed(v)).join(', ')])));
  return out.join('\n');
}
