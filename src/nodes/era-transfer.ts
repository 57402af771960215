import { actionNode } from './lib/action';
import { choice } from './lib/choice';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-transfer',
    actionNode(RED, {
      fields: ['call', 'to', 'replaces', 'leg', 'extra'] as const,
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
