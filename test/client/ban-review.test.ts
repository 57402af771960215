/**
 * The ways an adversarial review got the address banned, or every flow stopped, despite the
 * ban budget and the session gate (issue 16), each as it was reproduced: servers closing
 * together, a ban met by many requests at once, sessions forgotten under load or by a platform
 * too slow to answer, answers that merely look like a ban, one platform on two ports, and the
 * two address families of one machine.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { EraClient } from '../../src/era';
import { LOGIN_PATH, cleanSim, failedLogins, failure, goodLoginStatus, leaveClean, logins, othersFail, stale } from './ban-helpers';
import { ctl, faults, requests, sim, sleep, userClient, type SimRequest, type Simulator } from './helpers';

const notBanned = (log: SimRequest[]): boolean => log.every((r) => r.status !== 403);

describe('client: what the review of the ban safety found', function () {
  this.timeout(40_000);
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const close of closers.splice(0)) await close();
    await s.stop();
  });
  after(leaveClean);

  it('five servers closing together after the platform forgot their sessions: at most three log out, and nobody is banned', async () => {
    s = await cleanSim();
    const made = Array.from({ length: 5 }, () => userClient(s.url));
    await Promise.all(made.map((c) => c.command({ op: 'list' })));
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    await Promise.all(made.map((c) => c.close()));
    const log = await requests(s);
    const logouts = log.filter((r) => r.method === 'DELETE' && r.path === `${LOGIN_PATH}/current`);
    assert.ok(logouts.length >= 1 && logouts.length <= 3, `${logouts.length} logouts presented a session (each holds a place in the budget)`);
    assert.equal(await goodLoginStatus(s), 200, 'the address is not banned');
  });

  it('eight requests in flight meeting one ban: waited out once, not doubled per request, and a redeploy waits no longer', async () => {
    s = await sim({ banMs: 60_000 });
    const c = track(userClient(s.url, { banWaitMs: 60_000 }));
    await c.command({ op: 'list' });
    // One slow request out, answers coming a moment ago: the session is taken as known.
    await faults(s, { restDelay: { count: 1, ms: 500 } });
    const slow = c.command({ op: 'list' });
    await sleep(50);
    await othersFail(s, 5);
    // The eight go together, and each meets the ban.
    const errors = await Promise.all(Array.from({ length: 8 }, () => failure(c.command({ op: 'list' }))));
    assert.equal(errors.filter((e) => e.statusCode === 403).length, 8, errors.map((e) => e.message).join(' | '));
    await slow.catch(() => undefined);
    assert.match(String(c.stateDetail), /retry in (1:00|0:[0-5]\d)$/, 'one ban: the client\'s wait, once');
    await c.close();
    const redeployed = track(userClient(s.url, { banWaitMs: 60_000 }));
    assert.match((await failure(redeployed.command({ op: 'list' }))).message, /a ban\); trying again in (1:00|0:[0-5]\d)$/, 'the new client of the same server waits out the same ban');
  });

  it('four requests always in flight when the platform forgets the session: at most those four present it, then one re-login, and the load goes on without a ban', async () => {
    s = await cleanSim();
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    let running = true;
    const outcomes: string[] = [];
    const worker = async (): Promise<void> => {
      while (running) {
        outcomes.push(await c.command({ op: 'list' }).then((r) => String(r.statusCode), (e: Error) => e.message));
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await sleep(200);
    await ctl(s, 'DELETE', 'requests');
    const before = outcomes.length;
    await ctl(s, 'POST', 'expire-sessions');
    await sleep(500);
    running = false;
    await Promise.all(workers);
    const log = await requests(s);
    assert.ok(stale(log).length <= 4, `${stale(log).length} requests presented the forgotten session`);
    assert.deepEqual(logins(log).map((r) => r.status), [200], 'one re-login');
    const afterLogin = log.slice(log.findIndex((r) => r.path === LOGIN_PATH) + 1);
    assert.equal(stale(afterLogin).length, 0, 'nothing presented the old session after the re-login');
    assert.ok(afterLogin.filter((r) => r.status === 200).length >= 4, 'the load went on');
    assert.deepEqual(outcomes.slice(before).filter((o) => o !== '200'), [], 'every request succeeded');
    assert.ok(notBanned(log));
  });

  it('a platform too slow to answer a forgotten session: a probe that times out drops it, so it is not presented again and again', async () => {
    s = await cleanSim();
    const c = track(userClient(s.url, { requestTimeoutMs: 800 }));
    await c.command({ op: 'list' });
    await ctl(s, 'POST', 'expire-sessions');
    await faults(s, { restDelay: { count: 1000, ms: 1200 } });
    // The request that found the quiet, the probe after it, then logins (a session no one may present any more).
    for (let i = 0; i < 4; i++) assert.equal((await failure(c.command({ op: 'list' }))).code, 'ERA_TIMEOUT');
    await ctl(s, 'DELETE', 'faults');
    await sleep(1500); // every late answer given
    const log = await requests(s);
    assert.ok(stale(log).length <= 2, `${stale(log).length} presentations of the forgotten session (the request that found the quiet, and one probe)`);
    assert.ok(notBanned(log));
    assert.equal((await c.command({ op: 'list' })).statusCode, 200, 'back once the platform answers');
  });

  for (const [name, fault, code] of [
    ['a 404 about "Bandwidth"', { status: 404, body: { error: { code: 'not_found', message: 'Bandwidth report not found' } } }, 'ERA_NOT_FOUND'],
    ['a 400 "number is banned by the routing rules"', { status: 400, body: { error: { code: 'bad_request', message: 'destination number is banned by the routing rules' } } }, 'ERA_HTTP'],
    ['a proxy\'s 502 page with a banner', { status: 502, body: '<html><body><div class="banner">Service temporarily unavailable</div></body></html>', contentType: 'text/html' }, 'ERA_HTTP'],
  ] as const) {
    it(`${name} is that request's failure, not a ban: nothing else stops`, async () => {
      s = await sim();
      const c = track(userClient(s.url));
      await c.command({ op: 'list' });
      await faults(s, { restStatus: { ...fault, count: 1 } });
      assert.equal((await failure(c.command({ op: 'list' }))).code, code);
      assert.doesNotMatch(String(c.stateDetail), /banned/);
      assert.equal((await c.command({ op: 'list' })).statusCode, 200, 'the next request goes at once');
    });
  }

  it('one platform on two ports shares one budget: typos by either port stop before the ban', async () => {
    s = await cleanSim();
    const port = Number(new URL(s.url).port);
    const forward = net.createServer((down) => {
      const up = net.connect(port, '127.0.0.1');
      down.pipe(up).pipe(down);
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
    });
    await new Promise<void>((resolve) => forward.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => forward.close(() => resolve())));
    const other = `http://127.0.0.1:${(forward.address() as net.AddressInfo).port}`;
    const click = async (url: string, password: string) => (await track(userClient(url, { password })).testConnection()).message;
    for (const password of ['typo1', 'typo2', 'typo3']) await click(s.url, password);
    const second = [await click(other, 'typo4'), await click(other, 'typo5')];
    assert.match(second[1]!, /^Not logging in to 127\.0\.0\.1:\d+ again for \d:\d\d: 4 failed logins/, second.join(' | '));
    assert.ok(await failedLogins(s) <= 4, `${await failedLogins(s)} failed logins reached the platform`);
    assert.equal(await goodLoginStatus(s), 200, 'not banned');
  });

  it('IPv4 and IPv6 of one machine: a success by 127.0.0.1 does not clear what [::1] spent, as the platform does not', async () => {
    s = await sim({ host: '::' });
    const port = new URL(s.url).port;
    const v4 = `http://127.0.0.1:${port}`;
    const v6 = `http://[::1]:${port}`;
    const click = async (url: string, password: string) => track(userClient(url, { password })).testConnection();
    for (const password of ['typo1', 'typo2', 'typo3']) await click(v6, password);
    assert.equal((await click(v4, 'operator')).ok, true);
    const later = [await click(v6, 'typo4'), await click(v6, 'typo5'), await click(v6, 'typo6')].map((r) => r.message);
    assert.match(later[2]!, /^Not logging in to \[::1\]:\d+ again/, later.join(' | '));
    const failedByV6 = logins(await requests(s)).filter((r) => r.status === 401).length;
    assert.ok(failedByV6 <= 4, `${failedByV6} failed logins from [::1]`);
    // Credentials the platform accepted still have their place: their login is what clears its count.
    assert.equal((await click(v6, 'operator')).ok, true, 'the right password by [::1]');
  });
});
