/**
 * The client's options, and every check they get before anything touches the network: the
 * base URL, credentials that can travel, timings, the CA, and the TLS settings merged from the
 * server's own fields and a core tls-config node. A configuration that cannot work throws
 * ERA_INVALID_INPUT naming the field, never echoing a secret.
 */
import type { EventClaims } from '../types';
import { invalid, shownUrl } from '../errors';
import { isObject } from '../protocol/values';
import { clipText } from '../util/text';
import type { TlsSettings } from './rest';
import type { Logger, ProtocolObserver } from '../types';
import { MAX_TIMER_MS } from '../util/timers';

export interface EraClientOptions {
  /** Base URL of the platform, `https://host[:port]`; REST and WebSocket share it. */
  url: string;
  /** The Era domain to log into (user mode). */
  domain?: string;
  authMode?: 'user' | 'token';
  login?: string;
  password?: string;
  /** The integration point's token (token mode). */
  token?: string;
  verifyTls?: boolean;
  /** PEM bundle of a private CA. */
  ca?: string;
  /** What a core tls-config node adds: a client certificate, more CAs, SNI, its own verify switch. */
  tlsConfig?: TlsConfig;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Seconds asked for each subscription. */
  subscriptionExpires?: number;
  callTableCap?: number;
  endedCallGraceMs?: number;
  /** Downloads of a recording link that answers 404 (not written yet) are tried again this many times. */
  recordingRetries?: number;
  recordingRetryDelayMs?: number;
  /** How long an unused socket stays open for the nodes of a redeploy to take over (2000). */
  socketLingerMs?: number;
  /** How long a ban of the platform's is waited out before logging in again (180000, doubled for each new ban met right after). */
  banWaitMs?: number;
  /**
   * After this long without an answer the platform may have forgotten the session (or the
   * token, after a restart): the next request goes alone to find out (10000).
   */
  sessionQuietMs?: number;
  logger?: Logger;
  /** Sees every REST exchange and WebSocket frame (the compatibility report's recorder). */
  observer?: ProtocolObserver;
  /** A cluster's shared claims: exclusive listeners get only the events this replica claims (claims.ts). */
  claims?: EventClaims;
}

export interface TlsConfig {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
  /** false when the tls-config node switched verification off (for this server only). */
  verifyServer?: boolean;
}

export interface Settings {
  requestTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  subscriptionExpires: number;
  callTableCap: number;
  endedCallGraceMs: number;
  recordingRetries: number;
  recordingRetryDelayMs: number;
  socketLingerMs: number;
  banWaitMs: number;
  sessionQuietMs: number;
}

const DEFAULTS: Settings = {
  requestTimeoutMs: 10_000,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 5_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 30_000,
  subscriptionExpires: 300,
  callTableCap: 10_000,
  endedCallGraceMs: 60_000,
  recordingRetries: 3,
  recordingRetryDelayMs: 1_000,
  socketLingerMs: 2_000,
  banWaitMs: 180_000,
  sessionQuietMs: 10_000,
};


/**
 * The platform's base URL, checked: `http(s)://host[:port]` and nothing more. No message
 * repeats a user name or password typed into it (shownUrl), whichever check fails first.
 */
export function checkedBaseUrl(raw: unknown): URL {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw invalid('The server URL is empty: give the platform\'s address, e.g. https://era.example.com');
  }
  const text = raw.trim();
  // Before anything that repeats the URL: the @ may come after a password.
  if (text.includes('@')) throw invalid(`The server URL ${shownUrl(text)} must not contain a user name or password: use the login fields`);
  if (/[\s\x00-\x1f\x7f]/.test(text)) {
    throw invalid(`The server URL ${shownUrl(text)} has spaces in it (or invisible characters): give the platform's web address, e.g. https://era.example.ru`);
  }
  if (!/^https?:\/\//i.test(text)) {
    throw invalid(`The server URL ${shownUrl(text)} must start with https:// or http://, e.g. https://${clipText(text.replace(/^[a-z]+:\/*/i, ''))}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`The server URL ${shownUrl(text)} is not a valid address`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw invalid(`The server URL ${shownUrl(text)} must be just https://host[:port], without a path`);
  }
  return url;
}

function required(value: unknown, message: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(message);
  return value;
}

const CREDENTIAL_MAX = 1024;
/** What a header can carry: visible ASCII. A token travels in one (and in the socket's URL). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * A credential as typed or pasted into the dialog, refused (naming the field, never echoing a
 * secret) when it cannot travel: a line break or NUL from a paste anywhere; in a token, also
 * anything a header cannot carry — a letter from a Cyrillic keyboard layout, a space.
 */
function credential(value: unknown, field: string, where: 'header' | 'body'): string {
  const given = required(value, `${field} is empty`);
  if (given.length > CREDENTIAL_MAX) throw invalid(`${field} is ${given.length} characters long: more than ${CREDENTIAL_MAX}, so it cannot be right (pasted the wrong thing?)`);
  if (CONTROL.test(given)) throw invalid(`${field} contains a line break or another control character (pasted with it?): type it again`);
  if (where === 'header' && !HEADER_SAFE.test(given)) {
    const why = /[^\x00-\x7f]/.test(given) ? 'a non-Latin letter (check the keyboard layout)' : 'a space';
    throw invalid(`${field} contains ${why}: it can only hold Latin letters, digits and punctuation`);
  }
  return given;
}

/** The longest a timing option can be: milliseconds as they are, seconds (subscriptionExpires) times 1000. */
function longest(key: keyof Settings): number | undefined {
  if (key.endsWith('Ms')) return MAX_TIMER_MS;
  return key === 'subscriptionExpires' ? Math.floor(MAX_TIMER_MS / 1000) : undefined;
}

/** Every timing longer than a timer can wait is shortened to what it can, with one warning. */
function settings(opts: EraClientOptions): Settings {
  const out = { ...DEFAULTS };
  const shortened: string[] = [];
  for (const key of Object.keys(DEFAULTS) as Array<keyof Settings>) {
    const value = opts[key];
    if (value === undefined) continue;
    const ok = typeof value === 'number' && Number.isFinite(value) && (key === 'recordingRetries' || key === 'socketLingerMs' ? value >= 0 : value > 0);
    if (!ok) throw invalid(`Option ${key} must be a positive number, got ${String(value)}`);
    const max = longest(key);
    if (max !== undefined && value > max) shortened.push(key);
    out[key] = max !== undefined ? Math.min(value, max) : value;
  }
  if (out.reconnectMaxMs < out.reconnectMinMs) throw invalid('Option reconnectMaxMs must not be below reconnectMinMs');
  if (shortened.length > 0) opts.logger?.warn(`${shortened.join(', ')} longer than 24.8 days, the longest a timer can wait: shortened to that`);
  return out;
}

/** Who the client authenticates as. */
export type Credentials =
  | { mode: 'user'; domain: string; login: string; secret: string }
  | { mode: 'token'; secret: string };

export interface ResolvedOptions {
  origin: URL;
  settings: Settings;
  credentials: Credentials;
  tls: TlsSettings;
}

function credentials(options: EraClientOptions): Credentials {
  const authMode = options.authMode ?? 'user';
  if (authMode !== 'user' && authMode !== 'token') throw invalid(`Unknown authMode "${String(authMode)}": use user or token`);
  // Login and password travel in JSON bodies, so any alphabet is fine there; a token goes in a header.
  return authMode === 'user'
    ? {
        mode: authMode,
        domain: credential(required(options.domain, 'User mode needs the Era domain to log into'), 'The domain', 'body'),
        login: credential(required(options.login, 'User mode needs a login'), 'The login', 'body'),
        secret: credential(required(options.password, 'User mode needs a password'), 'The password', 'body'),
      }
    : { mode: authMode, secret: credential(required(options.token, 'Token mode needs the integration point\'s token'), 'The token', 'header') };
}

/** The server's CA field and a tls-config node's settings, as one set for this client's connections. */
function tlsSettings(options: EraClientOptions): TlsSettings {
  if (options.ca !== undefined && options.ca !== '' && !/-----BEGIN CERTIFICATE-----/.test(options.ca)) {
    throw invalid('The CA must be PEM text (-----BEGIN CERTIFICATE----- ...)');
  }
  const extra = options.tlsConfig;
  const cas = [options.ca, extra?.ca].filter((ca): ca is string | Buffer => ca !== undefined && ca !== '' && ca.length > 0);
  return {
    ca: cas.length === 0 ? undefined : cas,
    verifyTls: options.verifyTls !== false && extra?.verifyServer !== false,
    cert: extra?.cert,
    key: extra?.key,
    passphrase: extra?.passphrase,
    servername: extra?.servername,
  };
}

export function resolveOptions(options: EraClientOptions): ResolvedOptions {
  if (!isObject(options)) throw invalid('EraClient needs an options object');
  return { origin: checkedBaseUrl(options.url), settings: settings(options), credentials: credentials(options), tls: tlsSettings(options) };
}
