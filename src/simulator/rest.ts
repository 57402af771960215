/**
 * The platform's REST API (era-platform.md §2, §6, §7): login and session, call control on
 * `/rest/v1/uc/calls` with the platform's own method tokens, conferences, and recordings.
 */
import type { Auth, Principal } from './auth';
import { restView, type CallModel, type CallRecord } from './calls';
import { badRequest, notFound, SimError } from './errors';
import type { FaultState } from './faults';
import type { HttpReply, HttpRequest } from './http';
import type { Recordings } from './recordings';
import { errorReply, json, jsonBody, methodNotAllowed, routePath, segment, type JsonObject } from './reply';
import type { WebhookHub } from './webhooks';

export interface RestDeps {
  auth: Auth;
  calls: CallModel;
  recordings: Recordings;
  faults: FaultState;
  /** Only the documented `session_type` is accepted (era-platform.md §2.1). */
  strict: boolean;
  webhooks: WebhookHub;
}

const LOGIN_PATH = '/rest/v1/iam/sessions';
const CURRENT_SESSION = '/rest/v1/iam/sessions/current';
const CALLS = '/rest/v1/uc/calls';
const CONFERENCES = '/rest/v1/uc/conferences';
const CALLRECORDS = '/api/admin/v1/callrecords';
const WEBHOOKS = '/rest/v1/service/webhooks';
const TEMP = '/temp/';

const COLLECTION_METHODS = ['GET', 'POST', 'INVITE', 'INVITEBYIVR', 'LOOKUP'] as const;
const CALL_METHODS = ['GET', 'REFER', 'REFERREPLACES', 'SWITCHCONF', 'REFERCONF', 'NOTIFY', 'SEND_DTMF', 'SETUP_RECORD', 'DELETE'] as const;
const OK = { result: 'ok' };

export const isLogin = (req: HttpRequest): boolean => req.method === 'POST' && routePath(req.path) === LOGIN_PATH;

/** Answer one REST request (the ban and injected faults are handled before this). */
export function handleRest(deps: RestDeps, req: HttpRequest): HttpReply {
  try {
    return route(deps, req);
  } catch (err) {
    return errorReply(err);
  }
}

function route(deps: RestDeps, req: HttpRequest): HttpReply {
  const path = routePath(req.path);
  if (path.startsWith(TEMP)) return download(deps, req, path);
  if (path === LOGIN_PATH) return req.method === 'POST' ? login(deps, req) : methodNotAllowed(['POST']);

  const principal = deps.auth.authenticate(req.headers, req.remoteAddress);
  if (!principal) throw new SimError(401, 'unauthorized', 'no valid session or token');

  if (path === CURRENT_SESSION) return currentSession(deps, req, principal);
  if (path === CALLS) return callCollection(deps, req);
  if (path.startsWith(`${CALLS}/`) && !path.slice(CALLS.length + 1).includes('/')) {
    return oneCall(deps, req, segment(path.slice(CALLS.length + 1)));
  }
  if (path.startsWith(CONFERENCES)) return conferences(deps, req, path.slice(CONFERENCES.length));
  if (path === CALLRECORDS) return req.method === 'GET' ? callRecordLink(deps, req) : methodNotAllowed(['GET']);
  if (path === WEBHOOKS || path.startsWith(`${WEBHOOKS}/`)) return webhooks(deps, req, principal, path.slice(WEBHOOKS.length));
  throw notFound(`no such resource: ${req.path}`);
}

function login(deps: RestDeps, req: HttpRequest): HttpReply {
  const { domain, login: name, pwd, session_type: sessionType } = jsonBody(req);
  if (deps.strict && sessionType !== undefined && sessionType !== 'token') {
    // Checked before the credentials: a request the server cannot read is not a failed login.
    const shown = typeof sessionType === 'string' ? sessionType : JSON.stringify(sessionType);
    return json(400, { result: 'error', errormsg: `unknown session_type ${shown}` });
  }
  const session = deps.auth.openSession({ domain, login: name, pwd }, req.remoteAddress);
  const info = { session_id: session.id, domain: session.domain, login: session.login };
  if (sessionType !== undefined && sessionType !== null && sessionType !== '') return json(200, { session_token: session.token, ...info });
  return json(200, info, { 'Set-Cookie': `${deps.auth.sessionCookie}=${session.token}; Path=/; HttpOnly` });
}

function currentSession(deps: RestDeps, req: HttpRequest, principal: Principal): HttpReply {
  if (req.method === 'GET') {
    if (principal.kind === 'token') return json(200, { ownertype: 'token', domain: deps.auth.domain });
    const { session } = principal;
    return json(200, { ownertype: 'user', session_id: session.id, domain: session.domain, login: session.login, createdts: session.createdts });
  }
  if (req.method === 'DELETE') {
    if (principal.kind === 'user') deps.auth.logout(principal.session);
    return json(200, OK);
  }
  return methodNotAllowed(['GET', 'DELETE']);
}

function callCollection(deps: RestDeps, req: HttpRequest): HttpReply {
  const { calls } = deps;
  switch (req.method) {
    case 'GET': {
      const offset = queryInt(req, 'offset') ?? 0;
      const limit = queryInt(req, 'limit');
      const list = calls.activeCalls().slice(offset, limit === undefined ? undefined : offset + limit);
      return json(200, list.map(restView));
    }
    case 'POST':
    case 'INVITE': {
      const { from, to } = jsonBody(req);
      return json(200, { id: calls.start({ from, to }).id });
    }
    case 'INVITEBYIVR': {
      const { to, ivr } = jsonBody(req);
      if ((typeof ivr !== 'string' && typeof ivr !== 'number') || ivr === '') throw badRequest('"ivr" must name an IVR scenario');
      return json(200, { id: calls.start({ from: String(ivr), to, dir: 'out', fromusername: `IVR ${ivr}` }).id });
    }
    case 'LOOKUP': {
      const { key } = jsonBody(req);
      if ((typeof key !== 'string' && typeof key !== 'number') || key === '') throw badRequest('"key" must be a call key');
      const call = calls.lookup(String(key));
      if (!call) throw notFound(`no active call with key ${key}`);
      return json(200, { id: call.id });
    }
    default:
      return methodNotAllowed(COLLECTION_METHODS);
  }
}

function oneCall(deps: RestDeps, req: HttpRequest, id: string): HttpReply {
  const { calls } = deps;
  if (!(CALL_METHODS as readonly string[]).includes(req.method)) return methodNotAllowed(CALL_METHODS);
  const body: JsonObject = req.method === 'GET' || req.method === 'DELETE' ? {} : jsonBody(req);
  const call: CallRecord = calls.activeCall(id);
  switch (req.method) {
    case 'GET':
      return json(200, restView(call));
    case 'REFER':
      calls.refer(call, body.to, body.idcall);
      return json(200, OK);
    case 'REFERREPLACES':
      calls.referReplaces(call, body.replaces, body.idcall);
      return json(200, OK);
    case 'SWITCHCONF':
      return json(200, { conference: calls.switchConference(call) });
    case 'REFERCONF':
      calls.joinConference(call, body.conference);
      return json(200, OK);
    case 'NOTIFY':
      calls.notify(call, body.event, body.idcall);
      return json(200, OK);
    case 'SEND_DTMF':
      calls.dtmf(call, body.dtmf, body.idcall, 'b');
      return json(200, OK);
    case 'SETUP_RECORD':
      calls.setupRecord(call, body.record);
      return json(200, OK);
    default:
      calls.hangup(call, 'bye');
      return json(200, OK);
  }
}

function conferences(deps: RestDeps, req: HttpRequest, rest: string): HttpReply {
  const { calls } = deps;
  if (rest === '') return req.method === 'GET' ? json(200, calls.conferenceList()) : methodNotAllowed(['GET']);
  const parts = rest.slice(1).split('/');
  if (!rest.startsWith('/') || parts.length > 2) throw notFound(`no such resource: ${req.path}`);
  const id = segment(parts[0] ?? '');
  // The platform's documentation spells this sub-resource "paticipants".
  if (parts.length === 2) {
    if (parts[1] !== 'paticipants') throw notFound(`no such resource: ${req.path}`);
    return req.method === 'GET' ? json(200, calls.conference(id).participants) : methodNotAllowed(['GET']);
  }
  if (req.method === 'GET') return json(200, calls.conference(id));
  if (req.method === 'DELETE') {
    calls.endConference(id);
    return json(200, OK);
  }
  return methodNotAllowed(['GET', 'DELETE']);
}

function callRecordLink(deps: RestDeps, req: HttpRequest): HttpReply {
  const key = req.query.get('key');
  if (!key) throw badRequest('query parameter "key" is required');
  return json(200, { url: deps.recordings.link(key) });
}

/** Webhooks belong to an integration channel: only its token may manage them (§8a). */
function webhooks(deps: RestDeps, req: HttpRequest, principal: Principal, rest: string): HttpReply {
  if (principal.kind !== 'token') throw new SimError(403, 'forbidden', 'webhooks are managed with the token of an integration channel of type subscr, not a user session');
  if (rest === '') return req.method === 'POST' ? json(200, deps.webhooks.create(jsonBody(req))) : methodNotAllowed(['POST']);
  if (rest.slice(1).includes('/')) throw notFound(`no such resource: ${req.path}`);
  const id = segment(rest.slice(1));
  switch (req.method) {
    case 'GET':
      return json(200, deps.webhooks.get(id));
    case 'PUT':
      return json(200, deps.webhooks.update(id, jsonBody(req)));
    case 'DELETE':
      deps.webhooks.remove(id);
      return json(200, OK);
    default:
      return methodNotAllowed(['GET', 'PUT', 'DELETE']);
  }
}

/** Temporary recording links need no authorisation; they only live for a while. */
function download(deps: RestDeps, req: HttpRequest, path: string): HttpReply {
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(['GET', 'HEAD']);
  const audio = deps.faults.takeRecordingNotReady() ? undefined : deps.recordings.download(path);
  if (!audio) throw notFound('no such file, or the link has expired');
  return { status: 200, headers: { 'Content-Type': 'audio/mpeg' }, body: audio };
}

function queryInt(req: HttpRequest, name: string): number | undefined {
  const raw = req.query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`"${name}" must be a non-negative integer`);
  return Number(raw);
}
