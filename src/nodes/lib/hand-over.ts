/**
 * What a node closing in a deploy leaves for its successor, the node of the same id in the
 * redeployed flows: the era-server's live calls (so that its new connection reports what became
 * of them, as after an outage), the era-webhook's registration. Node-RED closes nodes with
 * `removed` false both in a deploy and when the flows just stop (a shutdown, the test helper's
 * unload), and tells which it was only afterwards, with a `runtime-state` event: what a stop
 * that was no deploy left is dropped then, so that nothing leaks into flows started later.
 */
import type { RedApi, RuntimeEvent } from './red';

/** Long enough for any redeploy; what is left longer than this is forgotten. */
const KEPT_MS = 60_000;

const stores = new Set<HandOver<unknown>>();
const watched = new WeakSet<object>();

export class HandOver<T> {
  private readonly left = new Map<string, { value: T; at: number }>();

  constructor() {
    stores.add(this as HandOver<unknown>);
  }

  leave(nodeId: string, value: T): void {
    this.sweep(Date.now());
    this.left.set(nodeId, { value, at: Date.now() });
  }

  take(nodeId: string): T | undefined {
    this.sweep(Date.now());
    const entry = this.left.get(nodeId);
    this.left.delete(nodeId);
    return entry?.value;
  }

  clear(): void {
    this.left.clear();
  }

  private sweep(now: number): void {
    for (const [id, entry] of this.left) if (now - entry.at > KEPT_MS) this.left.delete(id);
  }
}

/** Drops every hand-over when the flows of this runtime stop for anything but a deploy (once per runtime). */
export function dropHandOversOnStop(RED: RedApi): void {
  if (watched.has(RED.events)) return;
  watched.add(RED.events);
  RED.events.on('runtime-event', (event: RuntimeEvent) => {
    if (event.id === 'runtime-state' && event.payload?.state === 'stop' && event.payload.deploy !== true) {
      for (const store of stores) store.clear();
    }
  });
}
