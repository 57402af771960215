import assert from 'node:assert/strict';
import type { Simulator, SimulatorOptions } from '../../src/simulator';
import { LOGIN, login, recorder, rest, TOKEN_WS_PATH, upgradeStatus, useSimulators, WS_LOGIN, WsClient, wsUrl } from './helpers';

describe('simulator (lenient, opt-in with strict: false): the behaviour of earlier versions', () => {
  const start = useSimulators();
  const lenient = (options: SimulatorOptions = {}): Promise<Simulator> => start({ strict: false, ...options });

  it('is opt-in: strict is the default, strict: false chooses lenient', async () => {
    assert.equal((await start()).options.strict, true);
    assert.equal((await lenient()).options.strict, false);
  });

  it('/ws needs the session on the upgrade and serves everything without setup; errors keep the error object', async () => {
    const sim = await lenient();
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 401);
    const token = await login(sim);
    const ws = await WsClient.open(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` });
    assert.equal((await ws.subscribe({ id: 's', events: ['callevents.*'] })).result, 'ok');
    const info = await ws.request('connection_info');
    assert.deepEqual(info.capabilities, ['callrecord', 'ccs', 'ivrapi', 'rest', 'svcscript']);
    const unknown = await ws.request('no_such_method');
    assert.deepEqual(unknown.error, { code: 'unknown_method', message: 'unknown method no_such_method' });
    assert.equal('errormsg' in unknown, false);
  });

  it('answers setup and login all the same, so a client that always sends them works', async () => {
    const sim = await lenient();
    const token = await login(sim);
    const ws = await WsClient.open(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` });
    const setup = await ws.request('setup', { capabilities: ['subscr', { key: 'callrecord' }] });
    assert.deepEqual(setup.capabilities, [
      { key: 'subscr', result: 'ok' },
      { key: 'callrecord', result: 'ok' },
    ]);
    assert.deepEqual((await ws.request('connection_info')).capabilities, ['subscr', 'callrecord'], 'what setup granted');
    const bye = await ws.request('bye', { idconn: 'unknown' });
    assert.equal((bye.error as { code: string }).code, 'not_found', 'ccs was not set up, yet bye is served: the call is looked up');
    const bad = await ws.request('login', { ...WS_LOGIN, pwd: 'wrong' });
    assert.equal(bad.result, 'error');
    assert.equal((bad.error as { code: string }).code, 'invalid_credentials');
    const good = await ws.request('login', WS_LOGIN);
    assert.equal(good.result, 'ok');
    assert.deepEqual(good.capabilities, [
      { key: 'subscr', result: 'ok' },
      { key: 'callrecord', result: 'ok' },
    ]);
    assert.equal((await ws.request('connection_info')).sessionid, good.sessionid, 'the socket now has the login session');

    const tws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    assert.equal((await tws.request('connection_info')).result, 'ok');
    assert.equal(((await tws.request('login', WS_LOGIN)).error as { message: string }).message, 'login is not used on the token API');
  });

  it('accepts any session_type, as before', async () => {
    const sim = await lenient();
    const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, session_type: 'api' } });
    assert.equal(res.status, 200);
    assert.equal(typeof (res.body as { session_token: unknown }).session_token, 'string');
  });

  it('keeps the boolean transfer flags and emits no transfer-step events', async () => {
    const sim = await lenient();
    const rec = recorder(sim);
    const call = sim.startCall({ from: '+79161112233', to: '101', answer: true });
    const invite = rec.events[0]?.data;
    assert.equal(invite?.isreferred, false);
    assert.equal(invite?.isreplaced, false);
    assert.equal(invite !== undefined && 'urifrom' in invite, false);
    rec.clear();
    await rest(sim, 'REFER', `/rest/v1/uc/calls/${call.id}`, { token: 'demo-token', body: { to: '105' } });
    assert.equal(rec.types()[0], 'callevents.dlg_call');
    assert.equal(rec.events[0]?.data.isreplaced, false);
    assert.equal(rec.events[0]?.data.isreferred, true);
  });

  it('sessionCookie also names the cookie that authorises the /ws upgrade', async () => {
    const sim = await lenient({ sessionCookie: 'RSession' });
    const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { domain: 'demo.local', login: 'operator', pwd: 'operator' } });
    const cookie = String(res.headers['set-cookie']).split(';')[0] as string;
    assert.match(cookie, /^RSession=/);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { cookie }), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { cookie: cookie.replace('RSession', 'EraSession') }), 401);
  });

  it('applies the connection faults too, without gating anything', async () => {
    const sim = await lenient();
    sim.setFaults({ refuseCapabilities: { subscr: 'denied' }, setupError: { count: 1 } });
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    assert.equal((await ws.request('setup', { capabilities: ['subscr'] })).result, 'error');
    assert.deepEqual((await ws.request('setup', { capabilities: ['subscr'] })).capabilities, [{ key: 'subscr', result: 'error', errormsg: 'denied' }]);
    assert.equal((await ws.subscribe({ id: 's', events: ['callevents.*'] })).result, 'ok', 'lenient: not enforced');
  });

  // Moved from ws.test.ts: a strict /ws takes no credentials on the upgrade (strict.test.ts).
  it('authorises /ws by the session (Bearer or cookie) and nothing else', async () => {
    const sim = await lenient();
    const token = await login(sim);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` }), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { cookie: `EraSession=${token}` }), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: 'Bearer wrong' }), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: 'Bearer demo-token' }), 401, 'the integration token is not a user session');
  });

  // Moved from auth.test.ts, which checks the strict counterpart (the rsessionid login refused).
  it('logout ends the session', async () => {
    const sim = await lenient();
    const token = await login(sim);
    assert.equal((await rest(sim, 'DELETE', '/rest/v1/iam/sessions/current', { token })).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { token })).status, 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` }), 401);
  });

  // Moved from auth.test.ts, which checks the strict counterpart (the rsessionid login refused).
  it('expire-sessions invalidates every token: REST and upgrades get 401, a new login works', async () => {
    const sim = await lenient();
    const token = await login(sim);
    assert.equal((await rest(sim, 'POST', '/_sim/expire-sessions')).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` }), 401);
    const again = await login(sim);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: again })).status, 200);
  });

  // Moved from ws.test.ts, which checks the strict counterpart (errormsg).
  it('answers unknown methods with an error reply and survives malformed frames', async () => {
    const sim = await lenient();
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const unknown = await ws.request('no_such_method');
    assert.equal(unknown.result, 'error');
    assert.equal(typeof (unknown.error as { code: unknown }).code, 'string');
    assert.equal(typeof (unknown.error as { message: unknown }).message, 'string');
    for (const junk of ['not json', '{"a":1}', '[]', '[1,2]', '"text"', 'null']) ws.ws.send(junk);
    ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.ws.send('["subscribe", 5]');
    const [method, bad] = await ws.next((f) => f[0] === 'subscribe_result');
    assert.equal(method, 'subscribe_result');
    assert.equal(bad.result, 'error');
    assert.equal((await ws.request('connection_info')).result, 'ok', 'the socket still works');
    const logged = sim.requests().filter((r) => r.kind === 'ws');
    assert.ok(logged.some((r) => r.method === '' && r.body === 'not json'), 'malformed frames are logged');
    assert.ok(logged.some((r) => r.method === 'no_such_method' && r.path === TOKEN_WS_PATH));
  });

  // Moved from faults.test.ts, which checks the strict counterpart (errormsg, no code).
  it('subscribeError: the next count subscribes get an error reply', async () => {
    const sim = await lenient();
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    await rest(sim, 'POST', '/_sim/faults', { body: { subscribeError: { count: 1, code: 503, message: 'busy' } } });
    const refused = await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    assert.equal(refused.result, 'error');
    assert.deepEqual(refused.error, { code: 503, message: 'busy' });
    assert.equal(sim.subscriptions().length, 0);
    assert.equal((await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 })).result, 'ok');
  });

  // Moved from calls.test.ts, which checks the strict counterpart (errormsg).
  it('ccs bye over the token WebSocket ends a call; unknown idconn is an error reply', async () => {
    const sim = await lenient({ dlgStopDelayMs: 0 });
    const token = await login(sim);
    const created = await rest(sim, 'POST', '/rest/v1/uc/calls', { token, body: { from: '+79161112233', to: '101' } });
    const id = (created.body as { id: string }).id;
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const ok = await ws.request('bye', { owner: '', idcall: '', idconn: id });
    assert.equal(ok.result, 'ok');
    assert.equal(sim.getCall(id).state, 'ended');
    const bad = await ws.request('bye', { idconn: id });
    assert.equal(bad.result, 'error');
    assert.equal((bad.error as { code: string }).code, 'not_found');
  });

  // Moved from calls.test.ts, which checks the strict counterpart (referring_invite, string flags).
  it('REFER: same connectionid, new B leg and tonum, answered at once', async () => {
    const sim = await lenient({ dlgStopDelayMs: 0 });
    const token = await login(sim);
    const rec = recorder(sim);
    const verb = (method: string, path: string, body: unknown): ReturnType<typeof rest> => rest(sim, method, `/rest/v1/uc/calls${path}`, { token, body });
    const id = ((await verb('POST', '', { from: '+79161112233', to: '101' })).body as { id: string }).id;
    const before = sim.getCall(id);
    await verb('NOTIFY', `/${id}`, { event: 'talk' });
    rec.clear();
    assert.equal((await verb('REFER', `/${id}`, { to: '105' })).status, 200);
    assert.deepEqual(rec.types(), [
      'callevents.dlg_call',
      'ccsevents.call_delete',
      'ccsevents.call_create',
      'ccsevents.connection_update',
      'callevents.dlg_start',
      'ccsevents.call_set_state',
    ]);
    const [dlgCall, callDelete, callCreate] = rec.events;
    assert.equal(dlgCall?.data.isreferred, true);
    assert.equal(dlgCall?.data.tonum, '105');
    assert.notEqual(dlgCall?.data.bcallid, before.bcallid);
    assert.equal(callDelete?.data.idcall, before.bcallid);
    assert.equal(callCreate?.data.idcall, dlgCall?.data.bcallid);
    assert.ok(rec.events.every((e) => e.data.connectionid === id));
    const after = sim.getCall(id);
    assert.equal(after.tonum, '105');
    assert.equal(after.state, 'talk');
    assert.equal(after.isreferred, true);
    assert.equal((await verb('REFER', `/${id}`, {})).status, 400);
  });
});

describe('simulator (both modes): pickup and the recording event name', () => {
  const start = useSimulators();

  for (const strict of [false, true]) {
    it(`pickup on a ringing call: dlg_pickup (tonum = by), then the answer (${strict ? 'strict' : 'lenient'})`, async () => {
      const sim = await start({ strict });
      const rec = recorder(sim);
      const call = sim.startCall({ from: '+79161112233', to: '101' });
      rec.clear();
      const res = await rest(sim, 'POST', `/_sim/calls/${call.id}/pickup`, { body: { by: '107' } });
      assert.equal(res.status, 200);
      assert.equal((res.body as { state: string; tonum: string }).state, 'talk');
      assert.equal((res.body as { tonum: string }).tonum, '107');
      assert.deepEqual(rec.types(), ['callevents.dlg_pickup', 'callevents.dlg_start', 'ccsevents.call_set_state']);
      assert.equal(rec.events[0]?.data.tonum, '107');
      assert.equal(rec.events[0]?.data.callednum, '101', 'the number dialled stays');
      assert.equal(rec.events[1]?.data.tonum, '107');
      assert.equal((await rest(sim, 'POST', `/_sim/calls/${call.id}/pickup`, { body: { by: '108' } })).status, 409, 'not ringing any more');
      const other = sim.startCall({ from: '+79161112233', to: '101' });
      assert.equal((await rest(sim, 'POST', `/_sim/calls/${other.id}/pickup`, { body: {} })).status, 400);
      assert.equal(sim.pickupCall(other.id, '109').tonum, '109');
    });
  }

  for (const strict of [false, true]) {
    it(`recordEventName: set_call_record_info instead of connection_set_record_info (${strict ? 'strict' : 'lenient'})`, async () => {
      const sim = await start({ strict, recordEventName: 'set_call_record_info', dlgStopDelayMs: 0 });
      const rec = recorder(sim);
      const call = sim.startCall({ from: '+79161112233', to: '101', record: true, answer: true });
      const ended = sim.hangupCall(call.id);
      const types = rec.types();
      assert.ok(types.includes('ccsevents.set_call_record_info'));
      assert.equal(types.includes('ccsevents.connection_set_record_info'), false);
      assert.equal(rec.events.find((e) => e.type === 'set_call_record_info')?.data.key, ended.recordingKey);
    });
  }
});
