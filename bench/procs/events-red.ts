/** The event path in Node-RED: era-events (attachCall on or off), the hand-wired core flow, or the minimal node, into a sink. */
import { setTimeout as sleep } from 'node:timers/promises';
import { coreEventsFlow, eraEventsFlow, ERA_CREDENTIALS, eventMessageProblem, minimalNodeFlow, SINK, SUBSCRIBE_FRAME, WS_OUT } from '../flows/events';
import { Meter } from '../lib/meter';
import { deploy, getNode, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

type EventVariant = 'era-attach' | 'era-plain' | 'core' | 'floor';

const meter = new Meter();
/** The first message of each run is checked: every variant must emit the same kind of message. */
let checked = false;
let problem: string | undefined;
/** era-events variants: the pushes the client had received at arm() (from its stats). */
let era = false;
let receivedAtArm = 0;

function received(): number {
  return (getNode('srv').client as { stats: { received: number } }).stats.received;
}

/** The core flow's socket is up once the client config node holds an open `ws`. */
async function coreSocketOpen(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const socket = getNode('wsc').server as { readyState?: number } | undefined;
    if (socket?.readyState === 1) return;
    await sleep(50);
  }
  throw new Error('the core flow\'s websocket did not connect within 10 s');
}

serve({
  async setup(args: { url: string; variant: EventVariant }) {
    era = args.variant.startsWith('era-');
    await startRed();
    if (args.variant === 'core') {
      await deploy(coreEventsFlow(args.url));
      await coreSocketOpen();
      getNode(WS_OUT).receive({ payload: SUBSCRIBE_FRAME });
    } else if (args.variant === 'floor') {
      await deploy(minimalNodeFlow(args.url));
    } else {
      await deploy(eraEventsFlow(args.url, args.variant === 'era-attach'), ERA_CREDENTIALS);
    }
    onSink(SINK, (msg) => {
      if (!checked) {
        checked = true;
        problem = eventMessageProblem(msg);
      }
      meter.hit();
    });
  },
  arm(args: { events: number; profile?: string }) {
    checked = false;
    if (era) receivedAtArm = received();
    return meter.arm(args.events, args.profile);
  },
  /** The run's figures; `frames`: the pushes an era-events client received meanwhile. */
  async wait(args: { timeoutMs: number }) {
    const result = await meter.wait(args.timeoutMs);
    if (problem) throw new Error(`the flow emitted a wrong message: ${problem}`);
    return { ...result, frames: era ? received() - receivedAtArm : undefined };
  },
});
