import { events as runtimeEvents } from '@node-red/util';
import helper from 'node-red-node-test-helper';
import type { Simulator } from '../../src/simulator';

helper.init(require.resolve('node-red'));

/** Every node type of the package, as package.json lists them for Node-RED. */
export const NODE_TYPES = Object.keys((require('../../package.json') as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes);

/** Every node module of the package, as Node-RED loads them. */
export const ALL_NODES = NODE_TYPES.map((t) => require(`../../src/nodes/${t}`));

/** Core nodes the tests wire ours to: Catch for error paths, Status for status changes, Function for user code. */
const CORE_NODES = [
  ...['25-catch', '25-status'].map((f) => require(`@node-red/nodes/core/common/${f}.js`)),
  require('@node-red/nodes/core/function/10-function.js'),
  require('@node-red/nodes/core/network/05-tls.js'),
];

export { helper };

export function startRed(): Promise<void> {
  return new Promise((resolve) => helper.startServer(resolve));
}

export async function stopRed(): Promise<void> {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(resolve));
}

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** An `era-server` node for the simulator, with short timings so fault tests stay quick. */
export function serverNode(sim: Simulator, extra: Record<string, unknown> = {}): FlowNode {
  return {
    id: 'srv',
    type: 'era-server',
    name: 'sim',
    url: sim.url,
    domain: 'demo.local',
    authMode: 'user',
    verifyTls: true,
    ca: '',
    pingInterval: 1,
    requestTimeout: 2,
    ...extra,
  };
}

export const USER_CREDENTIALS = { srv: { login: 'operator', password: 'operator' } };
export const TOKEN_CREDENTIALS = { srv: { token: 'demo-token' } };

/** `modules`: more node modules to load beside the package's and the core ones (e.g. editorRoutes). */
export async function load(flow: FlowNode[], credentials: Record<string, unknown> = USER_CREDENTIALS, modules: unknown[] = []): Promise<void> {
  // Node-RED's credential store keeps the objects it is given and edits them on a later deploy:
  // each load gets copies, so the shared constants above stay as written.
  await helper.load([...ALL_NODES, ...CORE_NODES, ...modules], flow, structuredClone(credentials));
}

/** Collects what reaches a helper node so tests can wait for a count or a condition. */
export class Inbox {
  readonly messages: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];

  constructor(
    id: string,
    private readonly context: () => string = () => '',
  ) {
    helper.getNode(id).on('input', (msg: Record<string, unknown>) => {
      this.messages.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once `predicate` holds for the messages so far; rejects after `ms`. */
  async until(predicate: (msgs: Array<Record<string, unknown>>) => boolean, ms = 5000, what = 'messages'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const extra = this.context();
        throw new Error(`timed out waiting for ${what}; got ${this.messages.length}: ${summary(this.messages)}${extra ? ` (${extra})` : ''}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  count(n: number, ms?: number): Promise<void> {
    return this.until((m) => m.length >= n, ms, `${n} messages`);
  }
}

function summary(msgs: Array<Record<string, unknown>>): string {
  return msgs
    .slice(-5)
    .map((m) => String(m.topic ?? JSON.stringify(m.payload)).slice(0, 60))
    .join(', ');
}

/** Waits until `check` returns true, polling; for effects seen through the simulator. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface StatusEvent {
  id: string;
  status: { fill?: string; shape?: string; text?: string };
}

/**
 * Every node status the runtime publishes to the editor, including statuses set while a node
 * is being constructed (which Status nodes do not see).
 */
export class StatusLog {
  readonly events: StatusEvent[] = [];
  private readonly listener = (e: StatusEvent) => this.events.push(e);

  constructor() {
    runtimeEvents.on('node-status', this.listener);
  }

  of(id: string): StatusEvent['status'][] {
    return this.events.filter((e) => e.id === id).map((e) => e.status);
  }

  has(id: string, fill: string, shape: string): boolean {
    return this.of(id).some((s) => s.fill === fill && s.shape === shape);
  }

  stop(): void {
    runtimeEvents.off('node-status', this.listener);
  }
}
