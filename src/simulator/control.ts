/**
 * The control API under `/_sim/` (docs/ARCHITECTURE.md, "The simulator"): drive calls as their
 * parties would, inject faults, read the request log, and run bursts. JSON in and out.
 */
import { badRequest, notFound } from './errors';
import type { HttpReply, HttpRequest } from './http';
import type { Simulator } from './index';
import { errorReply, json, jsonBody, methodNotAllowed, routePath, segment, type JsonObject } from './reply';
import type { CallDir, SendToSocketsOptions, StartCallOptions } from './types';

const DIRS: readonly CallDir[] = ['in', 'out', 'local'];

/** `GET /_sim/` lists what is here, for someone exploring the demo with curl. */
const ROUTES = [
  'POST /_sim/calls {from, to, dir?, record?, answer?, group?: [phone], queue?: [phone], ringMs?}',
  'GET /_sim/calls',
  'GET /_sim/calls/<id>',
  'POST /_sim/calls/<id>/answer {by?}',
  'POST /_sim/calls/<id>/next {ring?}',
  'POST /_sim/calls/<id>/pickup {by}',
  'POST /_sim/calls/<id>/hangup {reason?}',
  'POST /_sim/calls/<id>/dtmf {digits, leg?}',
  'GET|DELETE /_sim/requests',
  'GET /_sim/subscriptions',
  'GET|POST|DELETE /_sim/faults',
  'POST /_sim/ws/send {raw?, frame?, size?}',
  'POST /_sim/drop {code?}',
  'POST /_sim/expire-sessions',
  'POST /_sim/reset',
  'POST /_sim/burst {calls, answer?}',
  'GET|DELETE /_sim/webhooks',
];

export async function handleControl(sim: Simulator, req: HttpRequest): Promise<HttpReply> {
  try {
    return await route(sim, req, routePath(req.path).slice('/_sim'.length));
  } catch (err) {
    return errorReply(err);
  }
}

async function route(sim: Simulator, req: HttpRequest, path: string): Promise<HttpReply> {
  const m = req.method;
  const body = (): JsonObject => jsonBody(req);
  switch (path) {
    case '':
      return m === 'GET' ? json(200, { routes: ROUTES }) : methodNotAllowed(['GET']);
    case '/calls':
      if (m === 'GET') return json(200, sim.listCalls());
      if (m === 'POST') return json(200, sim.startCall(startCallOptions(body())));
      return methodNotAllowed(['GET', 'POST']);
    case '/requests':
      if (m === 'GET') return json(200, sim.requests());
      if (m === 'DELETE') {
        sim.clearRequests();
        return json(200, { result: 'ok' });
      }
      return methodNotAllowed(['GET', 'DELETE']);
    case '/subscriptions':
      return m === 'GET' ? json(200, sim.subscriptions()) : methodNotAllowed(['GET']);
    case '/faults':
      if (m === 'GET') return json(200, sim.faults);
      if (m === 'POST') {
        sim.setFaults(body());
        return json(200, sim.faults);
      }
      if (m === 'DELETE') {
        sim.clearFaults();
        return json(200, sim.faults);
      }
      return methodNotAllowed(['GET', 'POST', 'DELETE']);
    case '/ws/send':
      return m === 'POST' ? json(200, { sent: sim.sendToSockets(sendOptions(body())) }) : methodNotAllowed(['POST']);
    case '/drop':
      return m === 'POST' ? json(200, { dropped: sim.dropSockets(closeCode(body())) }) : methodNotAllowed(['POST']);
    case '/expire-sessions':
      if (m !== 'POST') return methodNotAllowed(['POST']);
      sim.expireSessions();
      return json(200, { result: 'ok' });
    case '/webhooks':
      if (m === 'GET') return json(200, { registrations: sim.webhookRegistrations(), deliveries: sim.webhookStats });
      if (m === 'DELETE') {
        sim.forgetWebhooks();
        return json(200, { result: 'ok' });
      }
      return methodNotAllowed(['GET', 'DELETE']);
    case '/reset':
      if (m !== 'POST') return methodNotAllowed(['POST']);
      sim.reset();
      return json(200, { result: 'ok' });
    case '/burst': {
      if (m !== 'POST') return methodNotAllowed(['POST']);
      const { calls, answer } = body();
      if (typeof calls !== 'number') throw badRequest('"calls" must be a number');
      if (answer !== undefined && typeof answer !== 'boolean') throw badRequest('"answer" must be a boolean');
      return json(200, await sim.burst({ calls, ...(answer !== undefined && { answer }) }));
    }
  }
  const action = /^\/calls\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (!action) throw notFound(`no control resource ${req.path}`);
  const id = segment(action[1] ?? '');
  const verb = action[2];
  if (verb === undefined) return m === 'GET' ? json(200, sim.getCall(id)) : methodNotAllowed(['GET']);
  if (m !== 'POST') return methodNotAllowed(['POST']);
  const params = body();
  switch (verb) {
    case 'answer':
      return json(200, sim.answerCall(id, params.by === undefined ? {} : { by: phoneParam(params.by, '"by" must be the number of the phone that answers') }));
    case 'next':
      if (params.ring !== undefined && typeof params.ring !== 'boolean') throw badRequest('"ring" must be a boolean');
      return json(200, sim.nextPhone(id, params.ring === undefined ? {} : { ring: params.ring }));
    case 'pickup':
      return json(200, sim.pickupCall(id, phoneParam(params.by, '"by" must be the number of the phone that picks up')));
    case 'hangup':
      if (params.reason !== undefined && typeof params.reason !== 'string') throw badRequest('"reason" must be a string');
      return json(200, sim.hangupCall(id, params.reason));
    case 'dtmf':
      if (typeof params.digits !== 'string') throw badRequest('"digits" must be a string');
      if (params.leg !== undefined && typeof params.leg !== 'string') throw badRequest('"leg" must be "a", "b" or a leg Call-Id');
      return json(200, sim.pressDtmf(id, params.digits, params.leg));
    default:
      throw notFound(`no control action ${verb}`);
  }
}

function startCallOptions(b: JsonObject): StartCallOptions {
  const { from, to, dir, record, answer, group, queue, ringMs } = b;
  if (dir !== undefined && !DIRS.includes(dir as CallDir)) throw badRequest('"dir" must be in, out or local');
  if (record !== undefined && typeof record !== 'boolean') throw badRequest('"record" must be a boolean');
  if (answer !== undefined && typeof answer !== 'boolean') throw badRequest('"answer" must be a boolean');
  if (ringMs !== undefined && typeof ringMs !== 'number') throw badRequest('"ringMs" must be a number of milliseconds');
  return {
    from: phoneParam(from, '"from" must be a number'),
    to: phoneParam(to, '"to" must be a number'),
    ...(dir !== undefined && { dir: dir as CallDir }),
    ...(record !== undefined && { record }),
    ...(answer !== undefined && { answer }),
    ...(group !== undefined && { group: phoneList(group, 'group') }),
    ...(queue !== undefined && { queue: phoneList(queue, 'queue') }),
    ...(ringMs !== undefined && { ringMs }),
  };
}

/** A phone number in a JSON body: a string or a number (the call model checks what it says). */
function phoneParam(value: unknown, message: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw badRequest(message);
  return String(value);
}

function phoneList(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) throw badRequest(`"${name}" must be an array of phone numbers`);
  return value.map((phone: unknown, i) => phoneParam(phone, `"${name}[${i}]" must be a phone number`));
}

/** A polite close's code (1000 normal, 1001 going away, 3000–4999 an application's own), or undefined to terminate. */
function closeCode(b: JsonObject): number | undefined {
  const code = b.code;
  if (code === undefined) return undefined;
  if (typeof code === 'number' && (code === 1000 || code === 1001 || (Number.isInteger(code) && code >= 3000 && code <= 4999))) return code;
  throw badRequest('"code" must be 1000, 1001 or 3000-4999');
}

function sendOptions(b: JsonObject): SendToSocketsOptions {
  const { raw, frame, size } = b;
  if (raw !== undefined && typeof raw !== 'string') throw badRequest('"raw" must be a string');
  if (size !== undefined && (typeof size !== 'number' || !Number.isInteger(size) || size < 1)) throw badRequest('"size" must be a positive integer');
  if (raw === undefined && frame === undefined && size === undefined) throw badRequest('give "raw", "frame" or "size"');
  return { ...(raw !== undefined && { raw }), ...('frame' in b && { frame }), ...(size !== undefined && { size }) };
}
