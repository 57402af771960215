import assert from 'node:assert/strict';
import { assertErrormsg, delay, eventData, eventType, isEvent, login, openReady, rest, TOKEN_WS_PATH, upgradeStatus, useSimulators, WsClient, wsUrl, type Frame } from './helpers';

describe('simulator: WebSocket endpoints and framing', () => {
  const start = useSimulators();

  it('authorises the token API by the path or by Bearer', async () => {
    const sim = await start();
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1'), { authorization: 'Bearer demo-token' }), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/wrong')), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1')), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/elsewhere')), 404);
    const upgrades = sim.requests().filter((r) => r.method === 'upgrade');
    assert.deepEqual(
      upgrades.map((r) => `${r.kind} ${r.path} ${r.status} ${r.headers.authorization ?? '-'}`),
      ['ws /ws/token/v1/demo-token 101 -', 'ws /ws/token/v1 101 Bearer demo-token', 'ws /ws/token/v1/wrong 401 -', 'ws /ws/token/v1 401 -', 'ws /elsewhere 404 -'],
    );
    assert.equal(sim.requests().filter((r) => r.kind === 'rest').length, 0, 'upgrades are not REST requests');
  });

  it('answers connection_info with the qid echoed, on both APIs', async () => {
    const sim = await start();
    const tokenWs = await openReady(sim);
    tokenWs.send('connection_info', { qid: 'q-1' });
    const [method, info] = await tokenWs.next();
    assert.equal(method, 'connection_info_result');
    assert.equal(info.qid, 'q-1');
    assert.equal(info.result, 'ok');
    assert.equal(info.domain, 'demo.local');
    assert.equal(info.ownertype, 'token');
    assert.ok(Array.isArray(info.capabilities) && info.capabilities.includes('callrecord'));
    assert.equal(typeof info.sessionid, 'string');
    assert.equal(typeof info.connectionid, 'string');
    assert.equal(typeof info.timestamp, 'number');

    const token = await login(sim);
    const userWs = await openReady(sim, '/ws', { login: { rsessionid: token } });
    const user = await userWs.request('connection_info');
    assert.equal(user.ownertype, 'user');
    assert.notEqual(user.connectionid, info.connectionid);
  });

  // The lenient `error: {code, message}` shape of these replies is checked in lenient.test.ts.
  it('answers unknown methods with an errormsg reply and survives malformed frames', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    assertErrormsg(await ws.request('no_such_method'), /^unknown method no_such_method$/);
    for (const junk of ['not json', '{"a":1}', '[]', '[1,2]', '"text"', 'null']) ws.ws.send(junk);
    ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.ws.send('["subscribe", 5]');
    const [method, bad] = await ws.next((f) => f[0] === 'subscribe_result');
    assert.equal(method, 'subscribe_result');
    assertErrormsg(bad, /./);
    assert.equal((await ws.request('connection_info')).result, 'ok', 'the socket still works');
    const logged = sim.requests().filter((r) => r.kind === 'ws');
    assert.ok(logged.some((r) => r.method === '' && r.body === 'not json'), 'malformed frames are logged');
    assert.ok(logged.some((r) => r.method === 'no_such_method' && r.path === '/ws/token/v1/demo-token'));
  });

  it('answers pings itself', async () => {
    const sim = await start();
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const pong = new Promise<string>((resolve) => ws.ws.once('pong', (data) => resolve(data.toString())));
    ws.ws.ping('hello');
    assert.equal(await pong, 'hello');
  });
});

describe('simulator: subscriptions', () => {
  const start = useSimulators();

  it('grants min(asked, maxSubscriptionExpires) and says so', async () => {
    const sim = await start({ maxSubscriptionExpires: 60 });
    const ws = await openReady(sim);
    const asked = Date.now();
    const long = await ws.subscribe({ id: 'a', events: ['callevents.*'], expires: 3600 });
    assert.equal(long.result, 'ok');
    assert.equal(long.expires, 60);
    assert.equal((await ws.subscribe({ id: 'b', events: ['callevents.*'], expires: 30 })).expires, 30);
    const subs = sim.subscriptions();
    assert.equal(subs.length, 2);
    const info = await ws.request('connection_info');
    assert.ok(subs.every((s) => s.connectionId === info.connectionid));
    const viaControl = (await rest(sim, 'GET', '/_sim/subscriptions')).body as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(viaControl[0] ?? {}).sort(), ['connectionId', 'events', 'expiresAt', 'id', 'objects']);
    const expiresAt = Number(viaControl.find((s) => s.id === 'a')?.expiresAt);
    assert.ok(expiresAt >= asked + 60_000 && expiresAt <= Date.now() + 60_000, `expiresAt ${expiresAt} is 60 s after the subscribe`);
  });

  it('delivers events of the subscribed classes and types only, with incrementing qids', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.dlg_*', 'ccsevents.call_set_state'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101', answer: true });
    const frames = await ws.collect(100, isEvent);
    assert.deepEqual(frames.map(eventType), ['callevents.dlg_init', 'callevents.dlg_call', 'ccsevents.call_set_state', 'callevents.dlg_start', 'ccsevents.call_set_state']);
    const qids = frames.map((f) => f[1].qid as number);
    assert.deepEqual(qids, qids.map((_q, i) => (qids[0] as number) + i));
    assert.ok(frames.every((f) => f[1].id === 's'));
  });

  it('an event matching two subscriptions of one socket is pushed twice', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 'one', events: ['callevents.*'], expires: 300 });
    await ws.subscribe({ id: 'two', events: ['callevents.invite'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    const invites = (await ws.collect(100, isEvent)).filter((f) => f[1].type === 'invite');
    assert.deepEqual(invites.map((f) => f[1].id).sort(), ['one', 'two']);
    assert.equal(eventData(invites[0] as Frame).eventid, eventData(invites[1] as Frame).eventid);
  });

  it('filters by objects: the call has fromnum, tonum or callednum among them', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 'ext101', events: ['callevents.invite'], objects: ['101'], expires: 300 });
    await ws.subscribe({ id: 'caller', events: ['callevents.invite'], objects: [79160000000, '+79165550000'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    sim.startCall({ from: '+79161112233', to: '102' });
    sim.startCall({ from: '+79165550000', to: '103' });
    const frames = await ws.collect(100, isEvent);
    assert.deepEqual(frames.map((f) => `${String(f[1].id)}:${String(eventData(f).tonum)}`), ['ext101:101', 'caller:103']);
  });

  it('renews with the same id, modifies events/objects, and deletes with expires 0', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 'x', events: ['callevents.invite'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    assert.equal((await ws.collect(50, isEvent)).length, 1);

    const modified = await ws.subscribe({ id: 'x', events: ['callevents.dlg_init'] });
    assert.equal(modified.expires, 300, 'a renewal without expires keeps the lifetime');
    assert.equal(sim.subscriptions().length, 1, 'same id: still one subscription');
    sim.startCall({ from: '+79161112233', to: '101' });
    assert.deepEqual((await ws.collect(50, isEvent)).map(eventType), ['callevents.dlg_init']);

    await ws.subscribe({ id: 'x', objects: ['999'] });
    sim.startCall({ from: '+79161112233', to: '101' });
    assert.equal((await ws.collect(50, isEvent)).length, 0, 'objects now filter everything out');

    const deleted = await ws.subscribe({ id: 'x', expires: 0 });
    assert.equal(deleted.result, 'ok');
    assert.equal(sim.subscriptions().length, 0);
    assert.equal((await ws.subscribe({ id: 'never-existed', expires: 0 })).result, 'ok');
    assert.equal((await ws.subscribe({ events: ['callevents.*'] })).result, 'error', 'no id');
    assert.equal((await ws.subscribe({ id: 'new' })).result, 'error', 'a new subscription needs events');
  });

  it('an unrenewed subscription stops delivering when its lifetime ends; a renewed one goes on', async () => {
    const sim = await start({ maxSubscriptionExpires: 0.6 });
    const ws = await openReady(sim);
    assert.equal((await ws.subscribe({ id: 'lapse', events: ['callevents.invite'], expires: 300 })).expires, 0.6);
    await ws.subscribe({ id: 'kept', events: ['callevents.invite'], expires: 300 });
    await delay(350);
    await ws.subscribe({ id: 'kept', expires: 300 });
    await delay(350);
    sim.startCall({ from: '+79161112233', to: '101' });
    const frames = await ws.collect(50, isEvent);
    assert.deepEqual(frames.map((f) => f[1].id), ['kept']);
    assert.deepEqual(sim.subscriptions().map((s) => s.id), ['kept']);
  });

  it('subscriptions belong to their socket and go with it', async () => {
    const sim = await start();
    const a = await openReady(sim);
    const b = await openReady(sim);
    await a.subscribe({ id: 'same', events: ['callevents.invite'], expires: 300 });
    await b.subscribe({ id: 'same', events: ['callevents.invite'], expires: 300 });
    assert.equal(sim.subscriptions().length, 2);
    a.close();
    await a.closed();
    await delay(20);
    assert.equal(sim.subscriptions().length, 1);
    sim.startCall({ from: '+79161112233', to: '101' });
    assert.equal((await b.collect(50, isEvent)).length, 1);
  });

  it('takes event_result acknowledgements without answering them', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.invite'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    const [, push] = await ws.next(isEvent);
    ws.send('event_result', { qid: push.qid, result: 'ok' });
    assert.equal((await ws.collect(50)).length, 0);
    assert.ok(sim.requests().some((r) => r.kind === 'ws' && r.method === 'event_result'));
  });
});

describe('simulator: push envelopes', () => {
  const start = useSimulators();

  async function firstInvite(envelope: 'model' | 'flat' | 'method'): Promise<{ raw: Frame; eventid: unknown }> {
    const sim = await start({ envelope });
    const ws = await openReady(sim);
    await ws.subscribe({ id: 'sub-1', events: ['callevents.invite'], expires: 300 });
    const seen = sim.waitForEvent('callevents.invite');
    sim.startCall({ from: '+79161112233', to: '101' });
    const event = await seen;
    const frame = await ws.next((f) => !f[0].endsWith('_result'));
    return { raw: frame, eventid: event.data.eventid };
  }

  it('model: ["event", {qid, id, class, type, data}]', async () => {
    const { raw, eventid } = await firstInvite('model');
    assert.equal(raw[0], 'event');
    assert.deepEqual(Object.keys(raw[1]), ['qid', 'id', 'class', 'type', 'data']);
    assert.equal(raw[1].id, 'sub-1');
    assert.equal(raw[1].class, 'callevents');
    assert.equal(raw[1].type, 'invite');
    assert.equal((raw[1].data as { eventid: unknown }).eventid, eventid);
  });

  it('flat: ["event", {qid, id, eventclass, eventtype, ...fields}]', async () => {
    const { raw, eventid } = await firstInvite('flat');
    assert.equal(raw[0], 'event');
    assert.equal(raw[1].eventclass, 'callevents');
    assert.equal(raw[1].eventtype, 'invite');
    assert.equal(raw[1].eventid, eventid);
    assert.equal(raw[1].id, 'sub-1');
    assert.equal(typeof raw[1].qid, 'number');
    assert.equal(raw[1].tonum, '101');
  });

  it('method: ["callevents.invite", {qid, id, ...fields}]', async () => {
    const { raw, eventid } = await firstInvite('method');
    assert.equal(raw[0], 'callevents.invite');
    assert.equal(raw[1].eventid, eventid);
    assert.equal(raw[1].id, 'sub-1');
    assert.equal(typeof raw[1].qid, 'number');
  });
});
