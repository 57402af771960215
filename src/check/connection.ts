/**
 * The socket's steps: the upgrade, `setup`, the socket `login` and `subscribe`, which the
 * client runs by itself when something listens. The report starts a listener, waits for the
 * client to say connected (or why not), and reads each step's outcome from the frames the
 * recorder saw and from what the client made of them (`connectionSetup`).
 */
import { type CapabilityResult, capabilityResults, type ClientState, type EraClient, type EraEvent, isObject, type JsonObject, type ListenHandle } from '../era';
import { judged, message, refusalIn, result, seconds, undocumentedError, type CheckContext, type StepResult } from './context';
import type { WsExchange } from './recorder';
import { describeFields, shownName } from './shapes';

/** What the listen patterns ask for: every event of both documented classes. */
export const CHECK_EVENTS: readonly string[] = ['callevents.*', 'ccsevents.*'];

export type SocketOutcome = { connected: true } | { connected: false; state: ClientState; detail: string };

/**
 * Starts listening and resolves once the client is connected (set up and logged in) or has said
 * why not. The client would keep trying: the report takes its first answer.
 */
export function openSocket(client: EraClient, onEvent: (ev: EraEvent) => void, timeoutMs: number): { handle: ListenHandle | undefined; outcome: Promise<SocketOutcome> } {
  let handle: ListenHandle | undefined;
  let settle: (outcome: SocketOutcome) => void = () => undefined;
  const outcome = new Promise<SocketOutcome>((resolve) => {
    const timer = setTimeout(() => settle({ connected: false, state: client.state, detail: `not connected within ${seconds(timeoutMs)}` }), timeoutMs);
    const onState = (state: ClientState, detail?: string): void => {
      if (state === 'connected') settle({ connected: true });
      else if (state === 'disconnected' || state === 'auth_failed') settle({ connected: false, state, detail: detail ?? state });
    };
    settle = (value) => {
      clearTimeout(timer);
      client.off('state', onState);
      resolve(value);
    };
    client.on('state', onState);
  });
  try {
    handle = client.listen({ events: CHECK_EVENTS }, onEvent);
  } catch (err) {
    settle({ connected: false, state: client.state, detail: message(err) });
  }
  return { handle, outcome };
}

function upgradeHint(statusCode: number): string {
  if (statusCode === 401) return 'the platform refused the session on the upgrade';
  if (statusCode === 403) return 'refused: a ban after failed logins, or the account may not use the WebSocket API';
  if (statusCode === 404) return 'no WebSocket endpoint at this path: a proxy in front of Era that does not pass WebSocket upgrades on?';
  return 'the upgrade was refused';
}

export function upgradeStep(ctx: CheckContext, outcome: SocketOutcome): StepResult {
  const upgrades = ctx.recorder.upgrades;
  const last = upgrades[upgrades.length - 1];
  if (last === undefined) {
    return result('fail', outcome.connected ? 'the client connected without an upgrade the report saw' : `no upgrade attempted: ${ctx.scrub.words(outcome.detail)}`);
  }
  const details = upgrades.length > 1 ? [`${upgrades.length} attempts: ${upgrades.map((u) => u.statusCode ?? 'network error').join(', ')} (a 401 is followed by one fresh login)`] : [];
  if (last.statusCode === 101) return result('pass', `${last.path}: HTTP 101`, details);
  if (last.statusCode !== undefined) return result('fail', `${last.path}: HTTP ${last.statusCode}`, [...details, upgradeHint(last.statusCode)]);
  const why = outcome.connected ? last.error ?? 'network error' : outcome.detail;
  return result('fail', `${last.path}: ${ctx.scrub.words(why)}`, details);
}

/** `subscr ok, ccs ok, callrecord refused: <words>` */
function capabilityLine(ctx: CheckContext, results: ReadonlyMap<string, CapabilityResult>): string {
  return [...results].map(([key, r]) => (r.ok ? `${shownName(key)} ok` : `${shownName(key)} refused: ${ctx.scrub.words(r.errormsg ?? '(no errormsg)')}`)).join(', ');
}

/** Whether a reply lists its capabilities as documented (`{key, result}` objects) or as bare names. */
function capabilityForm(reply: JsonObject): 'objects' | 'names' | 'mixed' | 'none' {
  const list = reply.capabilities;
  if (!Array.isArray(list) || list.length === 0) return 'none';
  const objects = list.filter(isObject).length;
  return objects === list.length ? 'objects' : objects === 0 ? 'names' : 'mixed';
}

/** Refused capabilities that came without the platform's words. */
function capabilitiesWithoutWords(reply: JsonObject): string[] {
  const list = Array.isArray(reply.capabilities) ? reply.capabilities : [];
  return list
    .filter((item): item is JsonObject => isObject(item) && item.result !== undefined && item.result !== 'ok' && !(typeof item.errormsg === 'string' && item.errormsg !== ''))
    .map((item) => shownName(String(item.key)));
}

function firstAnswered(exchanges: WsExchange[]): WsExchange | undefined {
  return exchanges.find((e) => e.reply !== undefined) ?? exchanges[0];
}

export function setupStep(ctx: CheckContext, outcome: SocketOutcome): StepResult {
  const setup = firstAnswered(ctx.recorder.sentOf('setup'));
  const known = ctx.client.connectionSetup;
  if (setup === undefined) return result('fail', outcome.connected ? 'the client sent no setup' : `no setup sent: ${ctx.scrub.words(outcome.detail)}`);
  if (setup.reply === undefined) return result('fail', outcome.connected ? 'no answer to setup' : ctx.scrub.words(outcome.detail));
  const reply = setup.reply;
  const differences: string[] = [];
  const details: string[] = [];
  const refused = refusalIn(reply, true, ctx.scrub);
  if (refused !== undefined) {
    if (!refused.documented) differences.push(undocumentedError('setup'));
    if (outcome.connected && known?.setupKnown === false) {
      differences.unshift(`this build does not know setup ("${refused.words}"): the client goes on without it, every capability taken as granted`);
      return result('differs', 'this build does not know setup', differences.map((d) => `differs: ${d}`));
    }
    return result('fail', `setup refused as a whole: ${refused.words}`, differences.map((d) => `differs: ${d}`));
  }
  const answered = capabilityResults(reply);
  // On the user API setup comes before the login and says "ok" to everything; login_result has the real list.
  const final = known?.capabilities ?? answered;
  const form = capabilityForm(reply);
  details.push(form === 'none' ? 'the reply lists no capabilities: the client takes them all as granted' : `setup_result lists capabilities as ${form === 'objects' ? '{key, result} objects' : form === 'names' ? 'bare names' : 'objects and names'}`);
  if (ctx.authMode === 'user' && answered !== undefined) details.push(`setup_result, before the socket login: ${capabilityLine(ctx, answered)}; the granted list is login_result's`);
  const silent = capabilitiesWithoutWords(reply);
  if (silent.length > 0) differences.push(`setup_result: ${silent.join(', ')} refused without errormsg`);
  const subscr = final?.get('subscr');
  const failed = subscr !== undefined && !subscr.ok;
  if (failed) details.push('without subscr no call event can arrive: the account (or integration point) needs the right to subscribe to events');
  if (final?.get('callrecord')?.ok === false) details.push('callrecord refused: recording links are fetched over REST instead');
  for (const difference of differences) details.push(`differs: ${difference}`);
  return result(judged(failed, differences), final === undefined ? 'accepted; no capability listed' : capabilityLine(ctx, final), details);
}

export function socketLoginStep(ctx: CheckContext, outcome: SocketOutcome): StepResult {
  if (ctx.authMode === 'token') return result('skipped', 'the token API has no socket login (the token authorises the connection)');
  const logins = ctx.recorder.sentOf('login');
  if (logins.length === 0) return result('fail', outcome.connected ? 'the client sent no socket login' : `no socket login sent: ${ctx.scrub.words(outcome.detail)}`);
  const differences: string[] = [];
  const details: string[] = [];
  let worked: WsExchange | undefined;
  for (const login of logins) {
    const form = login.requestKeys.includes('rsessionid') ? 'session id (rsessionid)' : 'password (login, pwd, td)';
    if (login.reply === undefined) {
      details.push(`${form}: no answer`);
      continue;
    }
    const refused = refusalIn(login.reply, true, ctx.scrub);
    if (refused === undefined) {
      details.push(`${form}: accepted`);
      worked = login;
      break;
    }
    details.push(`${form}: refused: ${refused.words}`);
    if (!refused.documented) differences.push(undocumentedError('login'));
  }
  if (worked?.reply === undefined) {
    if (outcome.connected && ctx.client.connectionSetup?.login === undefined) {
      differences.unshift('this build does not know the WebSocket login: the client goes on without it');
      return result('differs', 'this build does not know login', [...details, ...differences.map((d) => `differs: ${d}`)]);
    }
    const last = logins[logins.length - 1]!.reply;
    const words = last === undefined ? undefined : refusalIn(last, true, ctx.scrub)?.words;
    const summary = words !== undefined ? `refused: ${words}` : outcome.connected ? 'no socket login worked' : ctx.scrub.words(outcome.detail);
    return result('fail', summary, [...details, ...differences.map((d) => `differs: ${d}`)]);
  }
  const reply = worked.reply;
  if (worked !== logins[0]) differences.push('the session id form (rsessionid) was refused; the password form worked');
  const granted = capabilityResults(reply);
  const form = capabilityForm(reply);
  if (form === 'none') differences.push('login_result lists no capabilities (documented: the granted list, as {key, result} objects)');
  else if (form !== 'objects') differences.push(`login_result lists capabilities as ${form === 'names' ? 'bare names' : 'objects and names'} (documented: {key, result} objects)`);
  const silent = capabilitiesWithoutWords(reply);
  if (silent.length > 0) differences.push(`login_result: ${silent.join(', ')} refused without errormsg`);
  const fields = { ...reply };
  delete fields.qid;
  details.push(`login_result fields: ${describeFields(fields)}`);
  for (const difference of differences) details.push(`differs: ${difference}`);
  const usedForm = worked.requestKeys.includes('rsessionid') ? 'session id (rsessionid)' : 'password';
  return result(judged(false, differences), `${usedForm} accepted${granted === undefined ? '' : `; ${capabilityLine(ctx, granted)}`}`, details);
}

export async function subscribeStep(ctx: CheckContext): Promise<StepResult> {
  const subscr = ctx.client.connectionSetup?.capabilities?.get('subscr');
  if (subscr !== undefined && !subscr.ok) return result('skipped', 'subscr was refused at setup: the client sends no subscribe');
  const answered = await ctx.recorder.replyTo('subscribe', ctx.timeoutMs);
  const sent = answered ?? ctx.recorder.sentOf('subscribe')[0];
  if (sent === undefined) return result('fail', 'the client sent no subscribe');
  const asked = sent.expiresAsked;
  const details = [`events asked: ${CHECK_EVENTS.join(', ')}${asked === undefined ? '' : `, for ${asked} s`}`];
  if (answered?.reply === undefined) return result('fail', `no answer to subscribe within ${seconds(ctx.timeoutMs)}`, details);
  const reply = answered.reply;
  const refused = refusalIn(reply, false, ctx.scrub);
  const differences = refused !== undefined && !refused.documented ? [undocumentedError('subscribe')] : [];
  const fields = { ...reply };
  delete fields.qid;
  details.push(`subscribe_result fields: ${describeFields(fields)}`);
  for (const difference of differences) details.push(`differs: ${difference}`);
  if (refused !== undefined) return result('fail', `refused: ${refused.words}`, details);
  const granted = typeof reply.expires === 'number' ? reply.expires : undefined;
  const summary = granted === undefined
    ? `accepted; no expires in the reply (the client renews on the ${asked ?? '?'} s it asked for)`
    : `granted ${granted} s${asked !== undefined && asked !== granted ? ` (asked ${asked} s)` : ''}`;
  return result(judged(false, differences), summary, details);
}
