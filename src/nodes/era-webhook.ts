import { compilePatterns, type EraClient, messageOf, WebhookInbox } from '../era';
import { eventMessage } from './lib/event-message';
import { dropHandOversOnStop } from './lib/hand-over';
import { claimPostRoute, type PostRoute } from './lib/http-route';
import type { NodeDef, RedApi, RedNode } from './lib/red';
import type { EraServerNode } from './lib/server-link';
import { StatusView } from './lib/status';
import { adminAnswers } from './lib/webhook-admin';
import { endpointUrl, shownUrl, webhookConfig } from './lib/webhook-config';
import { type EndpointHandlers, middlewareFailed, webhookEndpoint } from './lib/webhook-endpoint';
import { guardPath, unmark } from './lib/webhook-guard';
import { kept, platformNext, platformOf, spareClientOptions, stoppingForGood, watchStops } from './lib/webhook-handover';
import { webhookRed, type Middleware, type WebhookRed } from './lib/webhook-red';
import { deleteWebhook, deleteWebhookApart, platformSender, startRegistrar } from './lib/webhook-registrar';
import { WebhookStatus } from './lib/webhook-status';

const RECONCILE_RETRY_MIN_MS = 1_000;
const RECONCILE_RETRY_MAX_MS = 30_000;
const CALLS_KEPT = 10_000;
const ENDED_CALL_GRACE_MS = 60_000;

export = function register(RED: RedApi): void {
  dropHandOversOnStop(RED);
  const red = webhookRed(RED);
  watchStops(red);

  function EraWebhook(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = (key: string): string => RED._(`era-webhook.status.${key}`);
    const warned = new Set<string>();
    const warnOnce = (msg: string): void => {
      if (warned.has(msg)) return;
      warned.add(msg);
      node.warn(msg);
    };
    let close: (removed: boolean) => Promise<void> = async () => undefined;
    node.on('close', (removed, done) => void close(removed).then(done, done));

    const server = serverOf(RED, def);
    const client = 'client' in server ? server.client : undefined;
    const platform = platformOf(red, def.server);
    const spare = spareClientOptions(red, def.server);
    const left = kept.take(node.id);
    // Only on the same platform: another one knows neither the webhook nor the calls.
    const predecessor = left !== undefined && left.platform === platform ? left : undefined;

    const config = webhookConfig(def, node.credentials ?? {});
    const status = new WebhookStatus(new StatusView(node), 'error' in config || config.secret !== undefined ? undefined : t('noSecret'));
    const fail = (why: string): void => {
      node.error(`era-webhook: ${why}`);
      status.fail(why);
      // A node that cannot start would never renew what its predecessor registered.
      if (predecessor?.webhookId !== undefined && client !== undefined) void deleteWebhook(client, predecessor.webhookId);
    };
    if ('error' in config) return fail(config.error);
    if (red.settings.httpNodeRoot === false) return fail('Node-RED serves no HTTP nodes here (httpNodeRoot is false in its settings)');
    const url = endpointUrl(config.publicUrl, red.settings.httpNodeRoot, config.path);
    const admin = adminAnswers(red.httpAdmin, red.httpNode, config.path);
    if (admin !== undefined) return fail(`the path ${config.path} is answered by ${admin} before any HTTP node: give this node another path`);

    let closed = false;
    const inbox = new WebhookInbox({
      patterns: compilePatterns(config.patterns),
      server: client,
      claimScope: `webhook:${config.path.toLowerCase()}:`,
      // A claim settled after the node closed: its successor has the event.
      emit: (ev) => (closed ? undefined : node.send(eventMessage(ev, true))),
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
    const refused = (code: number, why: string): void => warnOnce(`era-webhook: refused a delivery to ${url} with HTTP ${code}: ${why} (reported once)`);
    const stalled = (): void => refused(408, 'its body stopped coming');
    const handlers: EndpointHandlers = {
      accepted: (contents) => {
        // A delivery still being read when the node closed: its answer went out, nothing more.
        if (closed) return;
        try {
          inbox.accept(contents.events);
        } catch (err) {
          warnOnce(`era-webhook: a delivery's events were not emitted: ${messageOf(err)}`);
        }
        if (contents.skipped > 0) warnOnce(`era-webhook: a delivery to ${url} held items that are no event; they were skipped (reported once)`);
      },
      refused,
    };
    const claim = claimPostRoute(red.httpNode, config.path, `another era-webhook node (${node.id})`, [
      unmark(stalled),
      ...userMiddleware(red),
      webhookEndpoint(config.secret, handlers),
      middlewareFailed(handlers),
    ]);
    if (!claim.ok) return fail(`the path ${config.path} is already served by ${claim.holder}: give this node another path`);
    const route = claim.route;
    const unguard = guardPath(red.httpNode, config.path, stalled);
    const watchRoute = routeWatcher(red, node, route, config.path, (text) => status.conflicting(text === undefined ? undefined : `${t('conflict')}: ${text}`));

    for (const warning of config.warnings) node.warn(`era-webhook: ${warning}`);
    if (config.secret === undefined) node.warn(`era-webhook: no secret is set: anyone who can reach ${url} can post events (set one, and give it to the platform as ?secret= or the X-Era-Secret header)`);

    const registration = startRegistrar({
      config,
      client,
      url,
      shown: shownUrl(url, config),
      keptId: predecessor?.webhookId,
      t,
      show: (s) => status.show(s),
      warnOnce,
      debug: (msg) => node.debug(msg),
      lapsed: () => inbox.reconciler?.now(),
    });
    if ('error' in server) fail(server.error);
    inbox.reconciler?.start();

    close = async (removed) => {
      closed = true;
      red.events.removeListener('flows:started', watchRoute);
      route.release();
      unguard();
      inbox.reconciler?.stop();
      const webhookId = registration?.stop();
      // No successor (removed, or the flows stop for good: Node-RED shuts down) or one that talks
      // to another platform: nobody could renew the webhook, which would be delivered to until it lapsed.
      if (stoppingForGood(red) || (removed ? null : platformNext(red, node.id)) !== platform) {
        if (webhookId !== undefined && spare !== undefined) await deleteWebhookApart(spare, webhookId);
        return;
      }
      kept.leave(node.id, { platform, webhookId, calls: inbox.reconciler?.table });
    };
  }

  RED.nodes.registerType('era-webhook', EraWebhook, {
    credentials: { secret: { type: 'password' }, publicUser: { type: 'text' }, publicPassword: { type: 'password' } },
  });
};

/** The optional server: its client, none, or why it cannot be used (events still come, without msg.call). */
function serverOf(RED: RedApi, def: NodeDef): { client: EraClient } | { error: string } | { none: true } {
  if (typeof def.server !== 'string' || def.server === '') return { none: true };
  const server = RED.nodes.getNode(def.server) as EraServerNode | null;
  if (!server) return { error: 'the Era server node of this webhook is missing' };
  if (server.client) return { client: server.client };
  return { error: server.configError?.message ?? 'the Era server configuration is not usable' };
}

/** The user's `httpNodeMiddleware` (a function or a list of them), in front of every HTTP node as the core `http in` puts it. */
function userMiddleware(red: WebhookRed): Middleware[] {
  const given = red.settings.httpNodeMiddleware;
  const list: unknown[] = Array.isArray(given) ? given.flat(Infinity) : [given];
  return list.filter((fn): fn is Middleware => typeof fn === 'function');
}

/**
 * After every deploy (`flows:started`): puts the route back when a core `http in` node on the
 * same path took it out as it closed, and reports a route deployed after this node that answers
 * its path (which express then never reaches). Returns the listener, for close.
 */
function routeWatcher(red: WebhookRed, node: RedNode, route: PostRoute, path: string, conflicting: (text: string | undefined) => void): () => void {
  const reported = new Set<string>();
  const check = (): void => {
    if (route.restore()) node.debug(`era-webhook: the route of ${path} was removed by another node's close; added again`);
    const others = route.others();
    if (others.length === 0) return conflicting(undefined);
    const text = others.join(', ');
    conflicting(text);
    if (reported.has(text)) return;
    reported.add(text);
    node.error(`era-webhook: the path ${path} is also served by ${text} (an http in node?), which receives nothing while this node serves it: give one of them another path`);
  };
  red.events.on('flows:started', check);
  return check;
}
