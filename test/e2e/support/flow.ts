/**
 * The flow every case deploys, and how it is read from outside: only core nodes around ours,
 * nothing of the test inside Node-RED.
 *
 * - `era-events` and `era-webhook` feed Function nodes that append each message to a list in
 *   flow context; `GET /e2e/log` (an `http in` node) answers `{rev, log}`, `rev` naming the
 *   deployed flow, so a client can poll until the new flows answer.
 * - Each action node sits behind `POST /e2e/act/<name>`: the JSON body's `payload` becomes
 *   msg.payload and its other fields msg properties (`connectionId`, `hold`, ...), so the nodes
 *   keep their default properties; what the node sends on, or what a Catch node gets, is the
 *   HTTP answer.
 */

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The simulated platform and the credentials the flow logs in with. */
export interface Platform {
  url: string;
  domain: string;
  login: string;
  password: string;
  token: string;
}

export const ID = {
  tab: 'e2e-tab',
  server: 'e2e-server',
  tokenServer: 'e2e-token-server',
  events: 'e2e-events',
  webhook: 'e2e-webhook',
  registered: 'e2e-webhook-registered',
  response: 'e2e-response',
} as const;

export const WEBHOOK_PATH = '/era/events';
export const REGISTERED_PATH = '/era/registered';
/** Characters a query string must escape, so `?secret=` is only right when encoded. */
export const WEBHOOK_SECRET = 'hook s3cret/+=&?';

const CALL = { call: 'connectionId', callType: 'msg' };
const LEG = { leg: '', legType: 'str' };
const EXTRA = { extra: '', extraType: 'json' };

/** The action nodes, with the properties the editor stores for a new node (its defaults) unless a line says otherwise. */
export const ACTIONS = {
  dial: { type: 'era-dial', mode: 'post', from: '101', fromType: 'str', to: 'payload', toType: 'msg', ivr: '', ivrType: 'str', ...EXTRA },
  transfer: { type: 'era-transfer', mode: 'blind', ...CALL, to: 'payload', toType: 'msg', replaces: '', replacesType: 'str', ...LEG, ...EXTRA },
  conference: { type: 'era-conference', mode: 'switch', ...CALL, conference: '', conferenceType: 'str', ...EXTRA },
  // msg.hold decides, so one node both holds and resumes.
  hold: { type: 'era-hold', action: 'msg', ...CALL, ...LEG, ...EXTRA },
  dtmf: { type: 'era-dtmf', ...CALL, ...LEG, digits: 'payload', digitsType: 'msg', ...EXTRA },
  hangup: { type: 'era-hangup', ...CALL },
  answer: { type: 'era-answer', ...CALL, ...LEG, ...EXTRA },
  'recording-url': { type: 'era-recording', key: 'payload.key', keyType: 'msg', output: 'url', directory: '', filename: '', filenameType: 'str' },
  'recording-buffer': { type: 'era-recording', key: 'payload.key', keyType: 'msg', output: 'buffer', directory: '', filename: '', filenameType: 'str' },
  calls: { type: 'era-calls', mode: 'get', ...CALL, interval: 5 },
  request: { type: 'era-request', kind: 'rest', method: 'GET', methodType: 'str', path: '/rest/v1/uc/calls', pathType: 'str', body: 'payload', bodyType: 'msg' },
  call: { type: 'era-call', ...CALL },
  wait: { type: 'era-wait', ...CALL, until: 'callevents.dlg_start', untilType: 'str', timeout: '30', timeoutType: 'num', maxWaits: 10000 },
} as const;

export type ActionName = keyof typeof ACTIONS;

function fn(id: string, name: string, func: string, wires: string[][] = [[]]): FlowNode {
  return { id, type: 'function', z: ID.tab, name, func, outputs: wires.length, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

function httpIn(id: string, method: 'get' | 'post', url: string, next: string): FlowNode {
  return { id, type: 'http in', z: ID.tab, name: '', url, method, upload: false, swaggerDoc: '', wires: [[next]] };
}

/** Appends what arrives to the flow-context list under `tag`. */
function collector(tag: string): FlowNode {
  return fn(
    `e2e-log-${tag}`,
    `log ${tag}`,
    `const log = flow.get('e2e') || [];
log.push({ tag: ${JSON.stringify(tag)}, topic: msg.topic, payload: msg.payload, connectionId: msg.connectionId, callId: msg.callId, eventId: msg.eventId, call: msg.call, replayed: msg.replayed });
flow.set('e2e', log);
return null;`,
  );
}

/** The HTTP answer for an action's output (or the Catch node's): what the node sent on, a Buffer as its size and first bytes. */
function reply(output: string): FlowNode {
  return fn(
    `e2e-reply-${output}`,
    `reply ${output}`,
    `const p = msg.payload;
msg.payload = {
    output: ${JSON.stringify(output)},
    statusCode: msg.statusCode,
    connectionId: msg.connectionId,
    call: msg.call,
    error: msg.error,
    payload: Buffer.isBuffer(p) ? { bytes: p.length, head: p.subarray(0, 4).toString('latin1') } : p
};
msg.statusCode = 200;
delete msg.headers;
return msg;`,
    [[ID.response]],
  );
}

const UNPACK = `const body = msg.payload || {};
for (const key of Object.keys(body)) if (key !== 'payload') msg[key] = body[key];
msg.payload = body.payload;
return msg;`;

function action(name: ActionName, serverId: string): FlowNode[] {
  const node: FlowNode = { id: `e2e-${name}`, z: ID.tab, name: '', server: serverId, ...ACTIONS[name], wires: [] };
  const outputs = node.type === 'era-wait' ? ['wait-happened', 'wait-timed-out'] : [name];
  node.wires = outputs.map((o) => [`e2e-reply-${o}`]);
  return [
    httpIn(`e2e-in-${name}`, 'post', `/e2e/act/${name}`, `e2e-unpack-${name}`),
    fn(`e2e-unpack-${name}`, `unpack ${name}`, UNPACK, [[node.id]]),
    node,
    ...outputs.map(reply),
  ];
}

function server(id: string, p: Platform, authMode: 'user' | 'token'): FlowNode {
  return {
    id,
    type: 'era-server',
    name: `simulator (${authMode})`,
    url: p.url,
    domain: p.domain,
    authMode,
    verifyTls: true,
    ca: '',
    tls: '',
    pingInterval: 10,
    requestTimeout: 10,
    maxCalls: 10000,
    cluster: '',
    redisUrl: '',
    clusterName: '',
    // As the editor's Deploy sends them: inside the node, only the fields the dialog filled.
    credentials: authMode === 'user' ? { login: p.login, password: p.password } : { token: p.token },
  };
}

/** Where the simulator reaches Node-RED, and httpNodeAuth's user and password to send (the webhook's public user and password). */
export interface Registering {
  publicUrl: string;
  auth?: { user: string; pass: string };
}

function webhook(id: string, serverId: string, path: string, tag: string, register?: Registering): FlowNode[] {
  return [
    {
      id,
      type: 'era-webhook',
      z: ID.tab,
      name: '',
      server: serverId,
      path,
      events: 'callevents.*',
      // Off: a made-up event from the reconciliation would be one message more than the deliveries.
      reconcile: 0,
      register: register !== undefined,
      publicUrl: register?.publicUrl ?? '',
      credentials: { secret: WEBHOOK_SECRET, ...(register?.auth && { publicUser: register.auth.user, publicPassword: register.auth.pass }) },
      wires: [[`e2e-log-${tag}`]],
    },
    collector(tag),
  ];
}

export interface FlowOptions {
  platform: Platform;
  /** Names this deployment in the probe's answer. */
  rev: string;
  /** Also a webhook the simulator registers and delivers to (needs a token-mode server and the address Node-RED is reached at). */
  register?: Registering;
}

export function testFlow(opts: FlowOptions): FlowNode[] {
  const { platform, rev, register } = opts;
  return [
    { id: ID.tab, type: 'tab', label: 'end-to-end', disabled: false, info: '' },
    server(ID.server, platform, 'user'),
    { id: ID.events, type: 'era-events', z: ID.tab, name: '', server: ID.server, events: 'callevents.*', objects: '', attachCall: true, split: false, wires: [['e2e-log-events']] },
    collector('events'),
    httpIn('e2e-in-log', 'get', '/e2e/log', 'e2e-probe'),
    fn('e2e-probe', 'probe', `msg.payload = { rev: ${JSON.stringify(rev)}, log: flow.get('e2e') || [] };\nreturn msg;`, [[ID.response]]),
    { id: ID.response, type: 'http response', z: ID.tab, name: '', statusCode: '', headers: {}, wires: [] },
    { id: 'e2e-catch', type: 'catch', z: ID.tab, name: '', scope: null, uncaught: false, wires: [['e2e-reply-caught']] },
    reply('caught'),
    ...(Object.keys(ACTIONS) as ActionName[]).flatMap((name) => action(name, ID.server)),
    ...webhook(ID.webhook, ID.server, WEBHOOK_PATH, 'webhook'),
    ...(register ? [server(ID.tokenServer, platform, 'token'), ...webhook(ID.registered, ID.tokenServer, REGISTERED_PATH, 'registered', register)] : []),
  ];
}
