/**
 * The event path in Node-RED: era-events (attachCall on or off, or with the cluster section on),
 * the hand-wired core flow, or the minimal node, into a sink.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CONNECT_FRAMES, coreEventsFlow, eraEventsFlow, ERA_CREDENTIALS, eventMessageProblem, minimalNodeFlow, SINK, WS_OUT } from '../flows/events';
import { Meter } from '../lib/meter';
import { deploy, getNode, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

type EventVariant = 'era-attach' | 'era-plain' | 'era-cluster' | 'core' | 'floor';

const meter = new Meter();
/** The first message of each run is checked: every variant must emit the same kind of message. */
let checked = false;
let problem: string | undefined;
/** era-events variants: the pushes the client had received at arm() (from its stats). */
let era = false;
let receivedAtArm = 0;

/** Messages that reached the sink since the flow started (for steady traffic, which no meter counts). */
let sunk = 0;
/** era-cluster: how long each claim took (ms) since arm(), from the call to its answer. */
let claimMs: number[] = [];

interface Claims {
  claim(keys: readonly string[]): Promise<boolean>;
}

/**
 * Times every claim. Node-RED loads dist/ of the checkout through the link in its user
 * directory, so the class required here (at run time: `npm run bench` builds dist/ first) is
 * the one its era-server uses.
 */
function timeClaims(): void {
  const { RedisClaims } = require('../../dist/cluster/redis-claims') as { RedisClaims: { prototype: Claims } };
  const claim = RedisClaims.prototype.claim;
  RedisClaims.prototype.claim = function timed(this: Claims, keys: readonly string[]): Promise<boolean> {
    const t0 = performance.now();
    return claim.call(this, keys).then((won) => {
      claimMs.push(performance.now() - t0);
      return won;
    });
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

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
  async setup(args: { url: string; variant: EventVariant; redisUrl?: string }) {
    era = args.variant.startsWith('era-');
    await startRed();
    if (args.variant === 'core') {
      await deploy(coreEventsFlow(args.url));
      await coreSocketOpen();
      for (const frame of CONNECT_FRAMES) getNode(WS_OUT).receive({ payload: frame });
    } else if (args.variant === 'floor') {
      await deploy(minimalNodeFlow(args.url));
    } else {
      if (args.variant === 'era-cluster') timeClaims();
      await deploy(eraEventsFlow(args.url, args.variant !== 'era-plain', args.variant === 'era-cluster' ? args.redisUrl : undefined), ERA_CREDENTIALS);
    }
    onSink(SINK, (msg) => {
      if (!checked) {
        checked = true;
        problem = eventMessageProblem(msg);
      }
      sunk++;
      meter.hit();
    });
  },
  arm(args: { events: number; profile?: string }) {
    checked = false;
    claimMs = [];
    if (era) receivedAtArm = received();
    return meter.arm(args.events, args.profile);
  },
  /** The run's figures; `frames`: the pushes an era-events client received meanwhile. */
  async wait(args: { timeoutMs: number }) {
    const result = await meter.wait(args.timeoutMs);
    if (problem) throw new Error(`the flow emitted a wrong message: ${problem}`);
    return { ...result, frames: era ? received() - receivedAtArm : undefined };
  },
  /** Messages out so far and this process's CPU time (µs): two samples frame a steady run. */
  sample() {
    const cpu = process.cpuUsage();
    return { sunk, cpuUs: cpu.user + cpu.system };
  },
  /** era-cluster: the claims made since arm() (or the last reset) and their latency; `reset` starts afresh. */
  claims(args: { reset?: boolean } = {}) {
    const sorted = [...claimMs].sort((a, b) => a - b);
    if (args.reset) claimMs = [];
    return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  },
});
