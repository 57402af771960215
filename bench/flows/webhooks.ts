/**
 * The webhook path's flows. Each answers every delivery 200 and emits one message per call
 * event (topic "<class>.<type>", payload = the event's fields, connectionId, callId, eventId)
 * into the same `bench-sink`.
 */
import type { FlowNode } from '../lib/red';

const TAB = 'bench-tab';
export const SINK = 'sink';
export const ERA_PATH = '/era/events';
export const CORE_PATH = '/core/events';

/** era-webhook with default settings but no reconciliation; `linked`: with a token-mode server, for msg.call. */
export function eraWebhookFlow(linked: boolean): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    // Never contacted: with reconcile 0 and register off the node asks the platform nothing.
    ...(linked ? [{ id: 'srv', type: 'era-server', name: 'none', url: 'http://127.0.0.1:9', domain: '', authMode: 'token', verifyTls: true, ca: '' }] : []),
    { id: 'hook', type: 'era-webhook', z: TAB, server: linked ? 'srv' : '', path: ERA_PATH, events: 'callevents.*', reconcile: 0, register: false, publicUrl: '', wires: [[SINK]] },
    { id: SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}

export const ERA_CREDENTIALS = { srv: { token: 'unused-token' } };

/**
 * The hand-built alternative the issue describes: `http in` (which parses the JSON body) →
 * function (answer, and the event as a message) → `http response` / sink. It deduplicates
 * nothing and knows no call state.
 */
export function coreWebhookFlow(): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    { id: 'in', type: 'http in', z: TAB, url: CORE_PATH, method: 'post', upload: false, swaggerDoc: '', wires: [['emit']] },
    {
      id: 'emit',
      type: 'function',
      z: TAB,
      func: [
        'const ev = msg.payload || {};',
        'const data = ev.data || {};',
        'const event = { topic: ev.class + "." + ev.type, payload: data, connectionId: data.connectionid, callId: data.cid, eventId: data.eventid };',
        'return [{ res: msg.res, payload: "" }, event];',
      ].join('\n'),
      outputs: 2,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      wires: [['out'], [SINK]],
    },
    { id: 'out', type: 'http response', z: TAB, statusCode: '200', headers: {}, wires: [] },
    { id: SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}
