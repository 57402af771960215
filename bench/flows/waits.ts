/** era-wait holding messages for an hour each until their call is answered; both outputs end in the sink. */
import type { FlowNode } from '../lib/red';
import { eraServer, SINK } from './events';

export const WAIT = 'wait';

export function eraWaitFlow(simUrl: string, maxWaits: number): FlowNode[] {
  const tab = 'bench-tab';
  return [
    { id: tab, type: 'tab', label: 'bench' },
    eraServer(simUrl),
    {
      id: WAIT, type: 'era-wait', z: tab, server: 'srv',
      call: 'connectionId', callType: 'msg', until: 'callevents.dlg_start', untilType: 'str', timeout: '3600', timeoutType: 'num',
      maxWaits, wires: [[SINK], [SINK]],
    },
    { id: SINK, type: 'bench-sink', z: tab, wires: [] },
  ];
}
