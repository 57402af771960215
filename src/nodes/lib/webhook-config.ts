import { isTopicPattern, shownValue } from '../../era';
import { commaList } from './choice';
import { routePath } from './http-route';
import type { NodeDef } from './red';
import { SECRET_PARAM } from './webhook-endpoint';

const DEFAULT_PATH = '/era/events';
const DEFAULT_RECONCILE_S = 60;
/** Each run reads the whole call list: more often than every second would only load the platform. */
const MIN_RECONCILE_S = 1;

/** An era-webhook node's properties, checked. */
export interface WebhookConfig {
  path: string;
  patterns: string[];
  /** 0: no reconciliation. */
  reconcileMs: number;
  register: boolean;
  /** `https://host[:port][/prefix]` without a trailing slash; '' when not set. */
  publicUrl: string;
  secret: string | undefined;
}

/** The node's properties as stored in the flow, or the first reason they cannot be used. */
export function webhookConfig(def: NodeDef, credentials: Record<string, string | undefined>): WebhookConfig | { error: string } {
  const path = routePath(def.path === undefined || def.path === '' ? DEFAULT_PATH : def.path);
  if (path === undefined) return { error: `path ${shownValue(def.path)} must be like /era/events: letters, digits, . _ ~ - between slashes` };
  const patterns = def.events === undefined ? ['callevents.*'] : commaList(def.events);
  const bad = patterns.find((p) => !isTopicPattern(p));
  if (patterns.length === 0) return { error: 'no event pattern is set' };
  if (bad !== undefined) return { error: `bad event pattern ${shownValue(bad)} (expected <class>.<type>, e.g. callevents.*)` };
  const seconds = def.reconcile === undefined || def.reconcile === '' ? DEFAULT_RECONCILE_S : Number(def.reconcile);
  if (!Number.isFinite(seconds) || (seconds !== 0 && seconds < MIN_RECONCILE_S)) {
    return { error: `reconcile must be 0 (off) or at least ${MIN_RECONCILE_S} second, not ${shownValue(def.reconcile)}` };
  }
  const publicUrl = typeof def.publicUrl === 'string' ? def.publicUrl.trim().replace(/\/+$/, '') : '';
  if (publicUrl !== '' && !isBaseUrl(publicUrl)) return { error: `public URL ${shownValue(publicUrl)} must be like https://nodered.example.ru (no query, no user name)` };
  const secret = credentials.secret === undefined || credentials.secret === '' ? undefined : credentials.secret;
  return {
    path,
    patterns,
    reconcileMs: seconds * 1000,
    register: def.register === true || def.register === 'true',
    publicUrl,
    secret,
  };
}

function isBaseUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

/**
 * Where the platform must send: the public URL, Node-RED's root of HTTP nodes, the path. With
 * no public URL, the path as Node-RED serves it (the user puts the address in front).
 */
export function endpointUrl(publicUrl: string, httpNodeRoot: unknown, path: string): string {
  const root = typeof httpNodeRoot === 'string' ? httpNodeRoot.replace(/\/+$/, '') : '';
  return `${publicUrl}${root.startsWith('/') || root === '' ? root : `/${root}`}${path}`;
}

/** The URL as shown to a person: a set secret is never shown, only where it goes. */
export function shownUrl(url: string, secret: string | undefined): string {
  return secret === undefined ? url : `${url}?${SECRET_PARAM}=…`;
}

/** The URL the platform is given when the node registers: with the secret, which it must send back. */
export function registeredUrl(url: string, secret: string | undefined): string {
  return secret === undefined ? url : `${url}?${SECRET_PARAM}=${encodeURIComponent(secret)}`;
}
