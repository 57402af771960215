/**
 * The documented connection setup (era-platform.md §2.3) against the strict simulator: `setup`,
 * the socket's own `login` in both forms, refused capabilities, older builds, the ban, and the
 * platform's words (`errormsg`) in what a user sees.
 */
import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import type { EraError } from '../../src/era/errors';
import { cleanSim, leaveClean } from './ban-helpers';
import { Collector, ctl, faults, newLog, requests, sim, sleep, startCall, subscribed, tokenClient, userClient, waitFor, waitForState, type SimRequest, type Simulator } from './helpers';

const wsFrames = async (s: Simulator, method: string): Promise<SimRequest[]> =>
  (await requests(s)).filter((r) => r.kind === 'ws' && r.method === method);

/** The keys of each socket login sent, without the qid: which form it was. */
const loginForms = async (s: Simulator): Promise<string[]> =>
  (await wsFrames(s, 'login')).map((r) => Object.keys(r.body as object).filter((k) => k !== 'qid').sort().join(','));

describe('client: connection setup (§2.3)', function () {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });
  after(leaveClean);

  it('sets the socket up, logs it in with the REST session\'s id, and only then subscribes', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    const got = new Collector();
    c.listen({ events: ['callevents.*'] }, got.push);
    await subscribed(s);
    const order = (await requests(s)).filter((r) => r.kind === 'ws' && r.method !== 'upgrade').map((r) => r.method);
    assert.deepEqual(order.slice(0, 3), ['setup', 'login', 'subscribe']);
    const setup = (await wsFrames(s, 'setup'))[0]!.body as { capabilities: Array<{ key: string }> };
    assert.deepEqual(setup.capabilities.map((cap) => cap.key), ['subscr', 'ccs', 'callrecord']);
    assert.deepEqual(await loginForms(s), ['rsessionid']);
    assert.equal(c.connectionSetup?.login, 'session id');
    assert.equal(c.connectionSetup?.capabilities?.get('subscr')?.ok, true);
    const call = await startCall(s);
    await got.waitFor('events', (e) => e.connectionId === call.id);
  });

  it('sets up the token socket with no login', async () => {
    s = await sim();
    const c = track(tokenClient(s.url));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s);
    assert.equal((await wsFrames(s, 'setup')).length, 1);
    assert.deepEqual(await loginForms(s), []);
  });

  it('a setup refused as a whole: the platform\'s words in the state, no subscribe, tried again', async () => {
    s = await sim();
    await faults(s, { setupError: { count: 2, errormsg: 'setup is disabled for this account' } });
    const c = track(userClient(s.url));
    const details: string[] = [];
    c.on('state', (st, d) => st === 'disconnected' && d !== undefined && details.push(d));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s);
    assert.ok(details.includes('the platform refused the connection setup: setup is disabled for this account'), details.join(' | '));
    assert.equal((await wsFrames(s, 'setup')).length, 3, 'two refused, the third went through');
    assert.equal((await wsFrames(s, 'subscribe')).length, 1, 'nothing subscribed before the setup succeeded');
  });

  it('no setup_result in time: disconnected with that reason, and tried again', async () => {
    s = await sim();
    await faults(s, { setupHang: true });
    const c = track(userClient(s.url, { requestTimeoutMs: 300 }));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    const detail = await waitForState(c, 'disconnected', 3000);
    assert.match(String(detail), /^no answer to the connection setup: setup: no answer from .* within 0\.3 s$/);
    await waitFor('a second setup', async () => (await wsFrames(s, 'setup')).length >= 2, 3000);
    assert.equal((await wsFrames(s, 'subscribe')).length, 0);
    await faults(s, { setupHang: null });
    await subscribed(s);
  });

  it('subscr refused: says so in the state with the platform\'s words, sends no subscribe, and asks again for every capability', async function () {
    // The re-ask comes 0-30 s after the refusal (full jitter).
    this.timeout(45_000);
    s = await sim();
    await faults(s, { refuseCapabilities: { subscr: 'Access denied by IAM (route not found)', callrecord: 'Access denied by IAM (route not found)' } });
    const log = newLog();
    const c = track(userClient(s.url, {}, log));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    const detail = await waitFor('connected with a detail', () => c.state === 'connected' && c.stateDetail !== undefined).then(() => c.stateDetail);
    assert.equal(detail, 'events refused (subscr): Access denied by IAM (route not found)');
    assert.ok(log.warn.some((w) => w.startsWith('The platform refused the "subscr" capability: Access denied by IAM (route not found): no call events will arrive')), log.warn.join(' | '));
    await sleep(200);
    assert.equal((await wsFrames(s, 'subscribe')).length, 0, 'no subscribe without subscr');
    // The account is given the rights: the re-ask must keep every capability, since a later
    // setup replaces the earlier one, and take every answer of it.
    await ctl(s, 'DELETE', 'faults');
    await waitFor('the re-ask', async () => (await wsFrames(s, 'setup')).length >= 2, 35_000);
    const reask = (await wsFrames(s, 'setup'))[1]!.body as { capabilities: Array<{ key: string }> };
    assert.deepEqual(reask.capabilities.map((cap) => cap.key), ['subscr', 'ccs', 'callrecord']);
    await subscribed(s);
    assert.equal(c.stateDetail, undefined);
    assert.equal(c.connectionSetup?.capabilities?.get('callrecord')?.ok, true, 'callrecord granted now too');
    assert.equal(c.connectionSetup?.capabilities?.get('ccs')?.ok, true);
  });

  it('callrecord refused on the token API: recording links come over REST instead', async () => {
    s = await sim();
    await faults(s, { refuseCapabilities: { callrecord: 'Access denied by IAM (route not found)' } });
    const call = await startCall(s, { record: true, answer: true });
    await ctl(s, 'POST', `calls/${encodeURIComponent(call.id)}/hangup`, {});
    const key = (await ctl<{ recordingKey: string }>(s, 'GET', `calls/${encodeURIComponent(call.id)}`)).recordingKey;
    const c = track(tokenClient(s.url));
    const link = await c.fetchRecording(key, { output: 'url' });
    assert.match(link.url, /\/temp\/[a-z0-9]+\.mp3$/);
    assert.equal((await wsFrames(s, 'callrecord_get_path')).length, 0, 'the socket was not asked');
    assert.ok((await requests(s)).some((r) => r.kind === 'rest' && r.path === '/api/admin/v1/callrecords'), 'REST was');
  });

  it('a build that does not know setup: goes on without it and says so once', async () => {
    s = await sim({ knowsSetup: false });
    const log = newLog();
    const c = track(userClient(s.url, {}, log));
    const got = new Collector();
    c.listen({ events: ['callevents.*'] }, got.push);
    await subscribed(s);
    assert.equal(c.connectionSetup?.setupKnown, false);
    assert.deepEqual(log.warn.filter((w) => w.includes('"setup"')), ['This Era version does not know the WebSocket method "setup" (unknown method setup); going on without it']);
    const call = await startCall(s);
    await got.waitFor('events', (e) => e.connectionId === call.id);
  });

  it('the session id refused: falls back to the password once, and later connections use the password', async () => {
    s = await sim();
    await faults(s, { refuseRsessionid: { count: 1 } });
    const c = track(userClient(s.url));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s);
    assert.deepEqual(await loginForms(s), ['rsessionid', 'domain,login,pwd,td']);
    await ctl(s, 'POST', 'drop');
    await waitForState(c, 'connected', 3000);
    await subscribed(s);
    assert.deepEqual((await loginForms(s)).slice(2), ['domain,login,pwd,td']);
  });

  it('both socket logins refused: auth failed for good, after exactly two tries and no loop', async () => {
    s = await sim();
    await faults(s, { refuseWsLogin: { count: 100, errormsg: 'account locked' } });
    const c = track(userClient(s.url));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    const detail = await waitForState(c, 'auth_failed', 3000);
    assert.match(String(detail), /refused the WebSocket login for "operator" in domain "demo\.local": account locked/);
    await sleep(500);
    assert.equal((await loginForms(s)).length, 2, 'the session id, then the password, then nothing');
    await assert.rejects(c.command({ op: 'list' }), { code: 'ERA_AUTH_FAILED' });
  });

  it('an older build that reads the domain from `domain`: the socket login carries it there too', async () => {
    s = await sim({ loginDomainField: 'domain' });
    await faults(s, { refuseRsessionid: { count: 1 } });
    const c = track(userClient(s.url));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s);
    assert.equal(c.connectionSetup?.login, 'password');
  });

  it('a login answered by a ban: no loop, the state counts down, and it recovers when the ban ends', async () => {
    s = await sim({ banMs: 2500 });
    // Someone else at this address types the wrong password five times.
    for (let i = 0; i < 5; i++) {
      await fetch(`${s.url}/rest/v1/iam/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'demo.local', login: 'operator', pwd: 'wrong' }) });
    }
    const c = track(userClient(s.url, { banWaitMs: 1500 }));
    const details: string[] = [];
    c.on('state', (st, d) => st === 'disconnected' && d !== undefined && details.push(d));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitFor('a countdown', () => details.some((d) => d.startsWith('banned by the platform, retry in')), 3000);
    await assert.rejects(c.command({ op: 'list' }), (err: EraError) => err.code === 'ERA_NOT_CONNECTED' && /a ban\); trying again in \d:\d\d$/.test(err.message));
    await waitForState(c, 'connected', 10_000);
    await subscribed(s);
    const countdown = details.filter((d) => d.startsWith('banned by the platform'));
    assert.ok(new Set(countdown).size >= 2, `the status counted down: ${countdown.join(' | ')}`);
    const logins = (await requests(s)).filter((r) => r.kind === 'rest' && r.path === '/rest/v1/iam/sessions');
    assert.ok(logins.length <= 9, `no loop: ${logins.length} logins in all (5 of them the other person's)`);
    assert.equal(logins.at(-1)!.status, 200);
  });

  it('twenty requests holding a session that expired in a quiet spell wait for exactly one re-login', async () => {
    s = await sim();
    const c = track(userClient(s.url, { sessionQuietMs: 300 }));
    await c.command({ op: 'list' });
    await sleep(400);
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    const results = await Promise.all(Array.from({ length: 20 }, () => c.command({ op: 'list' })));
    assert.ok(results.every((r) => r.statusCode === 200));
    const logins = (await requests(s)).filter((r) => r.kind === 'rest' && r.path === '/rest/v1/iam/sessions');
    assert.equal(logins.length, 1);
  });

  it('a wrong password tried again and again (Test connection clicked five times at once, then more) is refused here before the platform bans the address', async () => {
    s = await cleanSim();
    const click = () => track(userClient(s.url, { password: 'wrong' })).testConnection();
    const together = await Promise.all(Array.from({ length: 5 }, click));
    assert.ok(together.every((r) => !r.ok && r.message.startsWith('Login refused')), together.map((r) => r.message).join(' | '));
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push((await click()).message);
    const logins = (await requests(s)).filter((r) => r.kind === 'rest' && r.path === '/rest/v1/iam/sessions');
    assert.equal(logins.length, 3, 'three reached the platform, which bans at five: one for the five clicks at once, two after');
    assert.match(outcomes[3]!, /^Not logging in to 127\.0\.0\.1:\d+ again for \d:\d\d: 3 failed logins or stale sessions from this address in the last 3 minutes, and the platform bans an address after 5$/);
    const res = await fetch(`${s.url}/rest/v1/iam/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'demo.local', login: 'operator', pwd: 'operator', session_type: 'token' }) });
    assert.equal(res.status, 200, 'the address is not banned');
  });

  it('puts the platform\'s errormsg in the error a user sees, and names a verb the installation does not know', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    await assert.rejects(c.wsRequest('frobnicate'), (err: EraError) => {
      assert.equal(err.message, 'This Era version does not support the WebSocket method frobnicate: unknown method frobnicate');
      return true;
    });
    await assert.rejects(c.rest('DELETE', '/rest/v1/uc/calls'), (err: EraError) => {
      assert.equal(err.code, 'ERA_HTTP');
      assert.match(err.message, /^This Era version does not support DELETE on \/rest\/v1\/uc\/calls \(HTTP 405\)/);
      return true;
    });
    await faults(s, { subscribeError: { count: 1, message: 'no rights for callevents' } });
    const log = newLog();
    const d = track(userClient(s.url, {}, log));
    d.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s);
    assert.ok(log.warn.some((w) => w.includes('no rights for callevents')), `the platform's words: ${log.warn.join(' | ')}`);
  });
});
