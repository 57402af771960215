/** The webhook path in Node-RED: era-webhook (with or without a server) or the core http-in flow, into a sink. */
import { coreWebhookFlow, CORE_PATH, ERA_CREDENTIALS, ERA_PATH, eraWebhookFlow, SINK } from '../flows/webhooks';
import { cpuSince } from '../lib/meter';
import { startProfile, stopProfile } from '../lib/profile';
import { deploy, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

type WebhookVariant = 'era' | 'era-linked' | 'core';

let emitted = 0;
let ids = new Set<unknown>();
let withCall = 0;
let cpu0 = process.cpuUsage();
let profile: string | undefined;

serve({
  /** Deploys the variant's flow; resolves with the URL deliveries go to. */
  async setup(args: { variant: WebhookVariant }) {
    const base = await startRed({ httpNodes: true });
    if (args.variant === 'core') await deploy(coreWebhookFlow());
    else await deploy(eraWebhookFlow(args.variant === 'era-linked'), args.variant === 'era-linked' ? ERA_CREDENTIALS : {});
    onSink(SINK, (msg) => {
      emitted++;
      ids.add(msg.eventId);
      if (msg.call !== undefined) withCall++;
    });
    return { url: `${base}${args.variant === 'core' ? CORE_PATH : ERA_PATH}` };
  },
  /** Starts a measured window: counts and this process's CPU from now (profiled as `profile` with BENCH_PROFILE=1). */
  async arm(args: { profile?: string }) {
    profile = args.profile;
    if (profile !== undefined) await startProfile();
    emitted = 0;
    withCall = 0;
    ids = new Set();
    cpu0 = process.cpuUsage();
  },
  /** The window's figures, once `expected` messages arrived or `graceMs` passed without one more. */
  async finish(args: { expected: number; graceMs: number }) {
    let last = -1;
    while (emitted < args.expected && emitted !== last) {
      last = emitted;
      await new Promise((resolve) => setTimeout(resolve, args.graceMs));
    }
    const cpuUs = cpuSince(cpu0);
    if (profile !== undefined) await stopProfile(profile);
    return { emitted, unique: ids.size, withCall, cpuUs };
  },
});
