/**
 * The event path's two flows. Both end in the same `bench-sink` and emit one message per
 * call event with topic "<class>.<type>", payload = the event's fields, connectionId, callId
 * and eventId.
 */
import type { FlowNode } from '../lib/red';

export const TOKEN = 'demo-token';
const TAB = 'bench-tab';
export const SINK = 'sink';
/** The `websocket out` node the core flow's subscribe frame is sent through. */
export const WS_OUT = 'ws-out';

/** The subscribe frame the core flow sends (the same subscription era-events asks for). */
export const SUBSCRIBE_FRAME = JSON.stringify(['subscribe', { qid: 1, id: 'bench', events: ['callevents.*'], expires: 3600 }]);

/**
 * What every hand-built client sends on the token socket, in order: the connection setup the
 * platform needs before anything else (era-platform.md §2.3), then the subscription. The
 * platform handles a socket's frames in order, so the two go out together.
 */
export const CONNECT_FRAMES: readonly string[] = [JSON.stringify(['setup', { qid: 0, capabilities: [{ key: 'subscr' }] }]), SUBSCRIBE_FRAME];

/** `redisUrl`: the cluster section on, claiming every event in that Redis. */
export function eraServer(simUrl: string, redisUrl?: string): FlowNode {
  const server: FlowNode = { id: 'srv', type: 'era-server', name: 'sim', url: simUrl, domain: '', authMode: 'token', verifyTls: true, ca: '' };
  return redisUrl === undefined ? server : { ...server, cluster: 'redis', redisUrl, clusterName: 'bench' };
}

export const ERA_CREDENTIALS = { srv: { token: TOKEN } };

/** era-events with default settings except attachCall → sink; with `redisUrl`, the cluster section on. */
export function eraEventsFlow(simUrl: string, attachCall: boolean, redisUrl?: string): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    eraServer(simUrl, redisUrl),
    { id: 'events', type: 'era-events', z: TAB, server: 'srv', events: 'callevents.*', objects: '', attachCall, split: false, wires: [[SINK]] },
    { id: SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}

/** The floor: bench-ws-min (ws + JSON.parse + one send per event, nothing else) → sink. */
export function minimalNodeFlow(simUrl: string): FlowNode[] {
  const url = `${simUrl.replace(/^http/, 'ws')}/ws/token/v1/${TOKEN}`;
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    { id: 'min', type: 'bench-ws-min', z: TAB, url, frames: CONNECT_FRAMES, wires: [[SINK]] },
    { id: SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}

/**
 * The hand-wired core flow doing the same job: websocket in (client, token socket) → json →
 * change (frame, payload, connectionId, callId) → switch (call events only) → function
 * (topic, eventId) → sink; the subscribe frame goes out through a websocket out on the same
 * client.
 */
export function coreEventsFlow(simUrl: string): FlowNode[] {
  const ws = `${simUrl.replace(/^http/, 'ws')}/ws/token/v1/${TOKEN}`;
  const msgProp = (p: string, to: string) => ({ t: 'set', p, pt: 'msg', to, tot: 'msg' });
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    { id: 'wsc', type: 'websocket-client', path: ws, tls: '', wholemsg: 'false', hb: '0', subprotocol: '', headers: [] },
    { id: 'ws-in', type: 'websocket in', z: TAB, server: '', client: 'wsc', wires: [['parse']] },
    { id: WS_OUT, type: 'websocket out', z: TAB, server: '', client: 'wsc', wires: [] },
    { id: 'parse', type: 'json', z: TAB, property: 'payload', action: 'obj', pretty: false, wires: [['pick']] },
    {
      id: 'pick',
      type: 'change',
      z: TAB,
      rules: [msgProp('frame', 'payload[1]'), msgProp('payload', 'frame.data'), msgProp('connectionId', 'payload.connectionid'), msgProp('callId', 'payload.cid')],
      wires: [['filter']],
    },
    {
      id: 'filter',
      type: 'switch',
      z: TAB,
      property: 'frame.class',
      propertyType: 'msg',
      rules: [{ t: 'eq', v: 'callevents', vt: 'str' }],
      checkall: 'true',
      repair: false,
      outputs: 1,
      wires: [['emit']],
    },
    {
      id: 'emit',
      type: 'function',
      z: TAB,
      func: "msg.topic = msg.frame.class + '.' + msg.frame.type;\nmsg.eventId = msg.payload.eventid;\ndelete msg.frame;\nreturn msg;",
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      wires: [[SINK]],
    },
    { id: SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}

/** Why `msg` is not the message every event-path flow must emit for a call event, or undefined when it is. */
export function eventMessageProblem(msg: Record<string, unknown>): string | undefined {
  const payload = msg.payload as Record<string, unknown> | undefined;
  if (typeof msg.topic !== 'string' || !msg.topic.startsWith('callevents.')) return `topic ${String(msg.topic)}`;
  if (typeof payload !== 'object' || payload === null) return 'no payload object';
  if (msg.connectionId !== payload.connectionid || msg.callId !== payload.cid || msg.eventId !== payload.eventid) {
    return 'connectionId, callId or eventId missing or not the payload\'s';
  }
  return undefined;
}
