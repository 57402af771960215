/**
 * era-webhook in a real Node-RED runtime: real HTTP requests through Node-RED's HTTP stack as a
 * default install serves it (the editor's admin app and the HTTP nodes on one root, see
 * webhook-stack.ts), and the simulator registering the webhook and delivering to it for the
 * end-to-end cases.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { ALL_NODES, eventually, helper, Inbox, serverNode, startRed, StatusLog, stopRed, TOKEN_CREDENTIALS, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';
import { callData, event, post as postTo } from './webhook-post';
import { logged, RedStack } from './webhook-stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CORE_NODES = ['common/25-catch', 'common/25-status'].map((m) => require(`@node-red/nodes/core/${m}.js`));


const PATH = '/era/events';
const SECRET = 'w3bh00k-secret';
const CALL_TOPICS = ['invite', 'dlg_init', 'dlg_call', 'dlg_start', 'dlg_end', 'dlg_stop'].map((t) => `callevents.${t}`);

describe('era-webhook', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ctl: SimControl;
  let stack: RedStack;
  let base: string;
  let statuses: StatusLog;

  before(async function () {
    stack = await RedStack.start();
    base = stack.base;
  });

  after(async function () {
    await stack.close();
  });

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    statuses = new StatusLog();
    stack.configure();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    stack.unmount();
    await sim.stop();
  });

  async function load(flow: FlowNode[], credentials: Record<string, unknown> = {}): Promise<void> {
    await helper.load([stack.mount, ...ALL_NODES, ...CORE_NODES], flow, credentials);
  }

  /** One era-webhook node (id `wh`) wired to a helper (id `out`); no server unless `props.server`. */
  function webhookFlow(props: Record<string, unknown> = {}, extra: FlowNode[] = []): FlowNode[] {
    return [
      { id: 'wh', type: 'era-webhook', path: PATH, events: 'callevents.*', reconcile: 0, register: false, publicUrl: '', wires: [['out']], ...props },
      { id: 'out', type: 'helper' },
      ...extra,
    ];
  }

  function post(body: string | Buffer | object, opts: { query?: string; headers?: Record<string, string>; path?: string } = {}): Promise<{ status: number; text: string }> {
    return postTo(`${base}${opts.path ?? PATH}${opts.query ?? ''}`, body, opts.headers);
  }

  /** Token-mode server with registration on: the simulator delivers to this test's front server. */
  function registeringFlow(props: Record<string, unknown> = {}, extra: FlowNode[] = []): FlowNode[] {
    return webhookFlow({ server: 'srv', register: true, publicUrl: base, reconcile: 3600, ...props }, [serverNode(sim, { authMode: 'token' }), ...extra]);
  }

  async function registered(): Promise<void> {
    await eventually(() => sim.webhookRegistrations().length === 1, 5000, 'the webhook registered');
  }

  it('emits each event of a delivery as era-events would: topic, its own payload, ids; no msg.call without a server', async function () {
    await load(webhookFlow());
    const out = new Inbox('out');
    const data = callData(1, 'e-1');
    assert.equal((await post(event('invite', data))).status, 200);
    await out.count(1);
    const msg = out.messages[0]!;
    assert.equal(msg.topic, 'callevents.invite');
    assert.deepEqual(msg.payload, data);
    assert.equal(msg.connectionId, data.connectionid);
    assert.equal(msg.callId, data.cid);
    assert.equal(msg.eventId, 'e-1');
    assert.equal(msg.call, undefined);
    assert.equal(msg.replayed, undefined);
    assert.deepEqual(statuses.of('wh').at(-1), { fill: 'yellow', shape: 'ring', text: 'era-webhook.status.noSecret · era-webhook.status.manual: <Node-RED>/era/events' }, 'the URL to set in the channel, and the missing secret');
  });

  it('accepts an array of events and every envelope the socket accepts, and filters by its patterns', async function () {
    await load(webhookFlow({ events: 'callevents.invite, callevents.dlg_end' }));
    const out = new Inbox('out');
    const d = (n: number) => callData(n, `e-${n}`);
    assert.equal((await post([event('invite', d(1)), event('dlg_start', d(2)), event('dlg_end', d(3))])).status, 200);
    assert.equal((await post(['event', { qid: 1, id: 'sub', class: 'callevents', type: 'invite', data: d(4) }])).status, 200);
    assert.equal((await post(['event', { qid: 2, eventclass: 'callevents', eventtype: 'dlg_end', ...d(5) }])).status, 200);
    assert.equal((await post(['callevents.invite', { qid: 3, ...d(6) }])).status, 200);
    assert.equal((await post([event('dlg_start', d(7))])).status, 200, 'an event the patterns leave out is still accepted');
    await out.count(5);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(out.messages.map((m) => [m.topic, m.eventId]), [
      ['callevents.invite', 'e-1'],
      ['callevents.dlg_end', 'e-3'],
      ['callevents.invite', 'e-4'],
      ['callevents.dlg_end', 'e-5'],
      ['callevents.invite', 'e-6'],
    ]);
    assert.equal((out.messages[3]!.payload as Record<string, unknown>).connectionid, d(5).connectionid, 'the flat envelope\'s fields');
  });

  it('with a secret: none or a wrong one is a 401 and emits nothing; the query parameter or the header passes', async function () {
    await load(webhookFlow(), { wh: { secret: SECRET } });
    const out = new Inbox('out');
    const body = (n: number) => event('invite', callData(n, `e-${n}`));
    assert.equal((await post(body(1))).status, 401, 'no secret');
    assert.equal((await post(body(2), { query: '?secret=wrong' })).status, 401, 'a wrong one');
    assert.equal((await post(body(3), { headers: { 'x-era-secret': `${SECRET}x` } })).status, 401, 'a longer one');
    assert.equal((await post(body(4), { headers: { 'x-era-secret': SECRET.slice(0, 4) } })).status, 401, 'a prefix');
    assert.equal((await post(body(5), { query: `?secret=${encodeURIComponent(SECRET)}` })).status, 200);
    assert.equal((await post(body(6), { headers: { 'X-Era-Secret': SECRET } })).status, 200);
    await out.count(2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(out.messages.map((m) => m.eventId), ['e-5', 'e-6'], 'only the authorised deliveries');
    assert.equal(logged('wh', 30).filter((m) => /401/.test(m)).length, 1, 'warned once');
    assert.ok(logged('wh', 30).every((m) => !m.includes(SECRET)), 'the secret is never logged');
    assert.ok(statuses.of('wh').every((s) => !String(s.text).includes(SECRET)), 'nor shown');
    assert.match(String(statuses.of('wh').at(-1)?.text), /\?secret=…$/, 'the status says where the secret goes');
  });

  it('refuses bodies that hold no event — not JSON, empty, JSON without an event, 5 MB (413) — emits nothing and keeps working', async function () {
    await load(webhookFlow());
    const out = new Inbox('out');
    assert.equal((await post('{"class": "callevents", "type":')).status, 400, 'not JSON');
    assert.equal((await post('')).status, 400, 'empty');
    assert.equal((await post('   \n')).status, 400, 'blank');
    assert.equal((await post({ hello: 'world' })).status, 400, 'an object that is no event');
    assert.equal((await post([1, 'two', null])).status, 400, 'an array of no events');
    assert.equal((await post(['subscribe_result', { qid: 1, result: 'ok' }])).status, 400, 'a reply frame');
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    assert.equal((await post(big)).status, 413, '5 MB');
    // Without a Content-Length (chunked): the bound holds while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(128 * 1024, 'y'));
      req.end();
    });
    assert.equal(chunked, 413, 'a chunked 2.5 MB body');
    assert.equal(out.messages.length, 0, 'nothing emitted');
    const warnings = logged('wh', 30);
    for (const why of ['not JSON', 'an empty body', 'no event', 'over 1 MiB']) assert.ok(warnings.some((w) => w.includes(why)), `warned about ${why}`);

    assert.equal((await post(event('invite', callData(1, 'e-ok')))).status, 200, 'the endpoint still works');
    await out.count(1);
    assert.equal(out.messages[0]!.eventId, 'e-ok');
  });

  it('emits a duplicated delivery once (bounded memory of event ids)', async function () {
    await load(webhookFlow());
    const out = new Inbox('out');
    const body = event('invite', callData(1, 'e-dup'));
    for (let i = 0; i < 3; i++) assert.equal((await post(body)).status, 200, 'every copy is answered');
    assert.equal((await post([event('dlg_init', callData(1, 'e-2')), event('dlg_init', callData(1, 'e-2'))])).status, 200);
    await out.count(2);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(out.messages.map((m) => m.eventId), ['e-dup', 'e-2']);
  });

  it('the simulator delivering every event twice, some late: each is emitted once, and the call is complete', async function () {
    await load(registeringFlow({ reconcile: 0 }), TOKEN_CREDENTIALS);
    await registered();
    const out = new Inbox('out');
    sim.setFaults({ webhookDuplicate: 1, webhookDelay: { share: 0.25, ms: 100 } });
    const call = await ctl.startCall({ answer: true });
    await ctl.hangup(call.id);
    await eventually(() => sim.webhookStats.answered >= 12, 5000, 'every event delivered twice');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sim.webhookStats.duplicated, 6);
    assert.deepEqual(out.messages.map((m) => m.topic).sort(), [...CALL_TOPICS].sort(), 'each event once');
    assert.equal(new Set(out.messages.map((m) => m.eventId)).size, 6);
  });

  it('a second era-webhook on the same path refuses to start with a clear error; the first keeps working; a redeploy works', async function () {
    const flow = (name: string): FlowNode[] => [
      { id: 'wh', type: 'era-webhook', name, path: PATH, events: 'callevents.*', reconcile: 0, wires: [['out']] },
      { id: 'wh2', type: 'era-webhook', path: `${PATH}/`, events: 'callevents.*', reconcile: 0, wires: [['out2']] },
      { id: 'out', type: 'helper' },
      { id: 'out2', type: 'helper' },
    ];
    await load(flow('first'));
    const out = new Inbox('out');
    const out2 = new Inbox('out2');
    const [loser] = ['wh', 'wh2'].filter((id) => statuses.has(id, 'red', 'dot'));
    assert.ok(loser, 'one of them shows a red status');
    const winner = loser === 'wh' ? 'wh2' : 'wh';
    assert.equal(statuses.has(winner, 'red', 'dot'), false);
    assert.match(logged(loser!, 20).join('\n'), /path \/era\/events is already served by/);
    assert.equal((await post(event('invite', callData(1, 'e-1')))).status, 200);
    const winnerOut = winner === 'wh' ? out : out2;
    await winnerOut.count(1);

    // A redeploy: the old nodes close (their route goes), the new ones take the path again.
    await helper.setFlows([flow('second')[0]!, flow('second')[2]!, flow('second')[3]!], 'full');
    const again = new Inbox('out');
    assert.equal((await post(event('invite', callData(2, 'e-2')))).status, 200);
    await again.count(1);
    assert.equal(again.messages[0]!.eventId, 'e-2');
    await helper.setFlows([{ id: 'out', type: 'helper' }], 'full');
    assert.equal((await post(event('invite', callData(3, 'e-3')))).status, 404, 'removed: the path is free, nothing serves it');
  });

  it('a configuration it cannot use: a red status and one error naming the property; the node serves nothing', async function () {
    await load([
      { id: 'bad-path', type: 'era-webhook', path: '/era/:id', events: 'callevents.*', wires: [[]] },
      { id: 'bad-events', type: 'era-webhook', path: '/a', events: 'callevents', wires: [[]] },
      { id: 'bad-reconcile', type: 'era-webhook', path: '/b', events: 'callevents.*', reconcile: 0.5, wires: [[]] },
      { id: 'bad-url', type: 'era-webhook', path: '/c', events: 'callevents.*', publicUrl: 'nodered.example.ru', wires: [[]] },
    ]);
    for (const [id, words] of [['bad-path', /path "\/era\/:id"/], ['bad-events', /bad event pattern "callevents"/], ['bad-reconcile', /reconcile must be 0 \(off\) or at least 1 second/], ['bad-url', /public URL "nodered.example.ru"/]] as const) {
      assert.ok(statuses.has(id, 'red', 'dot'), `${id}: red status`);
      assert.equal(logged(id, 20).length, 1, `${id}: one error`);
      assert.match(logged(id, 20)[0]!, words);
    }
    for (const path of ['/a', '/b', '/c']) assert.equal((await post(event('invite', callData(1, 'e-1')), { path })).status, 404, `${path} not served`);
  });

  it('linked to a server: msg.call from the events, without opening the WebSocket', async function () {
    await load(webhookFlow({ server: 'srv', reconcile: 0 }, [serverNode(sim)]), USER_CREDENTIALS);
    const out = new Inbox('out');
    for (const [n, type] of ['invite', 'dlg_start', 'dlg_end'].entries()) {
      assert.equal((await post(event(type, { ...callData(1, `e-${n}`), ...(type === 'dlg_end' && { reason: 'bye' }) }))).status, 200);
    }
    await out.count(3);
    const states = out.messages.map((m) => (m.call as { state: string }).state);
    assert.deepEqual(states, ['ringing', 'talking', 'ended']);
    assert.equal((out.messages[2]!.call as { endReason: string }).endReason, 'bye');
    assert.notEqual(out.messages[0]!.call, out.messages[1]!.call, 'each message its own state object');
    assert.deepEqual((await ctl.requests()).filter((r) => r.kind === 'ws'), [], 'no WebSocket');
  });

  it('registers the webhook for its URL and classes, keeps it across a redeploy (the successor renews it) and deletes it when removed', async function () {
    const creds = { ...TOKEN_CREDENTIALS, wh: { secret: SECRET } };
    await load(registeringFlow({ events: 'callevents.*, ccsevents.call_dtmf' }), creds);
    await registered();
    const [reg] = sim.webhookRegistrations();
    assert.equal(reg!.url, `${base}${PATH}?secret=${SECRET}`, 'the secret rides in the URL the platform is given');
    assert.deepEqual(reg!.classes.sort(), ['callevents', 'ccsevents']);
    await eventually(() => statuses.has('wh', 'green', 'dot'), 5000, 'registered');
    const shown = String(statuses.of('wh').at(-1)?.text);
    assert.equal(shown, `era-webhook.status.registered: ${base}${PATH}?secret=…`);

    const out = new Inbox('out');
    const call = await ctl.startCall({ answer: true });
    await ctl.hangup(call.id);
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_stop'), 5000, 'the call delivered by webhook');
    assert.deepEqual(out.messages.map((m) => m.topic).filter((t) => CALL_TOPICS.includes(String(t))), CALL_TOPICS);

    await helper.setFlows(registeringFlow({ name: 'renamed', events: 'callevents.*, ccsevents.call_dtmf' }), 'nodes', creds);
    await eventually(async () => (await ctl.requests()).some((r) => r.method === 'PUT'), 5000, 'the successor renews the webhook');
    assert.deepEqual(sim.webhookRegistrations().map((r) => r.id), [reg!.id], 'the same webhook, kept');
    assert.equal((await ctl.requests()).filter((r) => r.method === 'POST' && r.path.startsWith('/rest/v1/service/webhooks')).length, 1, 'not created again');

    await helper.setFlows([serverNode(sim, { authMode: 'token' })], 'nodes', TOKEN_CREDENTIALS);
    await eventually(() => sim.webhookRegistrations().length === 0, 5000, 'the webhook deleted with the node');
    const deletion = (await ctl.requests()).find((r) => r.method === 'DELETE');
    assert.equal(deletion?.path, `/rest/v1/service/webhooks/${reg!.id}`);
  });

  it('the flows stopping for good (Node-RED shutting down): the registration is deleted before the stop ends; a full redeploy of the same flows keeps it', async function () {
    const creds = { ...TOKEN_CREDENTIALS, wh: { secret: SECRET } };
    await load(registeringFlow(), creds);
    await registered();
    const [reg] = sim.webhookRegistrations();
    await helper.setFlows(registeringFlow(), 'full', creds);
    await eventually(async () => (await ctl.requests()).some((r) => r.method === 'PUT'), 5000, 'the successor renews the webhook');
    assert.deepEqual(sim.webhookRegistrations().map((r) => r.id), [reg!.id], 'a deploy, even of the same flows, keeps it');
    await helper.unload();
    // Node-RED exits once its flows stopped: the deletion is done by then, not later.
    assert.deepEqual(sim.webhookRegistrations(), [], 'deleted: nobody would renew it');
    assert.equal((await ctl.requests()).find((r) => r.method === 'DELETE')?.path, `/rest/v1/service/webhooks/${reg!.id}`);
  });

  it('a redeploy while calls go on reports none of them again: the successor knows what its predecessor heard', async function () {
    await load(registeringFlow({ events: 'callevents.invite, callevents.dlg_end', reconcile: 3600 }), TOKEN_CREDENTIALS);
    await registered();
    const out = new Inbox('out');
    const call = await ctl.startCall({ answer: true });
    await out.until((m) => m.some((x) => x.topic === 'callevents.invite'), 5000, 'the live invite');
    await ctl.clearRequests();
    await helper.setFlows(registeringFlow({ name: 'renamed', events: 'callevents.invite, callevents.dlg_end', reconcile: 3600 }), 'nodes', TOKEN_CREDENTIALS);
    await eventually(async () => (await ctl.requests()).some((r) => r.method === 'GET' && r.path === '/rest/v1/uc/calls'), 5000, 'the successor reconciled on start');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(out.messages.map((m) => [m.topic, m.replayed]), [['callevents.invite', undefined]], 'no made-up invite for the live call');
    await ctl.hangup(call.id);
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end'), 5000, 'its end, live');
    assert.equal(out.messages.find((m) => m.topic === 'callevents.dlg_end')!.replayed, undefined);
  });

  it('a start without a predecessor (a first deploy, a restart of Node-RED) learns the calls going on silently; later rounds report what starts or ends unheard', async function () {
    const going = await ctl.startCall({ from: '+79990001111', answer: true });
    // No deliveries at all: every event is unheard, only the rounds tell.
    await load(webhookFlow({ server: 'srv', reconcile: 1 }, [serverNode(sim, { authMode: 'token' })]), TOKEN_CREDENTIALS);
    const out = new Inbox('out');
    const lists = async (): Promise<number> => (await ctl.requests()).filter((r) => r.method === 'GET' && r.path === '/rest/v1/uc/calls').length;
    await eventually(async () => (await lists()) >= 3, 10_000, 'three readings of the list (the first and two rounds)');
    assert.equal(out.messages.length, 0, 'nothing made up for the call going on at start');
    const later = await ctl.startCall({ from: '+79990002222' });
    await out.until((m) => m.some((x) => x.connectionId === later.connectionid), 5000, 'the later call reported');
    await ctl.hangup(going.id);
    await out.until((m) => m.some((x) => x.connectionId === going.connectionid), 5000, 'the end of the call learnt at start');
    const told = out.messages.map((m) => [m.connectionId, m.topic, m.replayed]);
    assert.deepEqual(told, [[later.connectionid, 'callevents.invite', true], [going.connectionid, 'callevents.dlg_end', true]]);
  });

  it('a round that finds a start or an end whose delivery is on its way waits for it: the live invite and dlg_end come out, nothing made up', async function () {
    // Rounds every 4 s: a round waits 1 s for deliveries before it makes anything up.
    await load(webhookFlow({ server: 'srv', reconcile: 4 }, [serverNode(sim, { authMode: 'token' })]), TOKEN_CREDENTIALS);
    const out = new Inbox('out');
    const listReads = async (path: string): Promise<number> => (await ctl.requests()).filter((r) => r.method === 'GET' && r.path === path).length;
    await eventually(async () => (await listReads('/rest/v1/uc/calls')) >= 1, 5000, 'the calls going on learnt');
    const call = await ctl.startCall({ from: '+79990003333' });
    const data = (eventid: string): Record<string, unknown> => ({ eventid, eventts: Date.now(), cid: call.cid, connectionid: call.connectionid, invitets: Date.now(), fromnum: '+79990003333', tonum: '101', dir: 'in' });
    // The platform lists the call; its delivery comes just after a round read the list.
    await ctl.clearRequests();
    await eventually(async () => (await listReads('/rest/v1/uc/calls')) >= 1, 10_000, 'a round read the list');
    assert.equal((await post(event('invite', data('live-invite')))).status, 200);
    await ctl.hangup(call.id);
    await ctl.clearRequests();
    // The next round finds the call gone (asks for it by id), and its dlg_end comes just after.
    await eventually(async () => (await listReads(`/rest/v1/uc/calls/${call.connectionid}`)) >= 1, 10_000, 'a round asked for the call');
    assert.equal((await post(event('dlg_end', data('live-end')))).status, 200);
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end'), 5000, 'its end');
    // A round more: nothing is made up afterwards either.
    await ctl.clearRequests();
    await eventually(async () => (await listReads('/rest/v1/uc/calls')) >= 1, 10_000, 'one more round');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(out.messages.map((m) => [m.topic, m.eventId, m.replayed]), [
      ['callevents.invite', 'live-invite', undefined],
      ['callevents.dlg_end', 'live-end', undefined],
    ]);
    assert.equal((out.messages[1]!.call as { state: string }).state, 'ended');
  });

  it('registration refused by the platform: a red status with its words and the URL to set by hand; deliveries still work', async function () {
    sim.setFaults({ webhookCreateError: { count: 1000, errormsg: 'channel is not of type subscr' } });
    await load(registeringFlow(), TOKEN_CREDENTIALS);
    await eventually(() => statuses.has('wh', 'red', 'ring'), 5000, 'a red status');
    const text = String(statuses.of('wh').find((s) => s.fill === 'red')?.text);
    assert.match(text, /^era-webhook\.status\.noSecret · era-webhook\.status\.refused: HTTP 403: channel is not of type subscr/);
    assert.ok(text.endsWith(`era-webhook.status.manual: ${base}${PATH}`), text);
    assert.ok(logged('wh', 30).some((w) => w.includes('channel is not of type subscr') && w.includes(`${base}${PATH}`)), 'the log says it too');
    assert.equal(sim.webhookRegistrations().length, 0);

    const out = new Inbox('out');
    assert.equal((await post(event('invite', callData(1, 'e-1')))).status, 200, 'set up by hand, it receives');
    await out.count(1);
  });

  it('registration on a user-mode server cannot be done: the status says why and shows the URL', async function () {
    await load(webhookFlow({ server: 'srv', register: true, publicUrl: base }, [serverNode(sim)]), USER_CREDENTIALS);
    await eventually(() => statuses.has('wh', 'red', 'ring'), 5000, 'a red status');
    assert.equal(String(statuses.of('wh').at(-1)?.text), `era-webhook.status.noSecret · era-webhook.status.needsToken · era-webhook.status.manual: ${base}${PATH}`);
    assert.ok(!(await ctl.requests()).some((r) => r.path.startsWith('/rest/v1/service/webhooks')), 'nothing asked of the platform');
  });

  it('a renewal lost (the platform forgot the webhook): re-created, and the call that ended in the gap is reconciled', async function () {
    await sim.stop();
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20, maxWebhookExpires: 1 }));
    await load(registeringFlow({ events: 'callevents.invite, callevents.dlg_end' }), TOKEN_CREDENTIALS);
    await registered();
    const first = sim.webhookRegistrations()[0]!.id;
    const out = new Inbox('out');
    const call = await ctl.startCall();
    await out.until((m) => m.some((x) => x.topic === 'callevents.invite'), 5000, 'the live invite');

    sim.forgetWebhooks();
    await ctl.hangup(call.id);
    await eventually(() => sim.webhookRegistrations().length === 1 && sim.webhookRegistrations()[0]!.id !== first, 5000, 'a new webhook');
    await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end'), 5000, 'the end missed in the gap');
    const end = out.messages.find((m) => m.topic === 'callevents.dlg_end')!;
    assert.equal(end.replayed, true);
    assert.equal(end.connectionId, call.connectionid);
    assert.equal((end.call as { state: string }).state, 'ended');
    const renewals = (await ctl.requests()).filter((r) => r.method === 'PUT');
    assert.ok(renewals.some((r) => r.status === 404), 'the renewal was answered 404');
  });

  it('renewed before its lifetime ends; a renewal refused: the old webhook goes, a new one comes, and the gap is reconciled', async function () {
    await sim.stop();
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20, maxWebhookExpires: 3 }));
    await load(registeringFlow(), TOKEN_CREDENTIALS);
    await registered();
    const first = sim.webhookRegistrations()[0]!.id;
    // Granted 3 s, it is renewed in time (at 80%) and outlives its first lifetime.
    await new Promise((r) => setTimeout(r, 3500));
    assert.deepEqual(sim.webhookRegistrations().map((r) => r.id), [first]);
    assert.ok((await ctl.requests()).some((r) => r.method === 'PUT' && r.path.endsWith(first) && r.status === 200), 'renewed');
    await ctl.clearRequests();
    sim.setFaults({ webhookRenewError: { count: 1, status: 500, errormsg: 'renewals are off' } });
    await eventually(() => sim.webhookRegistrations().some((r) => r.id !== first), 5000, 'a new webhook');
    const requests = (await ctl.requests()).filter((r) => r.kind === 'rest');
    const refused = requests.findIndex((r) => r.method === 'PUT' && r.status === 500);
    assert.ok(refused !== -1, 'a refused renewal');
    const after = requests.slice(refused + 1);
    assert.ok(after.some((r) => r.method === 'DELETE' && r.path.endsWith(first)), 'the old one deleted');
    const created = after.findIndex((r) => r.method === 'POST' && r.path === '/rest/v1/service/webhooks');
    assert.ok(created !== -1, 'created again');
    await eventually(async () => (await ctl.requests()).slice(refused + 1 + created).some((r) => r.method === 'GET' && r.path === '/rest/v1/uc/calls'), 5000, 'a reconciliation after the lapse');
    assert.deepEqual(sim.webhookRegistrations().map((r) => r.id).length, 1, 'one webhook');
  });

  it('20% of deliveries dropped: every call\'s end still arrives, live or replayed, within one reconcile interval', async function () {
    await load(registeringFlow({ events: 'callevents.*', reconcile: 2 }), TOKEN_CREDENTIALS);
    await registered();
    const out = new Inbox('out');
    sim.setFaults({ webhookDrop: 0.2 });
    const calls: string[] = [];
    for (let i = 0; i < 20; i++) {
      const call = await ctl.startCall({ from: `+7999000${String(i).padStart(4, '0')}`, to: '101', answer: i % 2 === 0 });
      calls.push(call.connectionid);
    }
    for (const id of calls) await ctl.hangup(id, 'bye');
    const endedAt = Date.now();
    const ends = (): Map<string, Record<string, unknown>> => new Map(out.messages.filter((m) => m.topic === 'callevents.dlg_end').map((m) => [String(m.connectionId), m]));
    await out.until(() => calls.every((id) => ends().has(id)), 2000 + 3000, 'an end for every call within one interval (2 s), with a margin');
    const took = Date.now() - endedAt;
    const replayed = [...ends().values()].filter((m) => m.replayed === true);
    assert.ok(sim.webhookStats.dropped >= 20, `deliveries were dropped (${sim.webhookStats.dropped})`);
    assert.ok(replayed.length > 0, 'some ends were lost and made up');
    for (const m of replayed) assert.equal((m.call as { state: string }).state, 'ended');
    assert.equal(out.messages.filter((m) => m.topic === 'callevents.dlg_end').length, calls.length, `each end once (took ${took} ms)`);
  });

  it('done when: the same calls delivered by webhook and by WebSocket give the same messages at era-webhook and era-events', async function () {
    const srvWs = { ...serverNode(sim), id: 'srv-ws' };
    const flow: FlowNode[] = [
      ...registeringFlow({ events: 'callevents.*, ccsevents.*', reconcile: 3600 }),
      srvWs,
      { id: 'ev', type: 'era-events', server: 'srv-ws', events: 'callevents.*', wires: [['out-ws']] },
      { id: 'out-ws', type: 'helper' },
    ];
    await load(flow, { ...TOKEN_CREDENTIALS, 'srv-ws': USER_CREDENTIALS.srv });
    await registered();
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the socket subscribed');
    const hook = new Inbox('out');
    const ws = new Inbox('out-ws');

    const answered = await ctl.startCall({ from: '+79990001122', to: '101', record: true });
    const missed = await ctl.startCall({ from: '+79990003344', to: '102' });
    const picked = await ctl.startCall({ from: '+79990005566', to: '103' });
    await ctl.answer(answered.id);
    await ctl.call('POST', `calls/${encodeURIComponent(picked.id)}/pickup`, { by: '104' });
    await ctl.hangup(missed.id, 'cancel');
    await ctl.hangup(answered.id);
    await ctl.hangup(picked.id);
    const stops = (m: Array<Record<string, unknown>>) => m.filter((x) => x.topic === 'callevents.dlg_stop').length === 3;
    await ws.until(stops, 5000, 'three calls over the socket');
    await hook.until(stops, 5000, 'three calls by webhook');

    const view = (m: Record<string, unknown>) => ({ topic: m.topic, eventId: m.eventId, connectionId: m.connectionId, callId: m.callId, payload: m.payload, call: m.call, replayed: m.replayed });
    const fromHook = hook.messages.filter((m) => String(m.topic).startsWith('callevents.')).map(view);
    const fromWs = ws.messages.map(view);
    assert.ok(fromWs.length >= 18, `a whole set of events (${fromWs.length})`);
    assert.deepEqual(fromHook, fromWs);
  });
});
