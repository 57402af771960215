import { CALL } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-hangup',
    actionNode(RED, {
      fields: { call: CALL },
      perform: (client, v) => client.command({ op: 'hangup', call: v.call }),
    }),
  );
};
