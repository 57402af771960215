import assert from 'node:assert/strict';
import { resolveOptions, type Simulator, type SimulatorOptions } from '../../src/simulator';
import { assertErrormsg, eventData, isEvent, LOGIN, login, recorder, rest, TOKEN_WS_PATH, upgradeStatus, useSimulators, WS_LOGIN, WsClient, wsUrl } from './helpers';

/** The REST login without session_type: the session comes in a cookie. */
const COOKIE_LOGIN = { domain: 'demo.local', login: 'operator', pwd: 'operator' };
const IAM_DENIED = 'Access denied by IAM (route not found)';

type Reply = Record<string, unknown>;

const userSocket = (sim: Simulator, headers: Record<string, string> = {}): Promise<WsClient> => WsClient.open(wsUrl(sim, '/ws'), headers);
const tokenSocket = (sim: Simulator): Promise<WsClient> => WsClient.open(wsUrl(sim, TOKEN_WS_PATH));

/** A REST session opened with session_type "token": its id and token. */
async function restSession(sim: Simulator): Promise<{ session_id: string; session_token: string }> {
  const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN });
  assert.equal(res.status, 200);
  return res.body as { session_id: string; session_token: string };
}

describe('simulator (strict): connection setup and in-band login (§2.3)', () => {
  const start = useSimulators();
  const strict = (options: SimulatorOptions = {}): Promise<Simulator> => start({ strict: true, ...options });

  it('accepts the /ws upgrade without credentials and ignores the ones given', async () => {
    const sim = await strict();
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 101);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: 'Bearer nonsense' }), 101);
    const token = await login(sim);
    const ws = await userSocket(sim, { authorization: `Bearer ${token}` });
    assertErrormsg(await ws.request('connection_info'), /setup and login/);
  });

  it('setup before login: every capability "ok", then login_result brings the real list', async () => {
    const sim = await strict();
    sim.setFaults({ refuseCapabilities: { callrecord: IAM_DENIED } });
    const ws = await userSocket(sim);
    const setup = await ws.request('setup', { capabilities: ['subscr', { key: 'callrecord' }, 'nonsense'] });
    assert.deepEqual(setup.capabilities, [
      { key: 'subscr', result: 'ok' },
      { key: 'callrecord', result: 'ok' },
      { key: 'nonsense', result: 'ok' },
    ]);
    const before = await ws.request('subscribe', { id: 's', events: ['callevents.*'] });
    assertErrormsg(before, /login/);
    assert.doesNotMatch(String(before.errormsg), /setup/, 'setup is done; only login is missing');

    const loggedIn = await ws.request('login', WS_LOGIN);
    assert.deepEqual(Object.keys(loggedIn).sort(), ['capabilities', 'login', 'qid', 'register', 'result', 'sessionid', 'td']);
    assert.equal(loggedIn.result, 'ok');
    assert.equal(loggedIn.td, 'demo.local');
    assert.equal(loggedIn.login, 'operator');
    assert.equal(loggedIn.register, 'ok');
    assert.deepEqual(loggedIn.capabilities, [
      { key: 'subscr', result: 'ok' },
      { key: 'callrecord', result: 'error', errormsg: IAM_DENIED },
      { key: 'nonsense', result: 'error', errormsg: 'unknown capability nonsense' },
    ]);
    const info = await ws.request('connection_info');
    assert.deepEqual(info.capabilities, ['subscr']);
    assert.equal(info.ownertype, 'user');
    assert.equal(info.sessionid, loggedIn.sessionid);
    assert.equal(info.login, 'operator');
    assert.equal((await ws.request('subscribe', { id: 's', events: ['callevents.*'] })).result, 'ok');
    assertErrormsg(await ws.request('callrecord_get_path', { key: 'k' }), /^capability callrecord is not set up on this connection$/);
  });

  it('login before setup: login_result has no capabilities, setup_result the real list', async () => {
    const sim = await strict();
    sim.setFaults({ refuseCapabilities: { ccs: 'no ccs for you' } });
    const ws = await userSocket(sim);
    const loggedIn = await ws.request('login', WS_LOGIN);
    assert.deepEqual(loggedIn.capabilities, []);
    assertErrormsg(await ws.request('connection_info'), /setup/);
    const setup = await ws.request('setup', { capabilities: [{ key: 'ccs' }, { key: 'subscr' }] });
    assert.deepEqual(setup.capabilities, [
      { key: 'ccs', result: 'error', errormsg: 'no ccs for you' },
      { key: 'subscr', result: 'ok' },
    ]);
    assertErrormsg(await ws.request('bye', { idconn: 'x' }), /capability ccs/);
  });

  it('refuses every method before setup and login with an errormsg reply', async () => {
    const sim = await strict();
    const ws = await userSocket(sim);
    for (const method of ['connection_info', 'subscribe', 'bye', 'callrecord_get_path', 'no_such_method']) {
      const reply = await ws.request(method, { id: 'x', idconn: 'x', key: 'x' });
      assertErrormsg(reply, /not set up.*setup and login/);
      assert.equal(typeof reply.qid, 'number');
    }
    assert.deepEqual(sim.subscriptions(), []);
    await ws.ready();
    assertErrormsg(await ws.request('no_such_method'), /^unknown method no_such_method$/);
    ws.ws.send('["subscribe", 5]');
    const [, bad] = await ws.next((f) => f[0] === 'subscribe_result');
    assert.equal(bad.result, 'error');
    assert.equal(typeof bad.errormsg, 'string');
    assert.equal('error' in bad, false);
  });

  it('token API: the token on the upgrade, then setup before anything else; login is not used there', async () => {
    const sim = await strict();
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/wrong')), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1')), 401);
    const ws = await tokenSocket(sim);
    const early = await ws.request('connection_info');
    assertErrormsg(early, /setup/);
    assert.doesNotMatch(String(early.errormsg), /login/, 'the token replaces the login');
    assertErrormsg(await ws.request('login', WS_LOGIN), /^login is not used on the token API$/);
    const setup = await ws.request('setup', { capabilities: ['subscr', 'callrecord', 'ccs', 'ivrapi'] });
    assert.deepEqual(
      setup.capabilities,
      ['subscr', 'callrecord', 'ccs', 'ivrapi'].map((key) => ({ key, result: 'ok' })),
      'authorised already: the real list at once',
    );
    const info = await ws.request('connection_info');
    assert.equal(info.ownertype, 'token');
    assert.deepEqual(info.capabilities, ['subscr', 'callrecord', 'ccs', 'ivrapi']);
    assert.equal(info.sessionid, info.connectionid);
    assert.equal('login' in info, false);
  });

  it('gates each method by its capability; a new setup changes what is granted', async () => {
    const sim = await strict({ dlgStopDelayMs: 0 });
    const ws = await tokenSocket(sim);
    assert.equal((await ws.request('setup', { capabilities: ['rest'] })).result, 'ok');
    assert.equal((await ws.request('connection_info')).result, 'ok', 'connection_info needs no capability');
    assertErrormsg(await ws.subscribe({ id: 's', events: ['callevents.*'] }), /^capability subscr is not set up on this connection$/);
    assertErrormsg(await ws.request('callrecord_get_path', { key: 'k' }), /capability callrecord/);
    const call = sim.startCall({ from: '+79161112233', to: '101' });
    assertErrormsg(await ws.request('bye', { idconn: call.id }), /capability ccs/);
    assert.equal(sim.getCall(call.id).state, 'ring', 'the refused bye did nothing');

    await ws.request('setup', { capabilities: [{ key: 'subscr' }, { key: 'ccs' }] });
    assert.equal((await ws.subscribe({ id: 's', events: ['callevents.*'] })).result, 'ok');
    assert.equal((await ws.request('bye', { idconn: call.id })).result, 'ok');
    assert.equal(sim.getCall(call.id).state, 'ended');
  });

  it('refuseCapabilities is set and cleared through /_sim/faults', async () => {
    const sim = await strict();
    const set = await rest(sim, 'POST', '/_sim/faults', { body: { refuseCapabilities: { subscr: 'denied by test' } } });
    assert.deepEqual(set.body, { refuseCapabilities: { subscr: 'denied by test' } });
    const ws = await tokenSocket(sim);
    const refused = await ws.request('setup', { capabilities: ['subscr'] });
    assert.equal(refused.result, 'ok', 'the setup itself succeeds');
    assert.deepEqual(refused.capabilities, [{ key: 'subscr', result: 'error', errormsg: 'denied by test' }]);
    assertErrormsg(await ws.subscribe({ id: 's', events: ['callevents.*'] }), /capability subscr/);
    assert.deepEqual((await rest(sim, 'DELETE', '/_sim/faults')).body, {});
    assert.deepEqual((await ws.request('setup', { capabilities: ['subscr'] })).capabilities, [{ key: 'subscr', result: 'ok' }]);
    assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: { refuseCapabilities: ['subscr'] } })).status, 400);
    assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: { refuseCapabilities: { subscr: 5 } } })).status, 400);
  });

  it('refuses a setup without a capabilities array, or with entries that name nothing', async () => {
    const sim = await strict();
    const ws = await tokenSocket(sim);
    assertErrormsg(await ws.request('setup'), /capabilities/);
    assertErrormsg(await ws.request('setup', { capabilities: 'subscr' }), /capabilities/);
    assertErrormsg(await ws.request('setup', { capabilities: [{ name: 'subscr' }] }), /capability/);
    assertErrormsg(await ws.request('connection_info'), /setup/, 'a refused setup sets nothing up');
  });

  it('logs in by rsessionid: the REST session_id or its session_token; the WS session is that session', async () => {
    const sim = await strict();
    const { session_id: id, session_token: token } = await restSession(sim);
    const byId = await userSocket(sim);
    const first = await byId.ready({ login: { rsessionid: id } });
    assert.equal(first.sessionid, id);
    assert.equal((await byId.request('connection_info')).sessionid, id);
    const byToken = await userSocket(sim);
    assert.equal((await byToken.ready({ login: { rsessionid: token } })).sessionid, id);

    const cookieLogin = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: COOKIE_LOGIN });
    const cookie = String(cookieLogin.headers['set-cookie']).split(';')[0] as string;
    const current = (await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { cookie })).body as { session_id: string };
    const byCurrent = await userSocket(sim);
    assert.equal((await byCurrent.ready({ login: { rsessionid: current.session_id } })).sessionid, current.session_id);
  });

  it('a refused login leaves the socket open for the other form', async () => {
    const sim = await strict();
    const ws = await userSocket(sim);
    assertErrormsg(await ws.request('login', { rsessionid: 'stale-session' }), /rsessionid|session/);
    assertErrormsg(await ws.request('login', { ...WS_LOGIN, pwd: 'wrong' }), /wrong domain, login or password/);
    const ok = await ws.request('login', WS_LOGIN);
    assert.equal(ok.result, 'ok');
    assert.equal(typeof ok.sessionid, 'string');
  });

  it('failed WS logins count toward the ban: after 5 the address gets 403 on REST and upgrades', async () => {
    const sim = await strict();
    const ws = await userSocket(sim);
    for (let i = 0; i < 5; i++) assertErrormsg(await ws.request('login', { ...WS_LOGIN, pwd: `wrong${i}` }), /wrong/);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 403);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 403, 'a banned address still gets 403 on /ws');
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 403);
    assertErrormsg(await ws.request('login', WS_LOGIN), /too many failed logins/);
  });

  it('a good WS login clears the failures counted so far, as a good REST login does', async () => {
    const sim = await strict();
    const ws = await userSocket(sim);
    for (let i = 0; i < 4; i++) await ws.request('login', { ...WS_LOGIN, pwd: 'wrong' });
    assert.equal((await ws.request('login', WS_LOGIN)).result, 'ok');
    for (let i = 0; i < 4; i++) await ws.request('login', { ...WS_LOGIN, pwd: 'wrong' });
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 200, 'eight failures, but never five in a row');
  });

  it('an unknown rsessionid counts toward the ban; injected refusals do not', async () => {
    const sim = await strict({ banThreshold: 2 });
    const ws = await userSocket(sim);
    sim.setFaults({ refuseWsLogin: { count: 2 }, refuseRsessionid: { count: 1 } });
    assertErrormsg(await ws.request('login', WS_LOGIN), /injected/);
    assertErrormsg(await ws.request('login', { rsessionid: 'whatever' }), /injected/);
    assertErrormsg(await ws.request('login', { rsessionid: 'whatever' }), /injected/);
    assert.deepEqual(sim.faults, {});
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'demo-token' })).status, 200, 'not banned');
    for (let i = 0; i < 2; i++) assertErrormsg(await ws.request('login', { rsessionid: `stale-${i}` }), /no live session/);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'demo-token' })).status, 403);
  });

  it('loginDomainField: "td" (default) and "domain" read the domain from that field only', async () => {
    const { pwd, login: name } = WS_LOGIN;
    const tdSim = await strict();
    const td = await userSocket(tdSim);
    assertErrormsg(await td.request('login', { login: name, pwd, domain: 'demo.local' }), /wrong/);
    assert.equal((await td.request('login', { login: name, pwd, td: 'demo.local', domain: 'demo.local' })).result, 'ok');

    const domainSim = await strict({ loginDomainField: 'domain' });
    const older = await userSocket(domainSim);
    assertErrormsg(await older.request('login', { login: name, pwd, td: 'demo.local' }), /wrong domain, login or password/);
    assert.equal((await older.request('login', { login: name, pwd, domain: 'demo.local' })).result, 'ok');
    assert.equal((await older.request('login', { login: name, pwd, td: 'demo.local', domain: 'demo.local' })).result, 'ok');
    assert.throws(() => resolveOptions({ loginDomainField: 'tdomain' as SimulatorOptions['loginDomainField'] }), /loginDomainField/);
  });

  it('knowsSetup false: setup is an unknown method, and nothing needs it', async () => {
    const sim = await strict({ knowsSetup: false });
    const tws = await tokenSocket(sim);
    const setup = await tws.request('setup', { capabilities: ['subscr'] });
    assert.deepEqual(Object.keys(setup).sort(), ['errormsg', 'qid', 'result'], 'code-less');
    assert.equal(setup.errormsg, 'unknown method setup');
    const info = await tws.request('connection_info');
    assert.deepEqual(info.capabilities, ['rest', 'subscr', 'ccs', 'callrecord', 'ivrapi', 'svcscript', 'dmsbatch', 'dmsquery', 'msg']);
    assert.equal((await tws.subscribe({ id: 's', events: ['callevents.*'] })).result, 'ok', 'served at once on the token API');

    const uws = await userSocket(sim);
    const early = await uws.request('subscribe', { id: 's', events: ['callevents.*'] });
    assertErrormsg(early, /login/);
    assert.doesNotMatch(String(early.errormsg), /setup/);
    assert.deepEqual((await uws.request('login', WS_LOGIN)).capabilities, []);
    assert.equal((await uws.subscribe({ id: 's', events: ['callevents.*'] })).result, 'ok');
  });

  it('setupError refuses the next count setups as a whole', async () => {
    const sim = await strict();
    await rest(sim, 'POST', '/_sim/faults', { body: { setupError: { count: 1, errormsg: 'maintenance' } } });
    const ws = await tokenSocket(sim);
    const refused = await ws.request('setup', { capabilities: ['subscr'] });
    assertErrormsg(refused, /^maintenance$/);
    assert.equal('capabilities' in refused, false);
    assertErrormsg(await ws.request('connection_info'), /setup/);
    assert.equal((await ws.request('setup', { capabilities: ['subscr'] })).result, 'ok');
    sim.setFaults({ setupError: { count: 1 } });
    assertErrormsg(await ws.request('setup', {}), /capabilities/);
    assert.deepEqual(sim.faults, { setupError: { count: 1 } }, 'a malformed setup does not use it up');
    assertErrormsg(await ws.request('setup', { capabilities: ['subscr'] }), /^setup refused \(injected fault\)$/);
    assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: { setupError: { count: 1, errormsg: 7 } } })).status, 400);
  });

  it('setupHang leaves setup unanswered while it is set', async () => {
    const sim = await strict();
    sim.setFaults({ setupHang: true });
    const ws = await tokenSocket(sim);
    ws.send('setup', { qid: 'hung', capabilities: ['subscr'] });
    assert.deepEqual(await ws.collect(150, (f) => f[0] === 'setup_result'), []);
    assertErrormsg(await ws.request('connection_info'), /setup/, 'the hung setup set nothing up');
    sim.setFaults({ setupHang: null });
    assert.equal((await ws.request('setup', { capabilities: ['subscr'] })).result, 'ok');
  });

  it('refuseWsLogin refuses the next count logins of either form', async () => {
    const sim = await strict();
    const { session_id: id } = await restSession(sim);
    sim.setFaults({ refuseWsLogin: { count: 2, errormsg: 'IAM unavailable' } });
    const ws = await userSocket(sim);
    assertErrormsg(await ws.request('login', { rsessionid: id }), /^IAM unavailable$/);
    assertErrormsg(await ws.request('login', WS_LOGIN), /^IAM unavailable$/);
    assert.equal((await ws.request('login', WS_LOGIN)).result, 'ok');
    assert.deepEqual(sim.faults, {}, 'used up');
  });

  it('refuseRsessionid refuses rsessionid logins only; login/pwd/td still works', async () => {
    const sim = await strict();
    const { session_id: id } = await restSession(sim);
    await rest(sim, 'POST', '/_sim/faults', { body: { refuseRsessionid: { count: 1 } } });
    const ws = await userSocket(sim);
    assertErrormsg(await ws.request('login', { rsessionid: id }), /rsessionid/);
    assert.deepEqual(sim.faults, {});
    assert.equal((await ws.request('login', WS_LOGIN)).result, 'ok');
    sim.setFaults({ refuseRsessionid: { count: 1 } });
    const other = await userSocket(sim);
    assert.equal((await other.request('login', WS_LOGIN)).result, 'ok', 'the password form does not use it up');
    assert.deepEqual(sim.faults, { refuseRsessionid: { count: 1 } });
  });

  it('logs setup and login frames like any other frame', async () => {
    const sim = await strict();
    const ws = await userSocket(sim);
    await ws.ready({ capabilities: ['subscr'] });
    const frames = sim.requests().filter((r) => r.kind === 'ws' && r.method !== 'upgrade');
    assert.deepEqual(
      frames.map((r) => `${r.method} ${r.path}`),
      ['setup /ws', 'login /ws'],
    );
    assert.deepEqual((frames[0]?.body as { capabilities: unknown }).capabilities, ['subscr']);
    assert.equal((frames[1]?.body as { td: unknown }).td, 'demo.local');
  });
});


describe('simulator (strict): REST login (§2.1)', () => {
  const start = useSimulators();

  it('accepts session_type "token" or none; any other value is a 400 that does not count toward the ban', async () => {
    const sim = await start({ strict: true, banThreshold: 2 });
    for (const sessionType of ['api', '', null, 1]) {
      const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, session_type: sessionType } });
      assert.equal(res.status, 400, String(sessionType));
      assert.deepEqual(Object.keys(res.body as Reply).sort(), ['errormsg', 'result']);
      assert.equal((res.body as Reply).result, 'error');
      assert.match(String((res.body as Reply).errormsg), /^unknown session_type /);
    }
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, session_type: 'api' } })).text, '{"result":"error","errormsg":"unknown session_type api"}');
    const token = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN });
    assert.equal(token.status, 200, 'five refusals and no ban');
    const body = token.body as Reply;
    assert.equal(typeof body.session_token, 'string');
    assert.equal(typeof body.session_id, 'string');
    const cookie = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: COOKIE_LOGIN });
    assert.match(String(cookie.headers['set-cookie']), /^EraSession=/);
    assert.equal(typeof (cookie.body as Reply).session_id, 'string');
    assert.equal((cookie.body as Reply).session_token, undefined);
  });

  it('sessionCookie names the cookie, and only that name authorises', async () => {
    const sim = await start({ strict: true, sessionCookie: 'RSession' });
    const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: COOKIE_LOGIN });
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /^RSession=[^;]+; Path=\/; HttpOnly$/);
    const value = (setCookie.split(';')[0] as string).slice('RSession='.length);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { cookie: `RSession=${value}` })).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { cookie: `EraSession=${value}` })).status, 401);
    assert.throws(() => resolveOptions({ sessionCookie: 'bad name;' }), /sessionCookie/);
  });
});

describe('simulator (strict): call events (§5.1)', () => {
  const start = useSimulators();

  it('invite carries the documented fields, the transfer flags as strings, and no isreplaced', async () => {
    const sim = await start({ strict: true });
    const ws = await tokenSocket(sim);
    await ws.request('setup', { capabilities: ['subscr'] });
    await ws.subscribe({ id: 's', events: ['callevents.invite', 'callevents.dlg_call'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    const outer = eventData(await ws.next(isEvent));
    assert.equal(outer.callednum, '101');
    assert.equal(outer.fromusername, '+79161112233');
    assert.equal(outer.fromdomain, 'demo.local');
    assert.equal(outer.fromouter, true);
    assert.equal(outer.urifrom, 'sip:+79161112233@demo.local');
    assert.equal(outer.urito, 'sip:101@demo.local');
    assert.equal(outer.urireferedby, '');
    assert.equal(outer.isreferred, 'false');
    assert.equal(outer.isreplacing, 'false');
    assert.equal('isreplaced' in outer, false);
    const dlgCall = eventData(await ws.next(isEvent));
    assert.equal(dlgCall.isreferred, 'false');
    sim.startCall({ from: '102', to: '101' });
    assert.equal(eventData(await ws.next(isEvent)).fromouter, false);
  });

  it('REFER: referring_invite before the new dlg_call; flags as strings', async () => {
    const sim = await start({ strict: true });
    const rec = recorder(sim);
    const call = sim.startCall({ from: '+79161112233', to: '101', answer: true });
    rec.clear();
    assert.equal((await rest(sim, 'REFER', `/rest/v1/uc/calls/${call.id}`, { token: 'demo-token', body: { to: '105' } })).status, 200);
    assert.deepEqual(rec.types(), [
      'callevents.referring_invite',
      'callevents.dlg_call',
      'ccsevents.call_delete',
      'ccsevents.call_create',
      'ccsevents.connection_update',
      'callevents.dlg_start',
      'ccsevents.call_set_state',
    ]);
    const [referring, dlgCall] = rec.events;
    for (const field of ['eventid', 'eventts', 'cid', 'connectionid', 'invitets', 'invitedt', 'acallid', 'fromnum', 'dir']) {
      assert.ok(referring?.data[field] !== undefined, field);
    }
    assert.equal(referring?.data.tonum, '105');
    assert.equal(referring?.data.connectionid, call.id);
    assert.equal(dlgCall?.data.isreferred, 'true');
    assert.equal(dlgCall?.data.isreplacing, 'false');
    assert.equal('isreplaced' in (dlgCall?.data ?? {}), false);
    assert.equal(rec.events.find((e) => e.type === 'dlg_start')?.data.isreferred, 'true');
  });

  it('REFERREPLACES: replaces_refer and replaces_invite, then the replaced call ends, then dlg_call isreplacing "true"', async () => {
    const sim = await start({ strict: true });
    const rec = recorder(sim);
    const customer = sim.startCall({ from: '+79161112233', to: '101', answer: true });
    const consult = sim.startCall({ from: '101', to: '102', answer: true });
    rec.clear();
    const res = await rest(sim, 'REFERREPLACES', `/rest/v1/uc/calls/${customer.id}`, { token: 'demo-token', body: { replaces: consult.id } });
    assert.equal(res.status, 200);
    const types = rec.events.map((e) => `${e.type}@${e.data.connectionid === customer.id ? 'customer' : 'consult'}`);
    assert.deepEqual(types.slice(0, 3), ['replaces_refer@customer', 'replaces_invite@customer', 'dlg_end@consult']);
    for (const e of rec.events.slice(0, 2)) {
      assert.equal(e.data.tonum, '102', 'the new party');
      assert.equal(e.data.fromnum, '+79161112233');
      assert.equal(e.data.cid, customer.cid);
    }
    const dlgCall = rec.events.find((e) => e.type === 'dlg_call');
    assert.equal(dlgCall?.data.isreferred, 'true');
    assert.equal(dlgCall?.data.isreplacing, 'true');
    assert.equal('isreplaced' in (dlgCall?.data ?? {}), false);
  });
});
