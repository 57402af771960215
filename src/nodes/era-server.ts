import { EraClient, type ClientState } from '../era/client';
import { EraError } from '../era/errors';
import { clientOptions } from './lib/client-options';
import { registerTestEndpoint } from './lib/test-endpoint';
import type { EraServerNode, LinkListener } from './lib/server-link';
import { linkStatus, type LinkState } from './lib/status';
import type { NodeDef, RedApi } from './lib/red';

export = function register(RED: RedApi): void {
  function EraServer(this: EraServerNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const listeners = new Set<LinkListener>();
    let state: LinkState = 'idle';
    let detail: string | undefined;

    const publish = () => {
      const status = linkStatus(RED, state, detail);
      for (const l of listeners) l(status, state);
    };

    try {
      node.client = new EraClient({
        ...clientOptions(def, node.credentials ?? {}),
        logger: { debug: (m: string) => node.debug(m), warn: (m: string) => node.warn(m) },
      });
      node.client.on('state', (s: ClientState, d?: string) => {
        state = s;
        detail = d;
        publish();
      });
      state = node.client.state;
    } catch (err) {
      // A constructor must not throw: the bad configuration shows on every dependent node
      // and every request fails with the same clear error.
      node.configError =
        err instanceof EraError ? err : new EraError('ERA_INVALID_INPUT', `Invalid Era server configuration: ${String(err)}`);
      state = 'invalid_config';
      detail = node.configError.message;
      node.error(node.configError.message);
    }

    node.watch = (listener) => {
      listeners.add(listener);
      listener(linkStatus(RED, state, detail), state);
      return () => listeners.delete(listener);
    };

    node.on('close', (_removed, done) => {
      listeners.clear();
      const client = node.client;
      if (!client) return done();
      client.close().then(done, (err: unknown) => {
        node.debug(`close: ${String(err)}`);
        done();
      });
    });
  }

  RED.nodes.registerType('era-server', EraServer, {
    credentials: { login: { type: 'text' }, password: { type: 'password' }, token: { type: 'password' } },
  });
  registerTestEndpoint(RED);
};
