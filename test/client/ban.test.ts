/**
 * Ban safety (era-platform.md §2.1) against the simulator's ban model: one budget per address
 * shared by every client of the process, logins in flight counted, failures forgotten on a
 * success, and a ban — answered 403, 429 with Retry-After, or by a socket login in words —
 * waited out to its end by everyone, then recovered from without a redeploy.
 */
import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { cleanSim, failedLogins, failure, goodLoginStatus, leaveClean, othersFail } from './ban-helpers';
import { Collector, ctl, requests, sim, sleep, startCall, subscribed, tokenClient, userClient, waitFor, waitForState, type Simulator } from './helpers';

const LOGIN = '/rest/v1/iam/sessions';
const COUNTDOWN = /^banned by the platform, retry in \d:\d\d$/;

/** The simulator's URL with the host named `localhost` instead of 127.0.0.1. */
const byName = (s: Simulator): string => s.url.replace('127.0.0.1', 'localhost');

describe('client: one ban budget per address', function () {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });
  after(leaveClean);

  for (const count of [5, 20]) {
    it(`${count} clients with one wrong password, started together by name and by IP: at most 3 failures reach the platform, no ban`, async () => {
      s = await cleanSim();
      const made = Array.from({ length: count }, (_, i) => track(userClient(i % 2 ? byName(s) : s.url, { password: 'wrong' })));
      const errors = await Promise.all(made.map((c) => failure(c.command({ op: 'list' }))));
      assert.ok(errors.every((e) => e.code === 'ERA_AUTH_FAILED'), errors.map((e) => e.message).join(' | '));
      assert.ok(made.every((c) => c.state === 'auth_failed'), 'each says auth failed');
      assert.ok(errors.every((e) => !e.message.includes('wrong')), 'the password is never shown');
      const failed = await failedLogins(s);
      assert.ok(failed >= 1 && failed <= 3, `${failed} failed logins reached the platform`);
      assert.equal(await goodLoginStatus(s), 200, 'the address is not banned');
    });
  }

  it('localhost and 127.0.0.1 share one budget: clicked again and again by either name, three reach the platform', async () => {
    s = await cleanSim();
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push((await track(userClient(i % 2 ? byName(s) : s.url, { password: 'wrong' })).testConnection()).message);
    assert.equal(await failedLogins(s), 3);
    assert.match(outcomes[5]!, /^Not logging in to (localhost|127\.0\.0\.1):\d+ again for \d:\d\d: 3 failed logins or stale sessions from this address in the last 3 minutes/);
    assert.equal(await goodLoginStatus(s), 200);
  });

  it('a success forgets the failures, as the platform does: the right password after three typos works, and later typos are tried again', async () => {
    s = await cleanSim();
    for (let i = 0; i < 3; i++) assert.equal((await track(userClient(s.url, { password: 'typo' })).testConnection()).ok, false);
    assert.equal((await track(userClient(s.url)).testConnection()).ok, true, 'a password never refused gets its try');
    await ctl(s, 'DELETE', 'requests');
    for (let i = 0; i < 3; i++) assert.equal((await track(userClient(s.url, { password: 'typo' })).testConnection()).ok, false);
    assert.equal(await failedLogins(s), 3, 'the count started again after the success');
    assert.equal(await goodLoginStatus(s), 200);
  });

  it('a 4th try only for credentials never refused, and never a 5th', async () => {
    s = await cleanSim();
    for (let i = 0; i < 3; i++) await track(userClient(s.url, { password: 'first' })).testConnection();
    const again = await track(userClient(s.url, { password: 'first' })).testConnection();
    assert.match(again.message, /^Not logging in to/, 'the same password again: refused here');
    const second = await track(userClient(s.url, { password: 'second' })).testConnection();
    assert.match(second.message, /^Login refused/, 'a new password reached the platform');
    for (const password of ['third', 'second', 'first']) {
      assert.match((await track(userClient(s.url, { password })).testConnection()).message, /^Not logging in to .* 4 failed logins or stale sessions/);
    }
    assert.equal(await failedLogins(s), 4);
    assert.equal(await goodLoginStatus(s), 200, 'four failures: not banned');
  });

  it('logins in flight count: six different wrong passwords at once, at most four reach the platform', async () => {
    s = await cleanSim();
    const made = Array.from({ length: 6 }, (_, i) => track(userClient(s.url, { password: `wrong-${i}` })));
    const results = await Promise.all(made.map((c) => c.testConnection()));
    assert.ok(results.every((r) => !r.ok));
    const failed = await failedLogins(s);
    assert.ok(failed <= 4, `${failed} failed logins reached the platform`);
    assert.equal(await goodLoginStatus(s), 200);
  });

  it('three wrong Test connection clicks do not hold back a deployed client whose session expires later', async () => {
    s = await cleanSim();
    const deployed = track(userClient(s.url, { sessionQuietMs: 300 }));
    await deployed.command({ op: 'list' });
    await sleep(400); // quiet: the session may have expired
    for (let i = 0; i < 5; i++) await track(userClient(s.url, { password: 'typo' })).testConnection();
    assert.equal(await failedLogins(s), 3);
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    assert.equal((await deployed.command({ op: 'list' })).statusCode, 200);
    assert.deepEqual((await requests(s)).map((r) => `${r.method} ${r.path} ${r.status}`), [`POST ${LOGIN} 200`, 'GET /rest/v1/uc/calls 200'],
      'no room to present a session that may have expired: a login with the password, which has a place, instead');
    assert.equal(await goodLoginStatus(s), 200);
  });
});

describe('client: bans recognised everywhere', function () {
  this.timeout(30_000);
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });
  after(leaveClean);

  it('a REST login answered 403: the countdown, nothing sent by any client until it ends, then it works again', async () => {
    s = await sim({ banMs: 1500 });
    await othersFail(s, 5);
    const c = track(userClient(s.url, { banWaitMs: 2000 }));
    const details: string[] = [];
    c.on('state', (st, d) => st === 'disconnected' && d !== undefined && details.push(d));
    const first = await failure(c.command({ op: 'list' }));
    assert.equal(first.code, 'ERA_NOT_CONNECTED');
    assert.match(first.message, /^127\.0\.0\.1:\d+ refuses this address after failed logins \(a ban\); trying again in 0:0[12]$/);
    assert.match(details.at(-1) ?? '', COUNTDOWN);
    await ctl(s, 'DELETE', 'requests');
    await failure(c.command({ op: 'list' }));
    const other = track(userClient(byName(s)));
    assert.match((await failure(other.command({ op: 'list' }))).message, /a ban\); trying again in/, 'another client of the process, by another name');
    assert.equal(other.state, 'disconnected');
    assert.match(String(other.stateDetail), COUNTDOWN, 'it shows the countdown too');
    assert.match((await other.testConnection()).message, /a ban\)/);
    assert.deepEqual(await requests(s), [], 'nothing reached the banned address');
    await waitForState(c, 'idle', 5000);
    assert.equal((await c.command({ op: 'list' })).statusCode, 200);
    assert.equal((await other.command({ op: 'list' })).statusCode, 200);
  });

  it('429 with Retry-After: its seconds are honoured, not the client\'s long wait', async () => {
    s = await sim({ banMs: 2000, banRestStatus: 429, banUpgrade: 429 });
    await othersFail(s, 5);
    const c = track(userClient(s.url, { banWaitMs: 600_000 }));
    const states: Array<string | undefined> = [];
    c.on('state', (_st, d) => states.push(d));
    const err = await failure(c.command({ op: 'list' }));
    assert.match(err.message, /a ban\); trying again in 0:0[12]$/, 'the platform said 2 s, not the 10 min the client would wait');
    assert.match(String(states[0]), /^banned by the platform, retry in 0:0[12]$/);
    await waitFor('the ban over', async () => (await c.testConnection()).ok, 8000);
  });

  it('a WebSocket upgrade answered 403: waited out to its end, not knocked on', async () => {
    s = await sim({ banMs: 2000 });
    await othersFail(s, 5);
    const c = track(tokenClient(s.url, { banWaitMs: 2000, reconnectMinMs: 20, reconnectMaxMs: 50 }));
    const details: string[] = [];
    c.on('state', (st, d) => st === 'disconnected' && d !== undefined && details.push(d));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitFor('the countdown', () => details.some((d) => COUNTDOWN.test(d)), 3000);
    await waitForState(c, 'connected', 8000);
    const upgrades = (await requests(s)).filter((r) => r.kind === 'ws' && r.method === 'upgrade');
    assert.deepEqual(upgrades.map((r) => r.status), [403, 101], 'one refused upgrade, then the one after the ban');
    assert.notEqual(c.state, 'auth_failed');
  });

  it('a socket login refused as banned (upgrade let in): the countdown, not "auth failed", no password tried, and back after the ban', async () => {
    s = await sim({ banUpgrade: 'open', banMs: 1500 });
    const c = track(userClient(s.url, { banWaitMs: 2000 }));
    const got = new Collector();
    const states: string[] = [];
    c.on('state', (st, d) => states.push(`${st}${d ? `: ${d}` : ''}`));
    c.listen({ events: ['callevents.*'] }, got.push);
    await subscribed(s);
    await othersFail(s, 5);
    await ctl(s, 'DELETE', 'requests');
    await ctl(s, 'POST', 'drop');
    await waitFor('the countdown', () => states.some((st) => /^disconnected: banned by the platform, retry in/.test(st)), 3000);
    const during = (await requests(s)).filter((r) => r.kind === 'ws' && r.method === 'login');
    assert.deepEqual(during.map((r) => Object.keys(r.body as object).filter((k) => k !== 'qid').join()), ['rsessionid'], 'the session id once, and no password after a ban');
    await waitForState(c, 'connected', 8000);
    await subscribed(s);
    assert.ok(!states.some((st) => st.startsWith('auth_failed')), states.join(' | '));
    const call = await startCall(s);
    await got.waitFor('events after the ban', (e) => e.connectionId === call.id);
  });

  it('a burst after a quiet spell whose first request meets the ban: one reached the address, the others fail at once with the ban, none waits for a timeout', async () => {
    s = await sim({ banMs: 60_000 });
    const c = track(userClient(s.url, { banWaitMs: 60_000, sessionQuietMs: 300 }));
    await c.command({ op: 'list' });
    await othersFail(s, 5);
    await sleep(400);
    await ctl(s, 'DELETE', 'requests');
    const errors = await Promise.all(Array.from({ length: 8 }, () => failure(c.command({ op: 'list' }))));
    assert.equal(errors[0]!.statusCode, 403, 'the first went, alone, and met the ban');
    for (const err of errors.slice(1)) {
      assert.equal(err.code, 'ERA_NOT_CONNECTED', err.message);
      assert.match(err.message, /a ban\); trying again in (1:00|0:5\d)$/);
    }
    assert.equal((await requests(s)).length, 1);
  });

  it('a ban met by a command while the socket is connected: the countdown beside "connected", events still come, and it clears by itself', async () => {
    s = await sim({ banMs: 1500 });
    const c = track(userClient(s.url, { banWaitMs: 2000 }));
    const got = new Collector();
    c.listen({ events: ['callevents.*'] }, got.push);
    await subscribed(s);
    await c.command({ op: 'list' });
    await othersFail(s, 5);
    // The session is proven a moment ago: the command goes, and meets the ban.
    const err = await failure(c.command({ op: 'list' }));
    assert.equal(err.statusCode, 403);
    assert.match(err.message, /address banned/);
    assert.equal(c.state, 'connected');
    assert.match(String(c.stateDetail), COUNTDOWN);
    const call = await startCall(s);
    await got.waitFor('events over the socket authorised before the ban', (e) => e.connectionId === call.id);
    await waitFor('the countdown over', () => c.stateDetail === undefined, 5000);
    assert.equal(c.state, 'connected');
    assert.equal((await c.command({ op: 'list' })).statusCode, 200);
  });
});
