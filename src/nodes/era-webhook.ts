import { type CallTable, compilePatterns, type EraClient, WebhookInbox } from '../era';
import { eventMessage } from './lib/event-message';
import { dropHandOversOnStop, HandOver } from './lib/hand-over';
import { claimPostRoute } from './lib/http-route';
import type { NodeDef, RedApi, RedNode } from './lib/red';
import type { EraServerNode } from './lib/server-link';
import { StatusView } from './lib/status';
import { endpointUrl, shownUrl, webhookConfig } from './lib/webhook-config';
import { webhookEndpoint } from './lib/webhook-endpoint';
import { DELETE_TIMEOUT_MS, platformSender, startRegistrar } from './lib/webhook-registrar';

const RECONCILE_RETRY_MIN_MS = 1_000;
const RECONCILE_RETRY_MAX_MS = 30_000;
const CALLS_KEPT = 10_000;
const ENDED_CALL_GRACE_MS = 60_000;

/**
 * What a node leaves its successor across a redeploy (by node id): the webhook it registered,
 * which the successor renews, and the calls it knew, which its reconciliation does not report
 * again.
 */
const kept = new HandOver<{ server: unknown; webhookId?: string; calls?: CallTable }>();

export = function register(RED: RedApi): void {
  dropHandOversOnStop(RED);

  function EraWebhook(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const view = new StatusView(node);
    const warned = new Set<string>();
    const warnOnce = (msg: string): void => {
      if (warned.has(msg)) return;
      warned.add(msg);
      node.warn(msg);
    };
    const fail = (why: string): void => {
      node.error(`era-webhook: ${why}`);
      view.show({ fill: 'red', shape: 'dot', text: why });
    };
    let close: (removed: boolean) => Promise<void> = async () => undefined;
    node.on('close', (removed, done) => void close(removed).then(done, done));

    const config = webhookConfig(def, node.credentials ?? {});
    if ('error' in config) return fail(config.error);
    if (RED.settings.httpNodeRoot === false) return fail('Node-RED serves no HTTP nodes here (httpNodeRoot is false in its settings)');
    const server = serverOf(RED, def);
    const client = 'client' in server ? server.client : undefined;
    const url = endpointUrl(config.publicUrl, RED.settings.httpNodeRoot, config.path);
    // Only on the same server: another platform knows neither the webhook nor the calls.
    const left = kept.take(node.id);
    const predecessor = left?.server === def.server ? left : undefined;

    const inbox = new WebhookInbox({
      patterns: compilePatterns(config.patterns),
      calls: client,
      emit: (ev) => node.send(eventMessage(ev, true)),
      reconcile: client === undefined || config.reconcileMs === 0 ? undefined : {
        send: platformSender(client),
        intervalMs: config.reconcileMs,
        maxCalls: CALLS_KEPT,
        endedCallGraceMs: ENDED_CALL_GRACE_MS,
        retryMinMs: RECONCILE_RETRY_MIN_MS,
        retryMaxMs: RECONCILE_RETRY_MAX_MS,
        debug: (msg) => node.debug(msg),
        warnOnce,
        table: predecessor?.calls,
      },
    });
    let closed = false;
    const route = claimPostRoute(RED.httpNode, config.path, node.id, webhookEndpoint(config.secret, {
      accepted: (contents) => {
        // A delivery still being read when the node closed: its answer went out, nothing more.
        if (closed) return;
        try {
          inbox.accept(contents.events);
        } catch (err) {
          warnOnce(`era-webhook: a delivery's events were not emitted: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (contents.skipped > 0) warnOnce(`era-webhook: a delivery to ${config.path} held items that are no event; they were skipped (reported once)`);
      },
      refused: (status, why) => warnOnce(`era-webhook: refused a delivery to ${config.path} with HTTP ${status}: ${why} (reported once)`),
    }));
    if (!route.ok) return fail(`the path ${config.path} is already served by ${route.holder}: give this node another path`);

    const registration = startRegistrar({
      config,
      client,
      url,
      shown: shownUrl(config.publicUrl === '' ? `<Node-RED>${url}` : url, config.secret),
      keptId: predecessor?.webhookId,
      t: (key) => RED._(`era-webhook.status.${key}`),
      // A server that cannot be used says so instead: nothing of it works.
      show: (status) => ('error' in server ? undefined : view.show(status)),
      warnOnce,
      debug: (msg) => node.debug(msg),
      lapsed: () => inbox.reconciler?.now(),
    });
    if ('error' in server) fail(server.error);
    inbox.reconciler?.start();

    close = async (removed) => {
      closed = true;
      route.release();
      inbox.reconciler?.stop();
      if (removed) return registration?.remove(DELETE_TIMEOUT_MS);
      kept.leave(node.id, { server: def.server, webhookId: registration?.stop(), calls: inbox.reconciler?.table });
    };
  }

  RED.nodes.registerType('era-webhook', EraWebhook, { credentials: { secret: { type: 'password' } } });
};

/** The optional server: its client, none, or why it cannot be used (events still come, without msg.call). */
function serverOf(RED: RedApi, def: NodeDef): { client: EraClient } | { error: string } | { none: true } {
  if (typeof def.server !== 'string' || def.server === '') return { none: true };
  const server = RED.nodes.getNode(def.server) as EraServerNode | null;
  if (!server) return { error: 'the Era server node of this webhook is missing' };
  if (server.client) return { client: server.client };
  return { error: server.configError?.message ?? 'the Era server configuration is not usable' };
}
