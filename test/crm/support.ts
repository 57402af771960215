/**
 * Loads a CRM example flow into a real Node-RED runtime against the simulator, as a user would
 * run it (server node pointed at the simulator, credentials typed in), with debug nodes turned
 * into helper nodes so a test sees what reaches them. Calls are driven through the simulator and
 * the flow's era-call-log emits their records; each record is also copied to a helper node
 * (RECORDS), so a test can count them. A record the simulator cannot play (a value only a
 * broken or hostile platform would send) is handed to the nodes wired after era-call-log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ALL_NODES, eventually, helper, Inbox, type FlowNode } from '../support/red';
import { captureNodeApp } from '../support/http-nodes';
import type { SimCall } from '../support/sim';

export const SERVER_ID = 'era-example-server';
/** The helper node every era-call-log of the example is also wired to. */
export const RECORDS = 'crm-test-records';
const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

// The core nodes the CRM examples use (the same set test/examples.test.ts allows).
const CORE_NODES = [
  'common/20-inject',
  'common/21-debug',
  'common/25-catch',
  'common/25-status',
  'common/90-comment',
  'function/10-function',
  'function/10-switch',
  'function/15-change',
  'function/89-delay',
  'network/21-httpin',
  'network/21-httprequest',
].map((m) => require(`@node-red/nodes/core/${m}.js`));

export function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

export interface LoadOptions {
  simUrl: string;
  /** Nodes replaced by helper nodes (debug nodes, mostly). */
  helpers?: string[];
  /** Properties to change, per node id (a faster pace, say). */
  patch?: Record<string, Record<string, unknown>>;
  /** Credentials of nodes other than the server (an http request node's token). */
  credentials?: Record<string, Record<string, string>>;
}

/** The example as Node-RED is given it: tabs, nodes (era-call-log also wired to RECORDS), credentials. */
function prepared(file: string, opts: LoadOptions): { flow: FlowNode[]; credentials: Record<string, unknown>; callLogTargets: string[] } {
  const all = readExample(file);
  const callLogTargets = all.filter((n) => n.type === 'era-call-log').flatMap((n) => ((n.wires as string[][]) ?? []).flat());
  const nodes = all.map((n): FlowNode => {
    let node: FlowNode = { ...n };
    if (node.type === 'era-server') node.url = opts.simUrl;
    if (node.type === 'era-call-log') node.wires = [[...((node.wires as string[][] | undefined)?.[0] ?? []), RECORDS]];
    if (opts.helpers?.includes(node.id)) node = { id: node.id, type: 'helper', z: node.z, wires: node.wires ?? [] };
    return { ...node, ...opts.patch?.[node.id] };
  });
  const tabs = [...new Set(nodes.map((n) => n.z).filter((z): z is string => typeof z === 'string'))];
  return {
    flow: [...tabs.map((id) => ({ id, type: 'tab', label: id })), ...nodes, { id: RECORDS, type: 'helper', z: all.find((n) => n.type === 'era-call-log')?.z }],
    credentials: { [SERVER_ID]: { login: 'operator', password: 'operator' }, ...opts.credentials },
    callLogTargets,
  };
}

/** Loads the example; answers the ids of the nodes the era-call-log node(s) were wired to. */
export async function loadExample(file: string, opts: LoadOptions): Promise<string[]> {
  const { flow, credentials, callLogTargets } = prepared(file, opts);
  await helper.load([...ALL_NODES, ...CORE_NODES, captureNodeApp], flow, credentials);
  return callLogTargets;
}

/** Deploys the same example again, in full (every node stopped and started; context kept). */
export async function redeploy(file: string, opts: LoadOptions): Promise<void> {
  const { flow, credentials } = prepared(file, opts);
  try {
    await helper.setFlows(flow, 'full', credentials);
  } catch (err) {
    // The helper listens for "flows:started" only after the deploy resolved, and gives up after
    // 300 ms when it was quicker than that; the flows are started either way.
    if ((err as Error).message !== 'timeout waiting event') throw err;
  }
}

/** The record era-call-log emits for a finished call (nodes.md, "Call log node"). */
export interface CallRecord {
  connectionId: string;
  callId: string;
  direction: 'in' | 'out' | 'local';
  from: string;
  to: string;
  answeredBy?: string;
  outcome: 'answered' | 'missed' | 'unanswered' | 'failed';
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  ringSeconds: number;
  talkSeconds: number;
  holdSeconds: number;
  endReason: string;
  transfers: string[];
  recordingKey?: string;
}

/**
 * A record for a call the simulator played: its ids, numbers and direction, its recording key
 * when it has one; answered (by `to`, 35 s of talk) unless `over` says otherwise.
 */
export function recordOf(call: SimCall, over: Partial<CallRecord> = {}): CallRecord {
  const outcome = over.outcome ?? 'answered';
  const answered = outcome === 'answered';
  const startedAt = over.startedAt ?? Number(call.invitets);
  const ringSeconds = over.ringSeconds ?? 5;
  const talkSeconds = over.talkSeconds ?? (answered ? 35 : 0);
  const record: CallRecord = {
    connectionId: call.connectionid,
    callId: call.cid,
    direction: call.dir === 'out' || call.dir === 'local' ? call.dir : 'in',
    from: call.fromnum,
    to: call.tonum,
    outcome,
    startedAt,
    endedAt: startedAt + (ringSeconds + talkSeconds) * 1000,
    ringSeconds,
    talkSeconds,
    holdSeconds: 0,
    endReason: over.endReason ?? (answered ? 'bye' : 'cancel'),
    transfers: [],
    ...(answered ? { answeredBy: call.tonum, answeredAt: startedAt + ringSeconds * 1000 } : {}),
    ...(call.recordingKey ? { recordingKey: call.recordingKey } : {}),
  };
  return { ...record, ...over };
}

/** Hands a record the simulator cannot play to the nodes era-call-log is wired to, as era-call-log would send it. */
export function deliver(targets: string[], record: CallRecord, opts: { replayed?: boolean } = {}): void {
  for (const id of targets) {
    helper.getNode(id).receive({
      topic: record.outcome,
      payload: { ...record },
      call: {
        connectionId: record.connectionId,
        callId: record.callId,
        direction: record.direction,
        from: record.from,
        to: record.to,
        state: 'ended',
        legs: [],
        held: false,
        transfers: record.transfers,
        startedAt: record.startedAt,
        answeredAt: record.answeredAt,
        endedAt: record.endedAt,
        endReason: record.endReason,
        recordingKey: record.recordingKey,
      },
      connectionId: record.connectionId,
      callId: record.callId,
      ...(opts.replayed ? { replayed: true } : {}),
    });
  }
}

/** A value in a flow's context, read through one of its nodes. */
export function flowContext<T>(nodeId: string, key: string): T | undefined {
  return (helper.getNode(nodeId) as unknown as { context(): { flow: { get(k: string): unknown } } }).context().flow.get(key) as T | undefined;
}

/** Sets environment variables for a test; the returned function puts the old values back. */
export function setEnv(vars: Record<string, string>): () => void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Every log line Node-RED was given so far, as text (to look for secrets in). */
export function logText(): string {
  return helper
    .log()
    .args.map((a) => JSON.stringify(a))
    .join('\n');
}

/** The error messages a Catch → helper node received. */
export function errorTexts(inbox: Inbox): string[] {
  return inbox.messages.map((m) => String((m.error as { message?: unknown } | undefined)?.message ?? ''));
}

/** Waits until `inbox` has a message whose error message matches. */
export function errorMatching(inbox: Inbox, pattern: RegExp, ms = 5000): Promise<void> {
  return inbox.until((msgs) => msgs.some((m) => pattern.test(String((m.error as { message?: unknown } | undefined)?.message ?? ''))), ms, `an error matching ${pattern}`);
}

export { eventually, helper, Inbox };
