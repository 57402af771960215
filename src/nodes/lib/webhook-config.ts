import { isTopicPattern, MAX_TIMER_MS, shownUrl as shownWithoutUserInfo, shownValue } from '../../era';
import { commaList } from './choice';
import { routePath } from './http-route';
import type { NodeDef } from './red';
import { SECRET_PARAM } from './webhook-endpoint';

const DEFAULT_PATH = '/era/events';
const DEFAULT_RECONCILE_S = 60;
/** Each run reads the whole call list: more often than every second would only load the platform. */
const MIN_RECONCILE_S = 1;
const CONTROL = /[\x00-\x1f\x7f]/;

/** An era-webhook node's properties, checked. */
export interface WebhookConfig {
  path: string;
  patterns: string[];
  /** 0: no reconciliation; at most MAX_TIMER_MS. */
  reconcileMs: number;
  register: boolean;
  /** `https://host[:port][/prefix]` without a trailing slash (an IDN host in its ASCII form); '' when not set. */
  publicUrl: string;
  secret: string | undefined;
  /** Basic credentials the platform sends with each delivery (through `httpNodeAuth`), in the URL it is given. */
  publicUser: string | undefined;
  publicPassword: string | undefined;
  /** What the node must warn about once, though it works. */
  warnings: string[];
}

const given = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/** The node's properties as stored in the flow, or the first reason they cannot be used. */
export function webhookConfig(def: NodeDef, credentials: Record<string, string | undefined>): WebhookConfig | { error: string } {
  const warnings: string[] = [];
  const path = routePath(def.path === undefined || def.path === '' ? DEFAULT_PATH : def.path);
  if (path === undefined) return { error: `path ${shownValue(def.path)} must be like /era/events: letters, digits, . _ ~ - between slashes` };
  const patterns = def.events === undefined ? ['callevents.*'] : commaList(def.events);
  const bad = patterns.find((p) => !isTopicPattern(p));
  if (patterns.length === 0) return { error: 'no event pattern is set' };
  if (bad !== undefined) return { error: `bad event pattern ${shownValue(bad)} (expected <class>.<type>, e.g. callevents.*)` };
  const secondsAsked = def.reconcile === undefined || def.reconcile === '' ? DEFAULT_RECONCILE_S : Number(def.reconcile);
  if (!Number.isFinite(secondsAsked) || (secondsAsked !== 0 && secondsAsked < MIN_RECONCILE_S)) {
    return { error: `reconcile must be 0 (off) or at least ${MIN_RECONCILE_S} second, not ${shownValue(def.reconcile)}` };
  }
  let reconcileMs = secondsAsked * 1000;
  if (reconcileMs > MAX_TIMER_MS) {
    warnings.push(`reconcile every ${secondsAsked} s is longer than a Node.js timer can wait: it reconciles every ${Math.floor(MAX_TIMER_MS / 1000)} s (24.8 days) instead`);
    reconcileMs = MAX_TIMER_MS;
  }
  const publicUrl = checkedPublicUrl(def.publicUrl);
  if (typeof publicUrl !== 'string') return publicUrl;
  const publicUser = given(credentials.publicUser);
  const publicPassword = given(credentials.publicPassword);
  if (publicUser !== undefined && CONTROL.test(publicUser)) return { error: `public user ${shownValue(publicUser)} holds a line break or another control character` };
  if (publicUser?.includes(':')) return { error: `public user ${shownValue(publicUser)} must not hold ":" (Basic authentication puts one between the user and the password)` };
  if (publicPassword !== undefined && CONTROL.test(publicPassword)) return { error: 'the public password holds a line break or another control character' };
  if (publicPassword !== undefined && publicUser === undefined) return { error: 'the public password needs a public user' };
  return {
    path,
    patterns,
    reconcileMs,
    register: def.register === true || def.register === 'true',
    publicUrl,
    secret: given(credentials.secret),
    publicUser,
    publicPassword,
    warnings,
  };
}

/** The public URL as the platform must be given it, or why it cannot be used. */
function checkedPublicUrl(raw: unknown): string | { error: string } {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') return '';
  // The URL parser would drop a pasted line break silently and so hide the mistake.
  if (CONTROL.test(text)) return { error: `public URL ${shownWithoutUserInfo(text)} holds a line break or another control character` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `public URL ${shownWithoutUserInfo(text)} must be like https://nodered.example.ru (no query, no user name)` };
  }
  // Never repeated: a password may be in it.
  if (url.username !== '' || url.password !== '') return { error: 'the public URL must not hold a user name or password: put them in the public user and public password fields' };
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || text.endsWith('?') || text.endsWith('#')) {
    return { error: `public URL ${shownWithoutUserInfo(text)} must be like https://nodered.example.ru (no query, no user name)` };
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * Where the platform must send: the public URL, Node-RED's root of HTTP nodes, the path. With
 * no public URL, the path as Node-RED serves it (the user puts the address in front).
 */
export function endpointUrl(publicUrl: string, httpNodeRoot: unknown, path: string): string {
  const root = typeof httpNodeRoot === 'string' ? httpNodeRoot.replace(/\/+$/, '') : '';
  return `${publicUrl}${root.startsWith('/') || root === '' ? root : `/${root}`}${path}`;
}

/**
 * A user name or password as it stands in a URL's user information: every character but
 * letters, digits and `- . _ ~` percent-encoded. The URL setters leave `%` as it is, so a
 * password holding `%41` would reach the platform as `A`; and a platform's client may split the
 * user information at a reserved character it finds there.
 */
function userinfo(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The URL as shown to a person: the user name, but neither the password nor the secret, only
 * where they go. With no public URL, `<Node-RED>` stands for the address.
 */
export function shownUrl(url: string, config: Pick<WebhookConfig, 'secret' | 'publicUser' | 'publicPassword'>): string {
  const query = config.secret === undefined ? '' : `?${SECRET_PARAM}=…`;
  const scheme = /^https?:\/\//.exec(url)?.[0];
  if (scheme === undefined || config.publicUser === undefined) return `${url.startsWith('/') ? '<Node-RED>' : ''}${url}${query}`;
  const shown = `${userinfo(config.publicUser)}${config.publicPassword === undefined ? '' : ':…'}@`;
  return `${scheme}${shown}${url.slice(scheme.length)}${query}`;
}

/** The URL the platform is given when the node registers: with the credentials and the secret it must send back. */
export function registeredUrl(url: string, config: Pick<WebhookConfig, 'secret' | 'publicUser' | 'publicPassword'>): string {
  const out = new URL(url);
  if (config.publicUser !== undefined) out.username = userinfo(config.publicUser);
  if (config.publicPassword !== undefined) out.password = userinfo(config.publicPassword);
  if (config.secret !== undefined) out.searchParams.set(SECRET_PARAM, config.secret);
  return out.href;
}

/** The forms a secret of the configuration can take in a URL or a body, to hide in anything shown. */
export function secretForms(config: Pick<WebhookConfig, 'secret' | 'publicPassword'>): string[] {
  const forms: string[] = [];
  for (const secret of [config.secret, config.publicPassword]) {
    if (secret === undefined) continue;
    forms.push(secret, encodeURIComponent(secret), userinfo(secret), new URLSearchParams({ s: secret }).toString().slice(2));
  }
  return forms;
}
