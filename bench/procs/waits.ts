/** Memory of Node-RED while era-wait holds many messages, and once they are all finished. */
import { ERA_CREDENTIALS, SINK } from '../flows/events';
import { eraWaitFlow, WAIT } from '../flows/waits';
import { Counter } from '../lib/counter';
import { deploy, getNode, heapUsed, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

const out = new Counter();
/** The messages fed, weakly: how many are still reachable says what era-wait holds. */
let fed: Array<WeakRef<object>> = [];

/** What a CRM flow typically carries along while it waits: the event and a record of its own. */
function message(connectionId: string, n: number): Record<string, unknown> {
  return {
    connectionId,
    payload: { eventid: `e-${n}`, connectionid: connectionId, fromnum: '+79990001122', tonum: '101', dir: 'in' },
    crm: { contact: `contact-${n}`, notes: 'x'.repeat(512) },
  };
}

serve({
  async setup(args: { url: string; maxWaits: number }) {
    await startRed();
    await deploy(eraWaitFlow(args.url, args.maxWaits), ERA_CREDENTIALS);
    onSink(SINK, () => out.add());
  },
  /** Hands era-wait `perCall` messages for each call, as upstream nodes would. */
  feed(args: { ids: string[]; perCall: number }) {
    const node = getNode(WAIT) as { receive(msg: Record<string, unknown>): void };
    let n = 0;
    for (const id of args.ids) {
      for (let i = 0; i < args.perCall; i++) {
        const msg = message(id, n++);
        fed.push(new WeakRef(msg));
        node.receive(msg);
      }
    }
  },
  /** Resolves once `total` messages have left era-wait (either output). */
  reach: (args: { total: number; timeoutMs: number }) => out.reach(args.total, args.timeoutMs),
  sample() {
    const heap = heapUsed();
    fed = fed.filter((ref) => ref.deref() !== undefined);
    return { heapUsed: heap, rss: process.memoryUsage().rss, out: out.value, messagesHeld: fed.length };
  },
});
