import { CALL, OPTIONAL, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-answer',
    actionNode(RED, {
      fields: { call: CALL, leg: OPTIONAL, extra: EXTRA },
      perform: (client, v) => client.command({ op: 'answer', call: v.call, leg: v.leg, extra: v.extra }),
    }),
  );
};
