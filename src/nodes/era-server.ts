import { type CallHandOver, type CallLogHandOver, type ClientState, EraClient, EraError } from '../era';
import { dropHandOversOnStop, HandOver } from './lib/hand-over';
import { clientOptions, tlsConfigOf } from './lib/client-options';
import { startCluster } from './lib/cluster-claims';
import { registerCheckEndpoint } from './lib/check-endpoint';
import { platformOf, storedSecretRefusal, type StoredServer } from './lib/dialog-options';
import { registerTestEndpoint } from './lib/test-endpoint';
import type { EraServerNode, LinkListener } from './lib/server-link';
import { linkStatus, type LinkState } from './lib/status';
import type { NodeDef, RedApi } from './lib/red';

/**
 * The calls an era-server knew when it closed in a deploy, for its successor's first
 * connection — only if the successor talks to the same platform and domain: another one knows
 * nothing of them.
 */
const liveCalls = new HandOver<{ platform: string; calls: CallHandOver[]; callLogs: CallLogHandOver[] }>();

function callsOf(def: NodeDef): string {
  const { url, domain } = platformOf(def);
  return `${url}|${domain}`;
}

export = function register(RED: RedApi): void {
  dropHandOversOnStop(RED);
  function EraServer(this: EraServerNode & StoredServer, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const refusal = storedSecretRefusal(def, node.credentials ?? {});
    // The dialog's buttons use the stored credentials only for this platform, and none that were typed for another.
    node.storedFor = refusal ? undefined : platformOf(def);
    const listeners = new Set<LinkListener>();
    let state: LinkState = 'idle';
    let detail: string | undefined;
    const cluster = startCluster(node, def, () => publish());

    const publish = () => {
      const status = linkStatus(RED, state, detail, cluster.view());
      for (const l of listeners) l(status, state);
    };

    try {
      if (refusal) throw refusal;
      node.client = new EraClient({
        ...clientOptions(def, node.credentials ?? {}, tlsConfigOf(RED, def.tls)),
        logger: { debug: (m: string) => node.debug(m), warn: (m: string) => node.warn(m) },
        claims: cluster.claims,
      });
      node.client.on('state', (s: ClientState, d?: string) => {
        state = s;
        detail = d;
        publish();
      });
      state = node.client.state;
      const left = liveCalls.take(node.id);
      if (left?.platform === callsOf(def)) node.client.resume(left.calls, left.callLogs);
    } catch (err) {
      // A constructor must not throw: the bad configuration shows on every dependent node
      // and every request fails with the same clear error.
      node.configError =
        err instanceof EraError ? err : new EraError('ERA_INVALID_INPUT', `Invalid Era server configuration: ${String(err)}`);
      state = 'invalid_config';
      detail = node.configError.message;
      cluster.close();
      node.error(node.configError.message);
    }

    node.watch = (listener) => {
      listeners.add(listener);
      listener(linkStatus(RED, state, detail, cluster.view()), state);
      return () => listeners.delete(listener);
    };

    node.on('close', (removed, done) => {
      listeners.clear();
      const client = node.client;
      if (!client) return done();
      // A successor with this id comes after a redeploy: it learns which calls were going on.
      if (!removed) liveCalls.leave(node.id, { platform: callsOf(def), calls: client.calls.handOver(), callLogs: client.takeCallLogs() });
      const closed = client.close();
      cluster.close();
      closed.then(done, (err: unknown) => {
        node.debug(`close: ${String(err)}`);
        done();
      });
    });
  }

  RED.nodes.registerType('era-server', EraServer, {
    credentials: { login: { type: 'text' }, password: { type: 'password' }, token: { type: 'password' }, redisPassword: { type: 'password' }, secretFor: { type: 'text' } },
  });
  registerTestEndpoint(RED);
  registerCheckEndpoint(RED);
};
