/**
 * A flow caught in the middle of everything, for the close tests: events flowing, 100 actions
 * in flight against a platform that never answers them, waits pending, era-calls polling,
 * era-call keeping the call table fed.
 */
import type { Simulator } from '../../src/simulator';
import { eventually, helper, Inbox, type FlowNode } from '../support/red';

export const IN_FLIGHT = 100;
export const WAITS = 50;

export function busyFlow(server: FlowNode): FlowNode[] {
  return [
    // Ids unlike any property value: Node-RED takes nodes without x/y for config nodes, and a
    // config node whose property equals a config node's id waits for it (mode 'poll', id 'poll').
    { id: 'tab', type: 'tab' },
    { ...server, z: 'tab' },
    { id: 'n-events', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.*,ccsevents.*', wires: [['events']] },
    { id: 'n-hangup', z: 'tab', type: 'era-hangup', server: 'srv', wires: [['out']] },
    { id: 'n-wait', z: 'tab', type: 'era-wait', server: 'srv', until: 'talking', untilType: 'str', timeout: '60', timeoutType: 'num', wires: [['out'], ['out']] },
    { id: 'n-poll', z: 'tab', type: 'era-calls', server: 'srv', mode: 'poll', interval: 0.1, wires: [['out']] },
    { id: 'n-call', z: 'tab', type: 'era-call', server: 'srv', wires: [['out']] },
    { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['out']] },
    { id: 'events', z: 'tab', type: 'helper' },
    { id: 'out', z: 'tab', type: 'helper' },
  ];
}

export interface Busy {
  /** Stops the stream of calls. */
  stop(): void;
  events(): number;
}

/** Starts calls flowing, then puts actions in flight and waits pending; resolves once they are. */
export async function startBusy(sim: Simulator): Promise<Busy> {
  const events = new Inbox('events');
  let n = 0;
  const live: string[] = [];
  const stream = setInterval(() => {
    const call = sim.startCall({ from: `+7999${1_000_000 + n++}`, to: '101', answer: n % 2 === 0 });
    live.push(call.id);
    if (live.length > 20) sim.hangupCall(live.shift()!);
  }, 10);
  await eventually(() => sim.subscriptions().length > 0 && events.messages.length > 20, 8000, 'events flowing');

  sim.setFaults({ restHang: { count: 1_000_000 } });
  for (let i = 0; i < IN_FLIGHT; i++) helper.getNode('n-hangup').receive({ connectionId: live[i % live.length] });
  for (let i = 0; i < WAITS; i++) helper.getNode('n-wait').receive({ connectionId: `never-seen-${i}.1` });
  helper.getNode('n-call').receive({ connectionId: 'never-seen.1' });
  const hanging = () => sim.requests().filter((r) => r.kind === 'rest' && r.status === undefined).length;
  await eventually(() => hanging() >= 10, 5000, 'requests hanging at the platform');
  return {
    stop: () => clearInterval(stream),
    events: () => events.messages.length,
  };
}
