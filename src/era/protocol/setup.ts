/**
 * A socket's connection setup and in-band login (era-platform.md §2.3): the `setup` request
 * ([M] shape), the two `login` forms, and the capabilities a reply grants or refuses.
 */
import type { JsonObject } from '../types';
import { replyError } from './replies';
import { isObject } from './values';

export const SETUP_METHOD = 'setup';
export const WS_LOGIN_METHOD = 'login';

/** The capabilities the package asks for: events, call control over the socket, recording links. */
export const PACKAGE_CAPABILITIES = ['subscr', 'ccs', 'callrecord'] as const;
export type Capability = (typeof PACKAGE_CAPABILITIES)[number];

export function setupParams(capabilities: readonly string[]): JsonObject {
  return { capabilities: capabilities.map((key) => ({ key })) };
}

export function wsLoginBySession(sessionId: string): JsonObject {
  return { rsessionid: sessionId };
}

/** Older builds read the domain from `domain` instead of `td`: both are sent, so either reads it. */
export function wsLoginByPassword(domain: string, login: string, password: string): JsonObject {
  return { login, pwd: password, td: domain, domain };
}

/** One capability's answer: granted, or refused with the platform's words. */
export interface CapabilityResult {
  ok: boolean;
  errormsg?: string;
}

/**
 * The per-capability results of a `setup_result` or `login_result`, undefined when the reply
 * lists none. Entries are `{key, result, errormsg}` objects or bare names (granted).
 */
export function capabilityResults(params: JsonObject): Map<string, CapabilityResult> | undefined {
  const list = params.capabilities;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out = new Map<string, CapabilityResult>();
  for (const item of list) {
    if (typeof item === 'string' && item !== '') {
      out.set(item, { ok: true });
    } else if (isObject(item) && typeof item.key === 'string' && item.key !== '') {
      const failure = replyError(item, true);
      out.set(item.key, failure === undefined ? { ok: true } : { ok: false, errormsg: failure.message });
    }
  }
  return out.size === 0 ? undefined : out;
}
