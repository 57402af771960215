/** era-stats (asked by input messages only: its interval is an hour) → sink, on a server whose call table holds every call of the run. */
import type { FlowNode } from '../lib/red';
import { eraServer, SINK } from './events';

export const STATS = 'stats';

export function eraStatsFlow(simUrl: string, maxCalls: number): FlowNode[] {
  const tab = 'bench-tab';
  return [
    { id: tab, type: 'tab', label: 'bench' },
    { ...eraServer(simUrl), maxCalls },
    { id: STATS, type: 'era-stats', z: tab, server: 'srv', interval: 3600, window: 60, serviceLevel: 20, wires: [[SINK]] },
    { id: SINK, type: 'bench-sink', z: tab, wires: [] },
  ];
}
