import assert from 'node:assert/strict';
import { RequestLog } from '../../src/simulator/requestlog';
import type { SimRequestLog } from '../../src/simulator';
import { LOGIN, login, rest, upgradeStatus, useSimulators, WsClient, wsUrl } from './helpers';

describe('simulator: login, sessions and the ban', () => {
  const start = useSimulators();

  it('gives a session token when session_type is sent, and it authorises REST', async () => {
    const sim = await start();
    const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN });
    assert.equal(res.status, 200);
    const token = (res.body as { session_token: string }).session_token;
    assert.ok(token.length > 10);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 200);
    const current = await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { token });
    assert.equal(current.status, 200);
    assert.equal((current.body as { login: string }).login, 'operator');
  });

  it('sets the EraSession cookie without session_type, and the cookie authorises REST', async () => {
    const sim = await start();
    const res = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { domain: 'demo.local', login: 'operator', pwd: 'operator' } });
    assert.equal(res.status, 200);
    assert.equal((res.body as Record<string, unknown>).session_token, undefined);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /^EraSession=[^;]+/);
    const cookie = setCookie.split(';')[0] as string;
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { cookie })).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { cookie: 'EraSession=forged' })).status, 401);
  });

  it('answers 401 with a JSON error to wrong credentials and to requests without authorisation', async () => {
    const sim = await start();
    const bad = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'wrong' } });
    assert.equal(bad.status, 401);
    assert.equal(typeof (bad.body as { error: { code: unknown } }).error.code, 'string');
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, domain: 'other.local' } })).status, 401);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls')).status, 401);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'nonsense' })).status, 401);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: '{broken' })).status, 400);
  });

  it('accepts the integration token on REST without a login (token mode)', async () => {
    const sim = await start();
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'demo-token' })).status, 200);
    const current = await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { token: 'demo-token' });
    assert.equal((current.body as { ownertype: string }).ownertype, 'token');
  });

  // A strict /ws takes no credentials on the upgrade: an ended session shows in the in-band
  // login by rsessionid instead (the lenient upgrade's 401 is checked in lenient.test.ts).
  it('logout ends the session: REST and the WebSocket login by rsessionid refuse it', async () => {
    const sim = await start();
    const token = await login(sim);
    assert.equal((await rest(sim, 'DELETE', '/rest/v1/iam/sessions/current', { token })).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { token })).status, 401);
    const ws = await WsClient.open(wsUrl(sim, '/ws'));
    assert.match(String((await ws.request('login', { rsessionid: token })).errormsg), /no live session/);
  });

  it('expire-sessions invalidates every token: REST gets 401, the rsessionid login is refused, a new login works', async () => {
    const sim = await start();
    const token = await login(sim);
    assert.equal((await rest(sim, 'POST', '/_sim/expire-sessions')).status, 200);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 401);
    const ws = await WsClient.open(wsUrl(sim, '/ws'));
    assert.match(String((await ws.request('login', { rsessionid: token })).errormsg), /no live session/);
    const again = await login(sim);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: again })).status, 200);
    assert.equal((await ws.request('login', { rsessionid: again })).result, 'ok');
  });

  it('bans an address after banThreshold failed logins: everything but /_sim/ is refused with 403', async () => {
    const sim = await start({ banThreshold: 3, banWindowMs: 10_000, banMs: 60_000 });
    const token = await login(sim);
    for (let i = 0; i < 3; i++) {
      assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: `wrong${i}` } })).status, 401);
    }
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 403, 'even the right password');
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 403, 'even a valid session');
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 403, 'and upgrades');
    assert.equal((await rest(sim, 'GET', '/_sim/calls')).status, 200, 'never the control API');
    assert.equal((await rest(sim, 'POST', '/_sim/reset')).status, 200);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 200, 'reset clears bans');
  });

  it('lifts the ban after banMs, and failures older than banWindowMs do not count', async () => {
    const sim = await start({ banThreshold: 2, banWindowMs: 250, banMs: 200 });
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'x' } })).status, 401);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'x' } })).status, 401);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 200, 'the first failure had left the window');
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'x' } })).status, 401);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'x' } })).status, 401);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 403);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 200);
  });

  it('logs REST requests with the headers that matter and their status', async () => {
    const sim = await start();
    const seen: string[] = [];
    sim.on('request', (r) => seen.push(`${r.method} ${r.path} ${r.status}`));
    const token = await login(sim);
    await rest(sim, 'GET', '/rest/v1/uc/calls', { token, headers: {} });
    await rest(sim, 'GET', '/rest/v1/uc/calls?offset=0&limit=5', { token });
    const log = (await rest(sim, 'GET', '/_sim/requests')).body as Array<Record<string, unknown>>;
    assert.equal(log.length, 3, 'the control API itself is not logged');
    assert.deepEqual((log[0] as { body: unknown }).body, LOGIN);
    assert.equal((log[1] as { headers: { authorization: string } }).headers.authorization, `Bearer ${token}`);
    assert.deepEqual((log[2] as { query: unknown }).query, { offset: '0', limit: '5' });
    assert.deepEqual(seen, ['POST /rest/v1/iam/sessions 200', 'GET /rest/v1/uc/calls 200', 'GET /rest/v1/uc/calls 200']);
    assert.equal((await rest(sim, 'DELETE', '/_sim/requests')).status, 200);
    assert.deepEqual(sim.requests(), []);
  });

  it('keeps only the newest entries of the request log', () => {
    const log = new RequestLog(() => undefined, 3);
    const entry = (n: number): SimRequestLog => ({ kind: 'ws', ts: n, method: `m${n}`, path: '/ws', query: {}, headers: {}, body: undefined });
    for (let n = 1; n <= 5; n++) log.add(entry(n));
    assert.deepEqual(log.list().map((e) => e.method), ['m3', 'm4', 'm5']);
    log.clear();
    log.add(entry(6));
    assert.deepEqual(log.list().map((e) => e.method), ['m6']);
  });
});
