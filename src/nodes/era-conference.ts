import { CALL, OPTIONAL, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import { choice } from './lib/choice';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-conference',
    actionNode(RED, {
      fields: { call: CALL, conference: OPTIONAL, extra: EXTRA },
      perform: (client, v, msg, def) =>
        client.command({
          op: 'conference',
          mode: choice(def, 'mode', msg, 'mode', 'switch'),
          call: v.call,
          conference: v.conference,
          extra: v.extra,
        }),
    }),
  );
};
