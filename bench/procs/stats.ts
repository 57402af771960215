/** Node-RED with one era-stats node: its heap as calls go on and end, and the CPU of its snapshots. */
import type { CallStatsSnapshot, EraClient } from '../../src/era';
import { ERA_CREDENTIALS, SINK } from '../flows/events';
import { eraStatsFlow, STATS } from '../flows/stats';
import { Counter } from '../lib/counter';
import { cpuSince } from '../lib/meter';
import { deploy, getNode, heapUsed, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

const out = new Counter();
let last: CallStatsSnapshot | undefined;

function client(): EraClient {
  return (getNode('srv') as unknown as { client: EraClient }).client;
}

/** The figures as the node last sent them, asked for afresh. */
async function ask(): Promise<CallStatsSnapshot> {
  const target = out.value + 1;
  (getNode(STATS) as { receive(msg: Record<string, unknown>): void }).receive({});
  await out.reach(target, 10_000);
  return last!;
}

serve({
  async setup(args: { url: string; maxCalls: number }) {
    await startRed();
    await deploy(eraStatsFlow(args.url, args.maxCalls), ERA_CREDENTIALS);
    onSink(SINK, (msg) => {
      last = msg.payload as CallStatsSnapshot;
      out.add();
    });
  },
  /** Resolves once the figures show `live` calls going on and `finished` answered in the window. */
  async reach(args: { live: number; finished: number; timeoutMs: number }) {
    const deadline = Date.now() + args.timeoutMs;
    for (;;) {
      const f = await ask();
      if (f.live?.total === args.live && f.window.answered >= args.finished) return { live: f.live.total, answered: f.window.answered, operators: Object.keys(f.operators).length };
      if (Date.now() > deadline) throw new Error(`figures after ${args.timeoutMs} ms: ${JSON.stringify({ live: f.live, window: f.window })}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  },
  /** `count` snapshots, one after the other, each asked by an input message and received by the sink. */
  async snapshots(args: { count: number }) {
    await ask();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < args.count; i++) await ask();
    return { cpuUs: cpuSince(cpu0), wallMs: performance.now() - t0 };
  },
  /** The call table's grace for ended calls is over: touching it lets them go. */
  sweep() {
    client().calls.list();
  },
  sample() {
    return { heapUsed: heapUsed(), rss: process.memoryUsage().rss };
  },
});
