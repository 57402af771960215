/**
 * At most one request presents a session (or token) that may have expired, however many are
 * asked for at once: the platform counts every request holding an unknown session towards its
 * ban (era-platform.md §2.1), and a burst of them would ban the address before the first 401.
 */
import assert from 'node:assert/strict';
import type { EraClient, EraError } from '../../src/era';
import { startSimulator } from '../../src/simulator';
import { LOGIN_PATH as LOGIN, leaveClean, logins, stale } from './ban-helpers';
import { ctl, faults, requests, sim, sleep, subscribed, tokenClient, userClient, waitForState, type SimRequest, type Simulator } from './helpers';

/** The quiet spell after which these tests' clients take a session as possibly expired (10 s by default). */
const QUIET = { sessionQuietMs: 300 };
const pastQuiet = (): Promise<void> => sleep(400);

/** The most failures the platform's ban filter held at once, over REST: every 401 counts, an accepted login clears. */
function mostCounted(log: SimRequest[]): number {
  let count = 0;
  let most = 0;
  for (const r of log) {
    if (r.kind !== 'rest') continue;
    if (r.status === 401) most = Math.max(most, ++count);
    else if (r.path === LOGIN && r.status === 200) count = 0;
  }
  return most;
}

describe('client: one request proves a session that may have expired', function () {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });
  after(leaveClean);

  for (const count of [8, 50]) {
    it(`${count} requests at once after a quiet spell in which every session expired: one presents it, one re-login, all succeed`, async () => {
      s = await sim();
      const c = track(userClient(s.url, QUIET));
      await c.command({ op: 'list' });
      await pastQuiet();
      await ctl(s, 'POST', 'expire-sessions');
      await ctl(s, 'DELETE', 'requests');
      const results = await Promise.all(Array.from({ length: count }, () => c.command({ op: 'list' })));
      assert.ok(results.every((r) => r.statusCode === 200));
      const log = await requests(s);
      assert.equal(stale(log).length, 1, 'one stale presentation');
      assert.deepEqual(logins(log).map((r) => r.status), [200]);
      assert.equal(log.filter((r) => r.path === '/rest/v1/uc/calls' && r.status === 200).length, count);
    });
  }

  it('without a quiet spell, 4 requests at once after every session expired: only those already on their way present it, one re-login, all succeed, no ban', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    // Answered a moment ago, the session is taken as known: the four go together, as every
    // request does while answers keep coming, and each meets the expiry before any 401 is back.
    const results = await Promise.all(Array.from({ length: 4 }, () => c.command({ op: 'list' })));
    assert.ok(results.every((r) => r.statusCode === 200));
    const log = await requests(s);
    assert.ok(stale(log).length >= 1 && stale(log).length <= 4, `${stale(log).length} stale presentations`);
    assert.deepEqual(logins(log).map((r) => r.status), [200], 'one re-login, after them');
    assert.equal(stale(log.slice(log.findIndex((r) => r.path === LOGIN))).length, 0, 'nothing presented the session after the re-login');
    assert.ok(log.every((r) => r.status !== 403), 'never banned');
  });

  it('after a quiet spell of 15 s the first request goes alone and its burst waits for its answer; a session not seen working lately is not logged out', async function () {
    this.timeout(40_000);
    s = await sim();
    const c = track(userClient(s.url));
    const idle = userClient(s.url);
    await Promise.all([c.command({ op: 'list' }), idle.command({ op: 'list' })]);
    await sleep(15_000);
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    await idle.close();
    assert.deepEqual(await requests(s), [], 'no logout presented the expired session');
    // The first answer comes 300 ms late: none of the burst may arrive before it.
    await faults(s, { restDelay: { count: 1, ms: 300 } });
    const results = await Promise.all(Array.from({ length: 8 }, () => c.command({ op: 'list' })));
    assert.ok(results.every((r) => r.statusCode === 200));
    const log = (await requests(s)) as Array<SimRequest & { ts: number }>;
    assert.equal(stale(log).length, 1);
    const [first, ...rest] = log;
    assert.equal(first!.status, 401, 'the first request went alone, and met the expiry');
    assert.ok(rest.every((r) => r.ts - first!.ts >= 300 - 5), `the others waited for its answer: ${rest.map((r) => r.ts - first!.ts).join(', ')} ms after it`);
    assert.deepEqual(logins(log).map((r) => r.status), [200]);
  });

  it('a probe the platform never answers: it alone times out, the session is dropped, and one re-login proves things for the burst behind it', async () => {
    s = await sim();
    const c = track(userClient(s.url, { ...QUIET, requestTimeoutMs: 1000 }));
    await c.command({ op: 'list' });
    await pastQuiet();
    await faults(s, { restHang: { count: 1 } });
    await ctl(s, 'DELETE', 'requests');
    // The first goes alone with its 1 s; the burst behind it has time to wait for the probe's end.
    const probe = c.command({ op: 'list' });
    const burst = Array.from({ length: 7 }, () => c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 4000 }));
    const settled = await Promise.allSettled([probe, ...burst]);
    const failed = settled.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'));
    assert.deepEqual(failed, ['ERA_TIMEOUT', ...Array(7).fill('ok')], 'the probe, and only it, waited its timeout out');
    const log = await requests(s);
    assert.deepEqual(logins(log).map((r) => r.status), [200], 'the unanswered session not presented again: one login instead');
    assert.equal(log.filter((r) => r.path === '/rest/v1/uc/calls' && r.status === 200).length, 7);
  });

  it('requests queued behind a full pool of unanswered ones, the sessions expiring meanwhile: they go back to the gate, one presents the session, one re-login, all succeed, no ban', async () => {
    s = await sim();
    // The default quiet time: only the unanswered requests make the session doubtful.
    const c = track(userClient(s.url, { requestTimeoutMs: 1500 }));
    await c.command({ op: 'list' });
    await ctl(s, 'DELETE', 'requests');
    await faults(s, { restHang: { count: 16 } });
    // The pool's 16 connections hang; 20 more wait in its queue with the session's pass.
    const hung = Array.from({ length: 16 }, () => c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 1500 }).then(() => 'ok', (e: { code?: string }) => e.code));
    await sleep(100);
    const queued = Array.from({ length: 20 }, () => c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 5000 }).then(() => 'ok', (e: { code?: string }) => e.code));
    await sleep(100);
    await ctl(s, 'POST', 'expire-sessions');
    assert.deepEqual(await Promise.all(hung), Array(16).fill('ERA_TIMEOUT'));
    assert.deepEqual(await Promise.all(queued), Array(20).fill('ok'), 'every queued request succeeded');
    const log = await requests(s);
    assert.equal(stale(log).length, 1, 'one stale presentation, not one per queued request');
    assert.deepEqual(logins(log).map((r) => r.status), [200]);
    assert.ok(mostCounted(log) < 5 && !log.some((r) => r.status === 403 || r.status === 429), 'no ban');
  });

  for (const mode of ['user', 'token'] as const) {
    it(`${mode} mode: a request's timeout covers its wait at the gate; behind a probe the platform never answers, ten requests of 500 ms each end within their own time, not one after another`, async () => {
      s = await sim();
      const c = track(mode === 'user' ? userClient(s.url, QUIET) : tokenClient(s.url, QUIET));
      await c.command({ op: 'list' });
      await pastQuiet();
      await faults(s, { restHang: { count: 100 } });
      await ctl(s, 'DELETE', 'requests');
      const started = Date.now();
      const ended = await Promise.all(Array.from({ length: 10 }, () => c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 500 }).then(
        () => ({ code: 'ok', ms: Date.now() - started, message: '' }),
        (e: { code?: string; message?: string }) => ({ code: e.code, ms: Date.now() - started, message: e.message ?? '' }),
      )));
      assert.deepEqual(ended.map((e) => e.code), Array(10).fill('ERA_TIMEOUT'));
      // In token mode those behind the probe fail with it, saying so (a token cannot be replaced).
      for (const e of ended) assert.match(e.message, /^(Not sent: the request before it presented the same token and got no answer \()?No answer from 127\.0\.0\.1:\d+ within 0\.5 s\)?$/);
      // Each within its 500 ms and a margin for a loaded machine; before, the n-th ended after n × 500 ms.
      assert.ok(Math.max(...ended.map((e) => e.ms)) < 1500, `ended after ${ended.map((e) => e.ms).join(', ')} ms`);
      const log = await requests(s);
      assert.ok(log.filter((r) => r.path === '/rest/v1/uc/calls').length <= 2, 'the others never presented the doubtful session');
      await ctl(s, 'DELETE', 'faults');
      // The gate was left in order: the next request goes through.
      assert.equal((await c.command({ op: 'list' })).statusCode, 200);
    });
  }

  it('token mode: a request\'s timeout covers its wait for a place in the ban budget, while another client\'s probe of the same token hangs', async () => {
    s = await sim();
    const a = track(tokenClient(s.url, { requestTimeoutMs: 4000 }));
    const b = track(tokenClient(s.url, { requestTimeoutMs: 4000 }));
    await faults(s, { restHang: { count: 1 } });
    await ctl(s, 'DELETE', 'requests');
    const hung = a.command({ op: 'list' }).then(() => 'ok', (e: { code?: string }) => e.code);
    await sleep(100);
    const started = Date.now();
    const err = await b.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 300 }).then(() => undefined, (e: EraError) => e);
    const ms = Date.now() - started;
    assert.equal(err?.code, 'ERA_TIMEOUT');
    assert.match(err.message, /^No answer from 127\.0\.0\.1:\d+ within 0\.3 s$/);
    assert.ok(ms < 1500, `ended after ${ms} ms`);
    assert.equal(await hung, 'ERA_TIMEOUT');
  });

  it('user mode: a request whose time ran out waiting for a place in the ban budget is never sent, and the next one goes', async () => {
    s = await sim();
    const cs = Array.from({ length: 4 }, () => track(userClient(s.url, { ...QUIET, requestTimeoutMs: 4000 })));
    await Promise.all(cs.map((c) => c.command({ op: 'list' })));
    await pastQuiet();
    await faults(s, { restHang: { count: 3 } });
    await ctl(s, 'DELETE', 'requests');
    // Three probes hang, each holding one of the address's three places.
    const hung = cs.slice(0, 3).map((c) => c.command({ op: 'list' }).then(() => 'ok', (e: { code?: string }) => e.code));
    await sleep(150);
    const started = Date.now();
    const err = await cs[3]!.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 300 }).then(() => undefined, (e: EraError) => e);
    const ms = Date.now() - started;
    assert.equal(err?.code, 'ERA_TIMEOUT');
    assert.ok(ms < 1500, `ended after ${ms} ms`);
    assert.deepEqual(await Promise.all(hung), Array(3).fill('ERA_TIMEOUT'));
    const answered = (await requests(s)).filter((r) => r.path === '/rest/v1/uc/calls' && r.status === 200);
    assert.deepEqual(answered, [], 'the request that timed out was never written, so the platform never carried it out');
    assert.equal((await cs[3]!.command({ op: 'list' })).statusCode, 200);
  });

  for (const probeTimeout of [undefined, 999] as const) {
    it(`token mode: a probe whose ${probeTimeout === undefined ? 'default' : 'own'} timeout runs out while it waits for a place in the ban budget fails in its own words and hands over to the request behind it`, async () => {
      s = await sim();
      const a = track(tokenClient(s.url, { requestTimeoutMs: 1600 }));
      const b = track(tokenClient(s.url, { requestTimeoutMs: 1000 }));
      await faults(s, { restHang: { count: 1 } });
      const hung = a.command({ op: 'list' }).then(() => 'ok', (e: { code?: string }) => e.code);
      await sleep(100);
      const probe = b.rest('GET', '/rest/v1/uc/calls', undefined, probeTimeout === undefined ? {} : { timeoutMs: probeTimeout }).then(() => undefined, (e: EraError) => e);
      const behind = b.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 5000 }).then(() => 'ok', (e: EraError) => e.message);
      const err = await probe;
      assert.equal(err?.code, 'ERA_TIMEOUT');
      assert.match(err.message, /^No answer from 127\.0\.0\.1:\d+ within 1 s$/);
      assert.equal(await behind, 'ok', 'it probed in turn and got its answer once the hung request ended');
      assert.equal(await hung, 'ERA_TIMEOUT');
    });
  }

  it('token mode: behind a probe that got no answer, the others fail at once, each saying it was not sent and why', async () => {
    s = await sim();
    const c = track(tokenClient(s.url, QUIET));
    await c.command({ op: 'list' });
    await pastQuiet();
    await faults(s, { restHang: { count: 1 } });
    await ctl(s, 'DELETE', 'requests');
    const probe = c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 300 }).then(() => undefined, (e: EraError) => e);
    const behind = Array.from({ length: 3 }, () => c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 4000 }).then(() => undefined, (e: EraError) => e));
    assert.match((await probe)?.message ?? '', /^No answer from 127\.0\.0\.1:\d+ within 0\.3 s$/);
    for (const err of await Promise.all(behind)) {
      assert.equal(err?.code, 'ERA_TIMEOUT');
      assert.match(err.message, /^Not sent: the request before it presented the same token and got no answer \(No answer from 127\.0\.0\.1:\d+ within 0\.3 s\)$/);
    }
    assert.equal((await requests(s)).filter((r) => r.path === '/rest/v1/uc/calls').length, 1, 'only the probe presented the token');
  });

  it('requests while answers keep coming go together, without waiting for one another', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    await faults(s, { restDelay: { count: 1, ms: 500 } });
    await ctl(s, 'DELETE', 'requests');
    const slow = c.command({ op: 'list' });
    await sleep(50);
    // The slow one is still out: the session is proven by the answers before it, and nothing has failed.
    await Promise.all(Array.from({ length: 4 }, () => c.command({ op: 'list' })));
    const log = await requests(s);
    assert.equal(log.length, 5, 'four went while the slow one was out');
    await slow;
  });

  it('five clients whose sessions all expired in a quiet spell, bursting together: every request succeeds and the platform bans nobody', async () => {
    s = await sim();
    const made = Array.from({ length: 5 }, () => track(userClient(s.url, QUIET)));
    await Promise.all(made.map((c) => c.command({ op: 'list' })));
    await pastQuiet();
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    const results = await Promise.all(made.flatMap((c) => Array.from({ length: 10 }, () => c.command({ op: 'list' }))));
    assert.ok(results.every((r) => r.statusCode === 200));
    const log = await requests(s);
    assert.ok(mostCounted(log) <= 3, `the platform counted ${mostCounted(log)} failures at once`);
    assert.ok(log.every((r) => r.status !== 403), 'never banned');
  });

  it('five sockets reconnecting after every session expired: all back, and no ban', async () => {
    s = await sim();
    const made = Array.from({ length: 5 }, () => track(userClient(s.url)));
    for (const c of made) c.listen({ events: ['callevents.*'] }, () => undefined);
    await subscribed(s, 5);
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    await ctl(s, 'POST', 'drop');
    for (const c of made) await waitForState(c, 'connected', 8000);
    await subscribed(s, 5);
    assert.ok((await requests(s)).every((r) => r.status !== 403), 'never banned');
    assert.equal((await fetch(`${s.url}/rest/v1/uc/calls`, { headers: { authorization: 'Bearer demo-token' } })).status, 200);
  });

  it('token mode: a wrong token is presented once however many requests want it', async () => {
    s = await sim();
    const c = track(tokenClient(s.url, { token: 'wrong-token' }));
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => c.command({ op: 'list' })));
    assert.ok(settled.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERA_AUTH_FAILED'));
    assert.equal((await requests(s)).length, 1);
  });

  it('token mode: a token that became invalid (the platform restarted with another) is presented once', async () => {
    s = await sim();
    const c = track(tokenClient(s.url, QUIET));
    await c.command({ op: 'list' });
    const port = s.port;
    await s.stop();
    await pastQuiet(); // down for longer than the quiet spell, as a restart is
    s = await startSimulator({ port, token: 'rotated-token' });
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => c.command({ op: 'list' })));
    assert.ok(settled.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERA_AUTH_FAILED'), settled.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok')).join(' | '));
    assert.equal((await requests(s)).length, 1);
    assert.equal(c.state, 'auth_failed');
  });
});
