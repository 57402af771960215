import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { resolveOptions, type Simulator } from '../../src/simulator';
import { assertErrormsg, LOGIN, login, openReady, rest, upgradeStatus, useSimulators, WS_LOGIN, WsClient, wsUrl, type RestResult } from './helpers';

const CALLS = '/rest/v1/uc/calls';
const BANNED = /^address banned for \d+ s after too many failed logins$/;

interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The HTTP answer to a WebSocket upgrade that is refused (101 and no body when it opens). */
function upgradeAnswer(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, headers: {}, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    ws.once('error', reject);
  });
}

function bannedBody(res: { body: unknown }): void {
  const body = (typeof res.body === 'string' ? JSON.parse(res.body) : res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'banned');
  assert.match(body.error.message, BANNED);
}

/** A Retry-After header of whole seconds, within the ban's length. */
function retryAfter(headers: Record<string, string | string[] | undefined>, banSeconds: number): void {
  const value = String(headers['retry-after']);
  assert.match(value, /^\d+$/);
  assert.ok(Number(value) >= 1 && Number(value) <= banSeconds, value);
}

/** `count` REST requests that present a session the server no longer knows, each answered 401. */
async function staleRequests(sim: Simulator, token: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await rest(sim, 'GET', CALLS, { token });
    assert.equal(res.status, 401, `stale request ${i + 1}: ${res.text}`);
  }
}

async function expiredToken(sim: Simulator): Promise<string> {
  const token = await login(sim);
  assert.equal((await rest(sim, 'POST', '/_sim/expire-sessions')).status, 200);
  return token;
}

const ok = async (sim: Simulator): Promise<number> => (await rest(sim, 'GET', CALLS, { token: 'demo-token' })).status;

describe('simulator: the ban counts stale sessions, and answers as chosen (§2.1)', () => {
  const start = useSimulators();

  it('5 REST requests holding an expired session ban the address: each is a 401, the 6th of any kind gets the ban answer', async () => {
    const sim = await start();
    const token = await expiredToken(sim);
    await staleRequests(sim, token, 5);
    const sixth = await rest(sim, 'GET', CALLS, { token: 'demo-token' });
    assert.equal(sixth.status, 403, 'even the integration token');
    bannedBody(sixth);
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 403, 'even the right password');
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 403, 'and upgrades');
    assert.equal((await rest(sim, 'GET', '/_sim/calls')).status, 200, 'never the control API');
    assert.equal(sim.startCall({ from: '+79161112233', to: '101' }).state, 'ring', 'and the platform goes on');

    // The ban is the address's: another one is served.
    const elsewhere = new Agent({ localAddress: '127.0.0.2' });
    try {
      const res = await request(`${sim.url}${CALLS}`, { dispatcher: elsewhere, headers: { authorization: 'Bearer demo-token' } });
      await res.body.text();
      assert.equal(res.statusCode, 200);
    } finally {
      await elsewhere.close();
    }
  });

  it('4 do not, and a good login clears the count', async () => {
    const sim = await start();
    const token = await expiredToken(sim);
    await staleRequests(sim, token, 4);
    assert.equal(await ok(sim), 200);
    const fresh = await login(sim);
    await staleRequests(sim, token, 4);
    assert.equal((await rest(sim, 'GET', CALLS, { token: fresh })).status, 200, 'eight stale requests, never five since a good login');
  });

  it('counts every way of presenting an unknown session: a Bearer, the session cookie, a token that is neither', async () => {
    const sim = await start({ banThreshold: 3 });
    const cookieLogin = await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { domain: 'demo.local', login: 'operator', pwd: 'operator' } });
    const cookie = String(cookieLogin.headers['set-cookie']).split(';')[0] as string;
    sim.expireSessions();
    assert.equal((await rest(sim, 'GET', CALLS, { cookie })).status, 401);
    assert.equal((await rest(sim, 'GET', '/rest/v1/iam/sessions/current', { token: 'made-up-token' })).status, 401);
    assert.equal(await ok(sim), 200, 'two so far');
    assert.equal((await rest(sim, 'DELETE', '/rest/v1/iam/sessions/current', { cookie: 'EraSession=' })).status, 401);
    assert.equal(await ok(sim), 403);
  });

  it('does not count requests that present no session: no credentials, other cookies, another scheme', async () => {
    const sim = await start({ banThreshold: 2 });
    for (let i = 0; i < 3; i++) {
      assert.equal((await rest(sim, 'GET', CALLS)).status, 401);
      assert.equal((await rest(sim, 'GET', CALLS, { cookie: 'theme=dark; lang=ru' })).status, 401);
      assert.equal((await rest(sim, 'GET', CALLS, { headers: { authorization: 'Basic b3BlcmF0b3I6b3BlcmF0b3I=' } })).status, 401);
    }
    // A token-API upgrade that names no token presents nothing either.
    for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1')), 401);
    assert.equal(await ok(sim), 200);
  });

  it('a wrong integration token counts, on REST and on the token WebSocket upgrade (the token replaces the login)', async () => {
    const sim = await start();
    for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(wsUrl(sim, `/ws/token/v1/wrong-${i}`)), 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1'), { authorization: 'Bearer wrong' }), 401);
    assert.equal((await rest(sim, 'GET', CALLS, { token: 'demo-token-' })).status, 401);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 403, 'five failures: banned');
    assert.equal((await rest(sim, 'GET', '/_sim/faults')).status, 200);
  });

  it('lenient /ws: an upgrade holding an expired session counts; the integration token there does not', async () => {
    const sim = await start({ strict: false, banThreshold: 3 });
    const token = await expiredToken(sim);
    for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: 'Bearer demo-token' }), 401);
    assert.equal(await ok(sim), 200, 'the token is known, only not taken on /ws');
    for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(wsUrl(sim, '/ws'), { authorization: `Bearer ${token}` }), 401);
    assert.equal(await ok(sim), 403);
  });

  it('banRestStatus 429: REST answers 429 with Retry-After and the words; upgrades keep 403', async () => {
    const sim = await start({ banRestStatus: 429, banThreshold: 1, banMs: 60_000 });
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: { ...LOGIN, pwd: 'wrong' } })).status, 401);
    const res: RestResult = await rest(sim, 'GET', CALLS, { token: 'demo-token' });
    assert.equal(res.status, 429);
    retryAfter(res.headers, 60);
    bannedBody(res);
    const upgrade = await upgradeAnswer(wsUrl(sim, '/ws/token/v1/demo-token'));
    assert.equal(upgrade.status, 403);
    assert.equal(upgrade.headers['retry-after'], undefined);
    bannedBody(upgrade);
  });

  it('banUpgrade 429: upgrades answer 429 with Retry-After; REST keeps 403', async () => {
    const sim = await start({ banUpgrade: 429, banThreshold: 1, banMs: 90_000 });
    assert.equal((await rest(sim, 'GET', CALLS, { token: 'stale' })).status, 401);
    for (const path of ['/ws', '/ws/token/v1/demo-token']) {
      const upgrade = await upgradeAnswer(wsUrl(sim, path));
      assert.equal(upgrade.status, 429, path);
      retryAfter(upgrade.headers, 90);
      bannedBody(upgrade);
    }
    const restAnswer = await rest(sim, 'GET', CALLS, { token: 'demo-token' });
    assert.equal(restAnswer.status, 403);
    assert.equal(restAnswer.headers['retry-after'], undefined);
  });

  it('banUpgrade "open": /ws lets the socket in and its login_result says the address is banned; the token API gets 403', async () => {
    const sim = await start({ banUpgrade: 'open', banThreshold: 1 });
    assert.equal((await rest(sim, 'GET', CALLS, { token: 'stale' })).status, 401);
    const ws = await WsClient.open(wsUrl(sim, '/ws'));
    assert.equal((await ws.request('setup', { capabilities: ['subscr'] })).result, 'ok', 'before authorisation every API answers ok');
    assertErrormsg(await ws.request('login', WS_LOGIN), BANNED);
    assertErrormsg(await ws.request('login', { rsessionid: 'anything' }), BANNED);
    assertErrormsg(await ws.request('subscribe', { id: 's', events: ['callevents.*'] }), /not set up yet; send login first/);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws/token/v1/demo-token')), 403);
    assert.equal((await rest(sim, 'GET', CALLS, { token: 'demo-token' })).status, 403);
    // A lenient /ws authorises on the upgrade: it has no login to refuse, so it answers 403.
    const lenient = await start({ strict: false, banUpgrade: 'open', banThreshold: 1 });
    assert.equal((await rest(lenient, 'GET', CALLS, { token: 'stale' })).status, 401);
    assert.equal(await upgradeStatus(wsUrl(lenient, '/ws')), 403);
  });

  it('a socket opened before the ban: its login_result says banned, in words, with the seconds left', async () => {
    const sim = await start({ banThreshold: 2, banMs: 120_000 });
    const ws = await WsClient.open(wsUrl(sim, '/ws'));
    const token = await expiredToken(sim);
    await staleRequests(sim, token, 2);
    const refused = await ws.request('login', WS_LOGIN);
    assertErrormsg(refused, BANNED);
    const seconds = Number(/for (\d+) s/.exec(String(refused.errormsg))?.[1]);
    assert.ok(seconds > 100 && seconds <= 120, String(seconds));
    // A socket set up and logged in before the ban keeps working.
    const ready = await openReady(await start(), '/ws');
    assert.equal((await ready.request('connection_info')).result, 'ok');
  });

  it('the banAnswer fault chooses the answers while it is set, over the options; malformed ones are refused', async () => {
    const sim = await start({ banThreshold: 1 });
    assert.equal((await rest(sim, 'GET', CALLS, { token: 'stale' })).status, 401);
    assert.equal(await ok(sim), 403);
    const set = await rest(sim, 'POST', '/_sim/faults', { body: { banAnswer: { rest: 429, upgrade: 429 } } });
    assert.equal(set.status, 200);
    assert.deepEqual((set.body as Record<string, unknown>).banAnswer, { rest: 429, upgrade: 429 });
    assert.equal(await ok(sim), 429);
    assert.equal((await upgradeAnswer(wsUrl(sim, '/ws'))).status, 429);
    sim.setFaults({ banAnswer: { upgrade: 'open' } });
    assert.equal(await ok(sim), 403, 'a new value replaces the whole fault');
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 101);
    for (const bad of [{ rest: 401 }, { upgrade: 'closed' }, {}, { rest: 429, status: 1 }, 'open', [429]]) {
      const res = await rest(sim, 'POST', '/_sim/faults', { body: { banAnswer: bad } });
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
    assert.deepEqual(sim.faults, { banAnswer: { upgrade: 'open' } }, 'a refused change changes nothing');
    assert.equal((await rest(sim, 'DELETE', '/_sim/faults')).status, 200);
    assert.equal(await upgradeStatus(wsUrl(sim, '/ws')), 403, 'back to the options');

    assert.throws(() => resolveOptions({ banRestStatus: 401 as 403 }), /banRestStatus/);
    assert.throws(() => resolveOptions({ banUpgrade: 'closed' as 'open' }), /banUpgrade/);
    assert.deepEqual([resolveOptions().banRestStatus, resolveOptions().banUpgrade], [403, 403]);
  });
});
