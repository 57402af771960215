/**
 * An era-webhook's registration across a redeploy: handed to the node's successor (same id)
 * when the successor talks to the same platform with the same credentials, which then renews it;
 * otherwise deleted by the closing node while its server's client still works, since nobody on
 * the new platform can renew, or delete, a webhook of the old one.
 *
 * Node-RED puts the new flows in place before it stops the old nodes, so a closing node can see
 * what follows it: its own new definition and its server's (with the server's new credentials).
 * The deletion goes through a client of its own, made from the server's settings as they were
 * when the node started (kept in memory only): the server's client may be closing in the same
 * deploy, before this node or at the same time.
 */
import { createHash } from 'node:crypto';
import type { CallTable, EraClientOptions } from '../../era';
import { clientOptions, tlsConfigOf } from './client-options';
import { HandOver } from './hand-over';
import type { NodeDef } from './red';
import type { WebhookRed } from './webhook-red';

export interface Kept {
  /** The fingerprint of the platform and credentials the registration lives with. */
  platform: string | undefined;
  webhookId?: string;
  /** The calls the node's reconciliation knew. */
  calls?: CallTable;
}

/** By node id. */
export const kept = new HandOver<Kept>();

interface Runtime {
  /** The configuration the flows last started with. */
  started: unknown;
  /** The flows are stopping (or stopped) with no deploy after them. */
  forGood: boolean;
}

const runtimes = new WeakMap<object, Runtime>();

/**
 * Follows whether the flows stop for good (Node-RED shutting down, the flows stopped from the
 * editor) rather than for a deploy, once per runtime. Node-RED closes nodes with `removed`
 * false in both, and says which only after every node closed; but a deploy puts its new
 * configuration in place before it stops the old nodes, and `flows:stopping` carries it: a stop
 * that carries the very configuration the flows started with is no deploy.
 */
export function watchStops(red: WebhookRed): void {
  if (runtimes.has(red.events)) return;
  const runtime: Runtime = { started: undefined, forGood: false };
  runtimes.set(red.events, runtime);
  red.events.on('flows:started', (event) => {
    runtime.started = event?.config;
    runtime.forGood = false;
  });
  red.events.on('flows:stopping', (event) => {
    runtime.forGood = event?.config !== undefined && event.config === runtime.started;
  });
}

/** The flows are stopping with no deploy after them: a registration left now would be renewed by nobody. */
export function stoppingForGood(red: WebhookRed): boolean {
  return runtimes.get(red.events)?.forGood === true;
}

function definition(red: WebhookRed, id: string): NodeDef | undefined {
  let found: NodeDef | undefined;
  red.nodes.eachNode((def) => {
    if (def.id === id) found = def;
  });
  return found;
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/**
 * A fingerprint of the platform a server node reaches and how it authenticates (the server's
 * id, URL, domain, mode, login, token); undefined without a server. No credential is kept.
 */
export function platformOf(red: WebhookRed, serverId: unknown): string | undefined {
  if (typeof serverId !== 'string' || serverId === '') return undefined;
  const def = definition(red, serverId);
  if (def === undefined) return undefined;
  const credentials = red.nodes.getCredentials?.(serverId) ?? {};
  const identity = [serverId, text(def.url).replace(/\/+$/, '').toLowerCase(), text(def.domain).toLowerCase(), def.authMode === 'token' ? 'token' : 'user', credentials.login ?? '', credentials.token ?? ''];
  return createHash('sha256').update(JSON.stringify(identity)).digest('base64url');
}

/** The settings of a client like the server's, for a deletion after the server closed; undefined when they cannot be had. */
export function spareClientOptions(red: WebhookRed, serverId: unknown): EraClientOptions | undefined {
  if (typeof serverId !== 'string' || serverId === '') return undefined;
  const def = definition(red, serverId);
  if (def === undefined) return undefined;
  try {
    return clientOptions(def, red.nodes.getCredentials?.(serverId) ?? {}, tlsConfigOf(red, def.tls));
  } catch {
    return undefined;
  }
}

/** The platform the node `nodeId` uses in the flows now deployed; null when the node is not in them. */
export function platformNext(red: WebhookRed, nodeId: string): string | undefined | null {
  const def = definition(red, nodeId);
  return def === undefined ? null : platformOf(red, def.server);
}
