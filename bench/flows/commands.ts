/**
 * The command path's flows: the node under test ('act') → ok sink, and a Catch node → err
 * sink, so every message ends in exactly one sink. Each message asks the simulator to hold
 * or resume one talking call: NOTIFY /rest/v1/uc/calls/<id> {"event": "hold" | "talk"},
 * Authorization: Bearer demo-token.
 */
import { eraServer, TOKEN } from './events';
import type { FlowNode } from '../lib/red';

const TAB = 'bench-tab';
export const ACT = 'act';
export const OK_SINK = 'ok';
export const ERR_SINK = 'err';

export type CommandVariant = 'era-hold' | 'core-http' | 'core-http-keepalive';

function frame(act: FlowNode): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    act,
    { id: 'on-error', type: 'catch', z: TAB, scope: null, uncaught: false, wires: [[ERR_SINK]] },
    { id: OK_SINK, type: 'bench-sink', z: TAB, wires: [] },
    { id: ERR_SINK, type: 'bench-sink', z: TAB, wires: [] },
  ];
}

export function commandFlow(variant: CommandVariant, simUrl: string): FlowNode[] {
  if (variant === 'era-hold') {
    return [
      eraServer(simUrl),
      ...frame({ id: ACT, type: 'era-hold', z: TAB, server: 'srv', action: 'msg', call: 'connectionId', callType: 'msg', leg: '', legType: 'str', extra: '', extraType: 'json', wires: [[OK_SINK]] }),
    ];
  }
  // Defaults of the core node (as dropped from the palette), except: method from msg.method,
  // payload parsed as JSON, transport errors to Catch only (so each message ends once), and
  // connection keep-alive in the -keepalive variant.
  return frame({
    id: ACT,
    type: 'http request',
    z: TAB,
    method: 'use',
    ret: 'obj',
    paytoqs: 'ignore',
    url: '',
    tls: '',
    persist: variant === 'core-http-keepalive',
    proxy: '',
    insecureHTTPParser: false,
    authType: '',
    senderr: true,
    headers: [],
    wires: [[OK_SINK]],
  });
}

/** The i-th request of a run: the call it acts on and whether it holds (true) or resumes. */
export function nthRequest(i: number, calls: readonly string[]): { call: string; hold: boolean } {
  return { call: calls[i % calls.length]!, hold: Math.floor(i / calls.length) % 2 === 0 };
}

export function requestPath(call: string): string {
  return `/rest/v1/uc/calls/${encodeURIComponent(call)}`;
}

export const AUTHORIZATION = `Bearer ${TOKEN}`;

/** The message each variant is fed for the same request: our node reads the call from msg, the core node is given it all. */
export function commandMessage(variant: CommandVariant, simUrl: string, call: string, hold: boolean): Record<string, unknown> {
  if (variant === 'era-hold') return { connectionId: call, hold };
  return {
    method: 'NOTIFY',
    url: simUrl + requestPath(call),
    headers: { Authorization: AUTHORIZATION },
    payload: { event: hold ? 'hold' : 'talk' },
  };
}
