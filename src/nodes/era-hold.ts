import { EraError, shownValue } from '../era';
import { CALL, OPTIONAL, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import type { NodeDef, NodeMessage, RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-hold',
    actionNode(RED, {
      fields: { call: CALL, leg: OPTIONAL, extra: EXTRA },
      perform: (client, v, msg, def) =>
        client.command({ op: holdOp(def, msg), call: v.call, leg: v.leg, extra: v.extra }),
    }),
  );
};

/** `action: msg` lets `msg.hold` decide: true holds, false resumes; anything else is refused. */
function holdOp(def: NodeDef, msg: NodeMessage): 'hold' | 'unhold' {
  if (def.action === 'unhold') return 'unhold';
  if (def.action !== 'msg') return 'hold';
  if (msg.hold === true) return 'hold';
  if (msg.hold === false) return 'unhold';
  throw new EraError('ERA_INVALID_INPUT', `msg.hold must be true (hold) or false (resume), not ${msg.hold === undefined ? 'missing' : shownValue(msg.hold)}`);
}
