/** Node-RED running era-events (default settings); says when events reached its output. */
import { ERA_CREDENTIALS, eraEventsFlow, SINK } from '../flows/events';
import { deploy, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

/** Arrival times (Date.now()) of live events, oldest first; events made up after the outage (replayed) do not count. */
const live: number[] = [];

serve({
  async setup(args: { url: string }) {
    await startRed();
    await deploy(eraEventsFlow(args.url, true), ERA_CREDENTIALS);
    onSink(SINK, (msg) => {
      if (!msg.replayed) live.push(Date.now());
    });
  },
  /** The first live arrival at or after `t` (epoch ms), or null. */
  firstAfter: (args: { t: number }) => live.find((x) => x >= args.t) ?? null,
});
