import { callFromPlatform, EraError, validateCallId } from '../era';
import { CALL, isBlank } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-call',
    actionNode(RED, {
      fields: { call: CALL },
      keepPayload: true,
      async perform(client, v) {
        if (isBlank(v.call)) throw new EraError('ERA_INVALID_INPUT', 'No call given: msg.connectionId (or the call field) is empty');
        const call = validateCallId(v.call);
        const known = client.calls.get(call);
        if (known) return { body: known };
        const result = await client.command({ op: 'get', call });
        return { statusCode: result.statusCode, body: callFromPlatform(result.body) };
      },
      decorate(msg, result) {
        msg.call = result.body;
      },
      setup(link) {
        // Keeps the config node's call table fed while this node is deployed.
        try {
          const handle = link.client().trackCalls();
          return () => handle.close();
        } catch {
          return () => undefined;
        }
      },
    }),
  );
};
