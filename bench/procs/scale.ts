/** Memory of Node-RED running era-events (default settings) while the simulator feeds it calls. */
import { ERA_CREDENTIALS, eraEventsFlow, SINK } from '../flows/events';
import { Counter } from '../lib/counter';
import { deploy, getNode, heapUsed, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

const events = new Counter();

export interface MemorySample {
  heapUsed: number;
  rss: number;
  /** Calls in the config node's call table. */
  tracked: number;
  /** Events out of era-events so far. */
  events: number;
}

serve({
  async setup(args: { url: string }) {
    await startRed();
    await deploy(eraEventsFlow(args.url, true), ERA_CREDENTIALS);
    onSink(SINK, () => events.add());
  },
  /** Resolves once era-events has emitted `total` events since setup. */
  reach: (args: { total: number; timeoutMs: number }) => events.reach(args.total, args.timeoutMs),
  sample(): MemorySample {
    const heap = heapUsed();
    const client = getNode('srv').client as { calls: { size: number } };
    return { heapUsed: heap, rss: process.memoryUsage().rss, tracked: client.calls.size, events: events.value };
  },
});
