import { OPTIONAL, PAYLOAD, EXTRA } from './lib/inputs';
import { actionNode } from './lib/action';
import { choice } from './lib/choice';
import type { RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-dial',
    actionNode(RED, {
      fields: { from: OPTIONAL, to: PAYLOAD, ivr: OPTIONAL, extra: EXTRA },
      perform: (client, v, msg, def) =>
        client.command({ op: 'dial', mode: choice(def, 'mode', msg, 'mode', 'post'), from: v.from, to: v.to, ivr: v.ivr, extra: v.extra }),
      decorate(msg, result) {
        const id = idOf(result.body);
        if (id !== undefined) msg.connectionId = id;
      },
    }),
  );
};

function idOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const id = b.id ?? b.connectionid ?? b.connectionId;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}
