import { CALL, OPTIONAL, PAYLOAD, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-dtmf',
    actionNode(RED, {
      fields: { call: CALL, leg: OPTIONAL, digits: PAYLOAD, extra: EXTRA },
      perform: (client, v) => client.command({ op: 'dtmf', call: v.call, leg: v.leg, digits: v.digits, extra: v.extra }),
    }),
  );
};
