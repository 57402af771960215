/**
 * A fresh socket serves nothing until it is configured for the APIs it will use (`setup`)
 * and, on the user API, authorised in-band (`login`) — era-platform.md §2.3. This runs that
 * sequence on every new socket, after every reconnect, before any subscription.
 */
import { EraError } from '../errors';
import { PACKAGE_CAPABILITIES, SETUP_METHOD, WS_LOGIN_METHOD, capabilityResults, setupParams, type CapabilityResult } from '../protocol/setup';
import { isUnknownMethodReply, replyError } from '../protocol/replies';
import type { Session } from './session';
import type { JsonObject } from '../types';
import { messageOf } from '../util/text';

/** What the platform granted this connection, as the handshake found it. */
export interface ConnectionSetup {
  /** Per capability; undefined when the platform listed none (an older build without `setup`). */
  capabilities: Map<string, CapabilityResult> | undefined;
  /** False on a build that does not know `setup` (it answered with an error naming it). */
  setupKnown: boolean;
  /** Which socket login worked, on the user API. */
  login: 'session id' | 'password' | undefined;
}

/** The handshake failed. `final`: authentication failed for good (the session says why). */
export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly final: boolean,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

export interface HandshakeDeps {
  /** A request over the open socket, before it is ready for anything else. */
  request(method: string, params: JsonObject): Promise<JsonObject>;
  session: Session;
  redact(text: string): string;
  /** Said once per client (the same words are not repeated): the build does not know `setup`, a refused capability. */
  notice(msg: string): void;
}

/** What a refused capability costs the user, appended to its warning. */
const CAPABILITY_CONSEQUENCES = new Map([
  ['subscr', ': no call events will arrive until the account or integration point is allowed subscriptions'],
  ['callrecord', ': recording links are fetched over REST instead'],
  ['ccs', ': call-control methods over the WebSocket (era-request) will be refused; the action nodes use REST and are not affected'],
]);

/** Sets a fresh socket up, and says what each capability the platform refused will cost. */
export async function setUpConnection(deps: HandshakeDeps): Promise<ConnectionSetup> {
  const setup = await negotiate(deps);
  for (const [key, answer] of setup.capabilities ?? []) {
    if (!answer.ok) deps.notice(`The platform refused the "${key}" capability: ${deps.redact(answer.errormsg ?? 'refused')}${CAPABILITY_CONSEQUENCES.get(key) ?? ''}`);
  }
  return setup;
}

async function negotiate(deps: HandshakeDeps): Promise<ConnectionSetup> {
  const result: ConnectionSetup = { capabilities: undefined, setupKnown: true, login: undefined };
  let reply: JsonObject;
  try {
    reply = await deps.request(SETUP_METHOD, setupParams(PACKAGE_CAPABILITIES));
  } catch (err) {
    throw new HandshakeError(err instanceof EraError && err.code === 'ERA_TIMEOUT'
      ? `no answer to the connection setup: ${messageOf(err)}`
      : `the connection setup failed: ${messageOf(err)}`, false);
  }
  const refused = replyError(reply, true);
  if (refused === undefined) {
    result.capabilities = capabilityResults(reply);
  } else if (isUnknownMethodReply(refused, SETUP_METHOD)) {
    result.setupKnown = false;
    deps.notice(`This Era version does not know the WebSocket method "setup" (${deps.redact(refused.message)}); going on without it`);
  } else {
    throw new HandshakeError(`the platform refused the connection setup: ${deps.redact(refused.message)}`, false);
  }

  let logins;
  try {
    logins = await deps.session.socketLogins();
  } catch (err) {
    throw notLoggedIn(deps, err);
  }
  for (let i = 0; i < logins.length; i++) {
    const login = logins[i]!;
    let attempt;
    try {
      attempt = await login.begin();
    } catch (err) {
      throw notLoggedIn(deps, err);
    }
    if (attempt === undefined) continue;
    let answer: JsonObject;
    try {
      answer = await deps.request(WS_LOGIN_METHOD, login.params);
    } catch (err) {
      attempt.unanswered();
      throw new HandshakeError(`the WebSocket login failed: ${messageOf(err)}`, false);
    }
    const error = replyError(answer, true);
    if (error !== undefined && isUnknownMethodReply(error, WS_LOGIN_METHOD)) {
      attempt.unanswered();
      deps.notice(`This Era version does not know the WebSocket method "login" (${deps.redact(error.message)}); going on without it`);
      return result;
    }
    const last = i === logins.length - 1;
    if (error === undefined) {
      attempt.answered(undefined, last);
      // Before the login, `setup` says "ok" for everything; the login's answer has the real list.
      result.capabilities = capabilityResults(answer) ?? result.capabilities;
      result.login = login.form;
      return result;
    }
    const verdict = attempt.answered(error.message, last);
    const words = `the platform refused the WebSocket login: ${deps.redact(error.message)}`;
    // A ban is no verdict on the password: the other form would only be refused the same way.
    if (verdict === 'banned') throw new HandshakeError(deps.session.banRefusal()?.message ?? words, false);
    if (last) throw new HandshakeError(deps.session.failure?.message ?? words, true);
  }
  return result;
}

/** A socket login that could not go (a ban, no room in the ban budget, the password refused): final only when the session says so. */
function notLoggedIn(deps: HandshakeDeps, err: unknown): HandshakeError {
  if (deps.session.failure) return new HandshakeError(deps.session.failure.message, true);
  return new HandshakeError(messageOf(err), false);
}

/** Whether `key` is granted: a capability the platform did not list is assumed granted. */
export function granted(setup: ConnectionSetup | undefined, key: string): boolean {
  return setup?.capabilities?.get(key)?.ok ?? true;
}

/** The platform's words for a refused capability, or undefined when it is granted. */
export function refusal(setup: ConnectionSetup | undefined, key: string): string | undefined {
  const answer = setup?.capabilities?.get(key);
  return answer === undefined || answer.ok ? undefined : answer.errormsg ?? 'refused';
}
