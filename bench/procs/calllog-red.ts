/**
 * era-call-log in Node-RED, into a sink: CPU per finished call on bursts (beside era-events on the
 * same bursts), and memory while records wait for their recordings' keys and once they are out.
 */
import { eraCallLogFlow, recordMessageProblem } from '../flows/calllog';
import { ERA_CREDENTIALS, eraEventsFlow, eventMessageProblem, SINK } from '../flows/events';
import { Counter } from '../lib/counter';
import { Meter } from '../lib/meter';
import { deploy, getNode, heapUsed, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

export type CallLogVariant = 'call-log' | 'events';

export interface CallLogMemorySample {
  heapUsed: number;
  rss: number;
  /** Records out of era-call-log so far. */
  out: number;
  /** Of the records out so far, how many are still reachable after GC. */
  recordsHeld: number;
  /** Calls in the config node's call table, and how many of them ended. */
  tracked: number;
  ended: number;
}

interface Client {
  stats: { received: number };
  calls: { size: number; list(): Array<{ state: string }> };
}

const meter = new Meter();
const out = new Counter();
let checked = false;
let problem: string | undefined;
let receivedAtArm = 0;
/** The records out of era-call-log, weakly: how many are still reachable says what holds them. */
let sent: Array<WeakRef<object>> = [];

const client = () => getNode('srv').client as Client;

serve({
  async setup(args: { url: string; variant: CallLogVariant; waitRecording: number }) {
    await startRed();
    const callLog = args.variant === 'call-log';
    await deploy(callLog ? eraCallLogFlow(args.url, args.waitRecording) : eraEventsFlow(args.url, true), ERA_CREDENTIALS);
    onSink(SINK, (msg) => {
      if (!checked) {
        checked = true;
        problem = callLog ? recordMessageProblem(msg) : eventMessageProblem(msg);
      }
      if (callLog) sent.push(new WeakRef(msg.payload as object));
      out.add();
      meter.hit();
    });
  },
  arm(args: { count: number; profile?: string }) {
    checked = false;
    receivedAtArm = client().stats.received;
    return meter.arm(args.count, args.profile);
  },
  /** The run's figures, and the pushes the client received meanwhile. */
  async wait(args: { timeoutMs: number }) {
    const result = await meter.wait(args.timeoutMs);
    if (problem) throw new Error(`the flow emitted a wrong message: ${problem}`);
    return { ...result, frames: client().stats.received - receivedAtArm };
  },
  reach: (args: { total: number; timeoutMs: number }) => out.reach(args.total, args.timeoutMs),
  sample(): CallLogMemorySample {
    const heap = heapUsed();
    sent = sent.filter((ref) => ref.deref() !== undefined);
    const calls = client().calls;
    const ended = calls.list().filter((c) => c.state === 'ended').length;
    return { heapUsed: heap, rss: process.memoryUsage().rss, out: out.value, recordsHeld: sent.length, tracked: calls.size, ended };
  },
});
