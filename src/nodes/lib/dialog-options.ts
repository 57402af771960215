import { checkedBaseUrl, type EraClientOptions, EraError } from '../../era';
import { clientOptions, tlsConfigOf } from './client-options';
import type { NodeDef, RedApi, RedNode } from './red';

/** What the era-server dialog sends to its buttons' endpoints: the values in the dialog, unsaved. */
export interface DialogRequest {
  id?: string;
  url?: string;
  domain?: string;
  authMode?: string;
  verifyTls?: boolean;
  ca?: string;
  /** The id of a tls-config node. */
  tls?: string;
  credentials?: Record<string, string | undefined>;
}

/** The platform a server's credentials are for: its URL, domain and mode, normalised. */
export interface Platform {
  url: string;
  domain: string;
  authMode: 'user' | 'token';
}

/** A deployed era-server keeps the platform its stored credentials were deployed with. */
export interface StoredServer extends RedNode {
  storedFor?: Platform;
}

/** Node-RED's stand-in for a stored password in the dialog: "unchanged". */
const UNCHANGED = '__PWRD__';

/**
 * The platform as a comparable value: the URL's scheme and host lower-case, a default port
 * dropped, a lone trailing slash dropped (the WHATWG parser does all of this), user info left
 * out; the domain trimmed and lower-case (the platform reads it case-insensitively). A URL that
 * does not parse stays as typed, trimmed: it can only equal itself.
 */
export function platformOf(fields: Readonly<Record<string, unknown>>): Platform {
  const typed = String(fields.url ?? '').trim();
  let url = typed;
  try {
    const u = new URL(typed);
    url = `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}${u.search}${u.hash}`;
  } catch {
    // kept as typed
  }
  return { url, domain: String(fields.domain ?? '').trim().toLowerCase(), authMode: fields.authMode === 'token' ? 'token' : 'user' };
}

/**
 * The platform as the hidden `secretFor` credential names it. The dialog sets it when a
 * password or token is typed, normalised as `platformOf` does (nodes/era-server.html repeats
 * this in the browser); compared as text.
 */
export function platformKey(p: Platform): string {
  return JSON.stringify([p.url, p.domain, p.authMode]);
}

/**
 * The refusal to use a stored secret with a URL, domain or mode other than those it was typed
 * for — a deploy that changed only the URL keeps the password, and it must not go to the new
 * host — or undefined. A flow saved before `secretFor` existed has none: taken as matching.
 */
export function storedSecretRefusal(fields: Readonly<Record<string, unknown>>, credentials: Readonly<Record<string, string | undefined>>): EraError | undefined {
  const typedFor = credentials.secretFor;
  if (typedFor === undefined || typedFor === '') return undefined;
  const here = platformOf(fields);
  if (typedFor === platformKey(here)) return undefined;
  const secret = here.authMode === 'user' ? 'password' : 'token';
  // No stored secret: nothing could go astray, and its absence is reported on its own.
  if (blank(credentials[secret])) return undefined;
  return new EraError(
    'ERA_INVALID_INPUT',
    `The stored ${secret} was typed for another URL, domain or mode, so it is not sent to this one: open the server's dialog, type the ${secret} again and deploy`,
  );
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.url === b.url && a.domain === b.domain && a.authMode === b.authMode;
}

const blank = (value: string | undefined): boolean => value === undefined || value === '' || value === UNCHANGED;

/**
 * Client options for the values in the dialog. Credentials the dialog left blank (Node-RED
 * never sends stored passwords to the editor) are taken from the deployed node with the same
 * id, but only while the dialog names the platform they were deployed for: a stored password
 * never goes to another host, domain or mode. Otherwise the answer asks for it to be typed
 * again, and nothing is sent. Throws EraError ERA_INVALID_INPUT as the config node would for
 * the same values.
 */
export function dialogClientOptions(RED: RedApi, request: unknown): EraClientOptions {
  const body = (request ?? {}) as DialogRequest;
  // A URL that cannot work says so first, before any question of secrets.
  checkedBaseUrl(body.url);
  const given = body.credentials ?? {};
  const asked = platformOf({ url: body.url, domain: body.domain, authMode: body.authMode });
  const secret = asked.authMode === 'user' ? 'password' : 'token';
  const stored = storedCredentials(RED, body.id, asked, blank(given[secret]) ? secret : undefined);
  const pick = (k: string) => (blank(given[k]) ? stored[k] : given[k]);
  const def: NodeDef = {
    id: body.id ?? 'test',
    type: 'era-server',
    url: body.url,
    domain: body.domain,
    authMode: body.authMode,
    verifyTls: body.verifyTls,
    ca: body.ca,
  };
  return clientOptions(def, { login: pick('login'), password: pick('password'), token: pick('token') }, tlsConfigOf(RED, body.tls));
}

/**
 * The deployed node's credentials when they were deployed for `asked`; none otherwise. When
 * the dialog needs the stored `secret` and it is kept for another platform, says so.
 */
function storedCredentials(RED: RedApi, id: string | undefined, asked: Platform, secret: string | undefined): Record<string, string | undefined> {
  if (!id) return {};
  const deployed = RED.nodes.getNode(id) as StoredServer | null;
  const credentials = RED.nodes.getCredentials?.(id) ?? deployed?.credentials ?? {};
  if (deployed?.storedFor !== undefined && samePlatform(deployed.storedFor, asked)) return credentials;
  if (secret !== undefined && !blank(credentials[secret])) {
    throw new EraError(
      'ERA_INVALID_INPUT',
      `The stored ${secret} belongs to the server as deployed; with another URL, domain or mode it is not sent: type the ${secret} again to test these settings`,
    );
  }
  return {};
}
