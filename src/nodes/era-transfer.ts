import { CALL, PAYLOAD, OPTIONAL, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import { choice } from './lib/choice';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-transfer',
    actionNode(RED, {
      fields: { call: CALL, to: PAYLOAD, replaces: OPTIONAL, leg: OPTIONAL, extra: EXTRA },
      perform: (client, v, msg, def) =>
        client.command({
          op: 'transfer',
          mode: choice(def, 'mode', msg, 'mode', 'blind'),
          call: v.call,
          to: v.to,
          replaces: v.replaces,
          leg: v.leg,
          extra: v.extra,
        }),
    }),
  );
};
