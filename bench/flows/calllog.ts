/** era-call-log with default settings but `waitRecording` → sink: one message per finished call. */
import type { FlowNode } from '../lib/red';
import { eraServer, SINK } from './events';

export const CALL_LOG = 'call-log';

export function eraCallLogFlow(simUrl: string, waitRecording: number): FlowNode[] {
  const tab = 'bench-tab';
  return [
    { id: tab, type: 'tab', label: 'bench' },
    eraServer(simUrl),
    { id: CALL_LOG, type: 'era-call-log', z: tab, server: 'srv', direction: 'all', waitRecording, wires: [[SINK]] },
    { id: SINK, type: 'bench-sink', z: tab, wires: [] },
  ];
}

/** Why `msg` is not era-call-log's message for a finished call, or undefined when it is. */
export function recordMessageProblem(msg: Record<string, unknown>): string | undefined {
  const record = msg.payload as Record<string, unknown> | undefined;
  if (typeof record !== 'object' || record === null) return 'no record in payload';
  if (msg.topic !== record.outcome || msg.connectionId !== record.connectionId) return 'topic or connectionId not the record\'s';
  if ((msg.call as { state?: unknown } | undefined)?.state !== 'ended') return 'msg.call is not the ended call';
  return undefined;
}
