/** The orchestrator's handle on a simulator process (bench/procs/simulator.ts). */
import type { BurstResult, SubscriptionInfo } from '../../src/simulator';
import { Child } from './rpc';

export interface ConnectionCounts {
  /** TCP connections accepted since the last reset. */
  accepted: number;
  open: number;
  /** Most connections open at once since the last reset. */
  maxOpen: number;
}

export class SimProcess {
  private constructor(
    private readonly child: Child,
    readonly url: string,
  ) {}

  static async start(): Promise<SimProcess> {
    const child = new Child('simulator.ts');
    const { url } = await child.call<{ url: string }>('start');
    return new SimProcess(child, url);
  }

  /** Runs a burst; `cpuUs` is the simulator's own CPU over it. */
  burst(calls: number): Promise<BurstResult & { cpuUs: number }> {
    return this.child.call('burst', { calls, answer: true });
  }

  startCalls(count: number, answer: boolean): Promise<string[]> {
    return this.child.call('startCalls', { count, answer });
  }

  hangup(ids: string[]): Promise<void> {
    return this.child.call('hangup', { ids });
  }

  subscriptions(): Promise<SubscriptionInfo[]> {
    return this.child.call('subscriptions');
  }

  /** Resolves once some subscription has, for each of `prefixes`, a pattern that starts with it. */
  async subscribed(prefixes: string[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const subs = await this.subscriptions();
      if (subs.some((s) => prefixes.every((p) => s.events.some((e) => e.startsWith(p))))) return;
      if (Date.now() > deadline) throw new Error(`no subscription to ${prefixes.join(', ')}… within ${timeoutMs} ms: ${JSON.stringify(subs)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  connections(): Promise<ConnectionCounts> {
    return this.child.call('connections');
  }

  resetConnections(): Promise<void> {
    return this.child.call('resetConnections');
  }

  stream(intervalMs: number): Promise<void> {
    return this.child.call('stream', { intervalMs });
  }

  restart(downMs: number): Promise<{ downAt: number; upAt: number }> {
    return this.child.call('restart', { downMs });
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
