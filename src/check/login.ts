/**
 * The login step: the client's own "Test connection" (a REST login and a probe of the session
 * in user mode, a token-authorised request in token mode), read back from the exchanges the
 * recorder saw: the status, and which session credential came back — by name only.
 */
import { errorBodyText, isBanAnswer, isObject, PATHS } from '../era';
import { judged, result, type CheckContext, type StepResult } from './context';
import { SESSION_COOKIES } from './documented';
import type { HttpSeen } from './recorder';
import { describeFields, shownName } from './shapes';

/** What each refusal of a login most likely means, for the person reading the report. */
function loginHint(res: HttpSeen): string {
  if (isBanAnswer(res.statusCode, res.body)) return 'the address is banned after failed logins, or the account may not log in here: wait a few minutes before trying again';
  if (res.statusCode === 401) return 'wrong login, password or domain';
  if (res.statusCode === 404) return 'nothing answers the Era login at this address: is it the Era web server (not a proxy\'s default page, not another service)?';
  if (res.statusCode === 400) return 'the platform did not accept the login request';
  return 'the platform refused the login';
}

/** The names of the cookies a response set. */
function cookieNames(res: HttpSeen): string[] {
  const header = res.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((line) => (line.split(';', 1)[0] ?? '').split('=', 1)[0]?.trim() ?? '').filter((name) => name !== '').map(shownName);
}

/** The platform's words in an error body, if it had any. */
function platformWords(ctx: CheckContext, res: HttpSeen): string {
  const words = ctx.scrub.words(errorBodyText(res.body));
  return words === '' ? '' : `: ${words}`;
}

function userLogin(ctx: CheckContext, message: string, ok: boolean): StepResult {
  const exchanges = ctx.recorder.rest;
  const login = exchanges.find((e) => e.method === 'POST' && e.path === PATHS.sessions);
  if (login === undefined) return result('fail', ctx.scrub.words(message));
  if (login.statusCode < 200 || login.statusCode >= 300) {
    return result('fail', `POST ${PATHS.sessions}: HTTP ${login.statusCode}${platformWords(ctx, login)}`, [loginHint(login)]);
  }
  const body = isObject(login.body) ? login.body : undefined;
  const token = typeof body?.session_token === 'string' && body.session_token !== '';
  const cookies = cookieNames(login);
  const idField = body === undefined ? undefined : ['session_id', 'sessionid', 'id'].find((k) => typeof body[k] === 'string' || typeof body[k] === 'number');
  const differences: string[] = [];
  const details: string[] = [`answer fields: ${body === undefined ? '(not a JSON object)' : describeFields(body)}`];
  if (cookies.length > 0) details.push(`cookies set: ${cookies.join(', ')}`);
  if (!token && cookies.length === 0) {
    return result('fail', `POST ${PATHS.sessions}: HTTP ${login.statusCode} without a session_token and without a session cookie`, details);
  }
  if (!token) {
    differences.push('session_type "token" was answered with a cookie only (documented: session_token in the body)');
    if (!cookies.some((name) => SESSION_COOKIES.includes(name))) details.push(`none of the cookies is named ${SESSION_COOKIES.join(' or ')} as documented; the client keeps them all`);
  }
  const credential = token ? `session_token in the body${cookies.length > 0 ? ` and cookie ${cookies.join(', ')}` : ''}` : `cookie ${cookies.join(', ')}`;
  details.push(idField === undefined ? 'no session id field (the socket login uses the session token or cookie instead)' : `session id in ${idField}`);
  const line = `POST ${PATHS.sessions}: HTTP ${login.statusCode}, ${credential}`;
  if (!ok) {
    const probe = exchanges.find((e) => e.method === 'GET' && e.path === PATHS.currentSession);
    if (probe === undefined || !(probe.statusCode === 404 || probe.statusCode === 405 || probe.statusCode === 501)) {
      return result('fail', `${line}, but the session does not work: ${ctx.scrub.words(message)}`, details);
    }
    differences.push(`GET ${PATHS.currentSession} answered HTTP ${probe.statusCode} (documented: the current session)`);
  }
  for (const difference of differences) details.push(`differs: ${difference}`);
  return result(judged(false, differences), line, details);
}

function tokenLogin(ctx: CheckContext, message: string, ok: boolean): StepResult {
  const probe = ctx.recorder.rest.find((e) => e.path === PATHS.calls);
  if (probe === undefined) return result('fail', ctx.scrub.words(message));
  const line = `GET ${PATHS.calls} with the token: HTTP ${probe.statusCode}`;
  if (ok) return result('pass', line);
  const hint = probe.statusCode === 401 ? 'the token was refused: check the integration point\'s token_local'
    : probe.statusCode === 403 ? 'the integration point lacks a role this API needs (mware, callstore)'
      : probe.statusCode === 404 ? 'nothing answers the Era API at this address: is it the Era web server?'
        : 'the platform refused the request';
  return result('fail', `${line}${platformWords(ctx, probe)}`, [hint]);
}

export async function loginStep(ctx: CheckContext): Promise<StepResult> {
  const { ok, message } = await ctx.client.testConnection();
  return ctx.authMode === 'user' ? userLogin(ctx, message, ok) : tokenLogin(ctx, message, ok);
}
