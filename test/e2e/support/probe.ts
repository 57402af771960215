/** The test flow (flow.ts) as seen from outside: its message log, its action endpoints, its webhook. */
import type { ActionName } from './flow';
import type { NodeRed } from './node-red';

/** One message that reached a collector (what era-events or era-webhook emitted). */
export interface LogEntry {
  tag: string;
  topic?: string;
  payload?: Record<string, unknown>;
  connectionId?: string;
  callId?: string;
  eventId?: string;
  call?: Record<string, unknown>;
  replayed?: boolean;
}

/** What an action node sent on (or what the Catch node got), as `POST /e2e/act/<name>` answers it. */
export interface Reply {
  output: string;
  statusCode?: number;
  connectionId?: string;
  call?: Record<string, unknown>;
  error?: { message?: string; code?: string };
  payload?: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function readLog(red: NodeRed): Promise<{ rev: string; log: LogEntry[] }> {
  const res = await red.node('/e2e/log');
  if (res.status !== 200) throw new Error(`GET /e2e/log: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { rev: string; log: LogEntry[] };
}

/** Polls the probe until the flows deployed as `rev` answer (POST /flows can return before their routes exist). */
export async function flowsAnswer(red: NodeRed, rev: string, timeoutMs = 30_000): Promise<void> {
  const limit = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < limit) {
    try {
      const { rev: answered } = await readLog(red);
      if (answered === rev) return;
      last = `rev ${answered}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new Error(`the flows ${rev} did not answer within ${timeoutMs} ms (last: ${last})`);
}

/** The log's entries once `ready` accepts them; fails after `timeoutMs` showing what the log held. */
export async function logUntil(red: NodeRed, ready: (log: LogEntry[]) => boolean, what: string, timeoutMs = 15_000): Promise<LogEntry[]> {
  const limit = Date.now() + timeoutMs;
  let log: LogEntry[] = [];
  while (Date.now() < limit) {
    ({ log } = await readLog(red));
    if (ready(log)) return log;
    await sleep(100);
  }
  const last = log.slice(-10).map((e) => `${e.tag} ${e.topic} ${e.eventId}`);
  throw new Error(`${what}: not in the log within ${timeoutMs} ms; its last ${last.length} of ${log.length}: ${JSON.stringify(last)}`);
}

/** Sends `msg` (payload and other msg properties) to an action node and answers what came out. */
export async function act(red: NodeRed, name: ActionName, msg: Record<string, unknown>): Promise<Reply> {
  const res = await red.node(`/e2e/act/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(msg),
  });
  if (res.status !== 200) throw new Error(`POST /e2e/act/${name}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Reply;
}
