import { actionNode } from './lib/action';
import type { NodeDef, NodeMessage, RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-hold',
    actionNode(RED, {
      fields: ['call', 'leg', 'extra'] as const,
      perform: (client, v, msg, def) =>
        client.command({ op: holdOp(def, msg), call: v.call, leg: v.leg, extra: v.extra }),
    }),
  );
};

/** `action: msg` lets `msg.hold` decide: true holds, false resumes; anything else is refused. */
function holdOp(def: NodeDef, msg: NodeMessage): unknown {
  const action = def.action === 'unhold' || def.action === 'msg' ? def.action : 'hold';
  if (action !== 'msg') return action;
  if (msg.hold === true) return 'hold';
  if (msg.hold === false) return 'unhold';
  return msg.hold === undefined ? 'msg.hold (missing)' : `msg.hold = ${JSON.stringify(msg.hold)}`;
}
