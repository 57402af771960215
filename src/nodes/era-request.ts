import { EraError, shownValue } from '../era';
import { OPTIONAL, PAYLOAD } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-request',
    actionNode(RED, {
      fields: { method: ['GET', 'str'], path: OPTIONAL, body: PAYLOAD },
      async perform(client, v, _msg, def) {
        const method = typeof v.method === 'string' ? v.method.trim() : '';
        if (!method) throw new EraError('ERA_INVALID_INPUT', 'No method: set the method field');
        if (def.kind === 'ws') {
          const params = v.body === undefined ? {} : v.body;
          if (typeof params !== 'object' || params === null || Array.isArray(params)) {
            throw new EraError('ERA_INVALID_INPUT', 'WebSocket parameters must be a JSON object');
          }
          return { body: await client.wsRequest(method, params as Record<string, unknown>) };
        }
        const path = typeof v.path === 'string' ? v.path.trim() : '';
        if (!path.startsWith('/')) {
          throw new EraError('ERA_INVALID_INPUT', `The path ${shownValue(path)} must start with "/", e.g. /rest/v1/uc/calls`);
        }
        return client.rest(method, path, v.body);
      },
    }),
  );
};
