import assert from 'node:assert/strict';
import { EraClient } from '../../src/era';
import { EraError } from '../../src/era/errors';
import { leaveClean } from './ban-helpers';
import { FAST, FreezableProxy, USER, ctl, faults, newLog, requests, sim, startCall, tokenClient, userClient, waitForState, type Simulator } from './helpers';
import { REFUSED_PORT } from '../support/ports';

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<EraError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EraError, `not an EraError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

const LOGIN = '/rest/v1/iam/sessions';

describe('client: REST and session', function () {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  beforeEach(async () => {
    s = await sim();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });
  after(leaveClean);

  it('logs in on first need, once for concurrent requests, and sends the Bearer token', async () => {
    const c = track(userClient(s.url));
    assert.equal((await requests(s)).length, 0, 'nothing before the first request');
    const results = await Promise.all([c.command({ op: 'list' }), c.command({ op: 'list' }), c.rest('GET', '/rest/v1/uc/calls')]);
    assert.deepEqual(results.map((r) => r.statusCode), [200, 200, 200]);
    const log = await requests(s);
    const logins = log.filter((r) => r.path === LOGIN && r.method === 'POST');
    assert.equal(logins.length, 1);
    assert.deepEqual(logins[0]!.body, { domain: 'demo.local', login: 'operator', pwd: 'operator', session_type: 'token' });
    const calls = log.filter((r) => r.path === '/rest/v1/uc/calls');
    assert.equal(calls.length, 3);
    for (const r of calls) assert.match(r.headers.authorization ?? '', /^Bearer .+/);
  });

  it('keeps its connections for commands with bodies in non-standard methods', async () => {
    const proxy = new FreezableProxy(s.port);
    const url = await proxy.start();
    try {
      const c = track(tokenClient(url));
      const call = await startCall(s, { answer: true });
      for (let i = 0; i < 40; i++) await c.command({ op: i % 2 ? 'unhold' : 'hold', call: call.id });
      await c.command({ op: 'dtmf', call: call.id, digits: '1' });
      assert.ok(proxy.accepted <= 2, `${proxy.accepted} TCP connections for 41 sequential requests`);
    } finally {
      await proxy.stop();
    }
  });

  it('logs in again once after a 401 and repeats the request once', async () => {
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    const call = await startCall(s);
    const res = await c.command({ op: 'hangup', call: call.id });
    assert.equal(res.statusCode, 200);
    const log = (await requests(s)).filter((r) => r.path !== '/_sim/calls');
    assert.deepEqual(
      log.map((r) => `${r.method} ${r.path} ${r.status}`),
      [`DELETE /rest/v1/uc/calls/${call.id} 401`, `POST ${LOGIN} 200`, `DELETE /rest/v1/uc/calls/${call.id} 200`],
    );
  });

  it('stops for good after a refused login: auth_failed, no retry storm', async () => {
    const log = newLog();
    const c = track(userClient(s.url, { password: 'wrong' }, log));
    const states: string[] = [];
    c.on('state', (st) => states.push(st));
    const err = await rejectsWith(c.command({ op: 'list' }), 'ERA_AUTH_FAILED', /Login refused for "operator" in domain "demo.local" \(HTTP 401\)/);
    assert.ok(!err.message.includes('wrong'), 'the password never appears');
    assert.equal(c.state, 'auth_failed');
    // Everything afterwards fails at once, without touching the network.
    const handle = c.listen({ events: ['callevents.*'] }, () => undefined);
    for (let i = 0; i < 5; i++) await rejectsWith(c.command({ op: 'list' }), 'ERA_AUTH_FAILED');
    await rejectsWith(c.rest('GET', '/rest/v1/uc/calls'), 'ERA_AUTH_FAILED');
    await rejectsWith(c.wsRequest('connection_info'), 'ERA_AUTH_FAILED');
    await new Promise((r) => setTimeout(r, 300));
    handle.close();
    const logins = (await requests(s)).filter((r) => r.path === LOGIN);
    assert.equal(logins.length, 1);
    assert.equal((await requests(s)).filter((r) => r.kind === 'ws').length, 0);
    assert.deepEqual(states, ['auth_failed']);
    const test = await c.testConnection();
    assert.equal(test.ok, false);
  });

  it('never logs in more than 3 times a minute, even when sessions keep expiring', async () => {
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    for (let i = 0; i < 2; i++) {
      await ctl(s, 'POST', 'expire-sessions');
      assert.equal((await c.command({ op: 'list' })).statusCode, 200);
    }
    await ctl(s, 'POST', 'expire-sessions');
    await rejectsWith(c.command({ op: 'list' }), 'ERA_NOT_CONNECTED', /^Not logging in again yet: 3 logins in the last minute already/);
    await rejectsWith(c.command({ op: 'list' }), 'ERA_NOT_CONNECTED', /Not logging in again yet/);
    const logins = (await requests(s)).filter((r) => r.path === LOGIN);
    assert.equal(logins.length, 3);
    assert.notEqual(c.state, 'auth_failed', 'the logins worked: the credentials are fine');
  });

  it('answers testConnection in words', async () => {
    const ok = await track(userClient(s.url)).testConnection();
    assert.deepEqual(ok, { ok: true, message: `Login "operator" in domain "demo.local" is accepted by ${new URL(s.url).host}` });
    const bad = await track(userClient(s.url, { password: 'nope' })).testConnection();
    assert.equal(bad.ok, false);
    assert.match(bad.message, /Login refused/);
    const token = await track(tokenClient(s.url)).testConnection();
    assert.deepEqual(token, { ok: true, message: `The token is accepted by ${new URL(s.url).host}` });
    const port = REFUSED_PORT;
    const down = await track(userClient(`http://127.0.0.1:${port}`)).testConnection();
    assert.deepEqual(down, { ok: false, message: `Cannot reach 127.0.0.1:${port}: connection refused` });
    const badToken = await track(tokenClient(s.url, { token: 'nope-token' })).testConnection();
    assert.equal(badToken.ok, false);
    assert.match(badToken.message, /refused the token \(HTTP 401\)/);
    assert.ok(!badToken.message.includes('nope-token'));
  });

  it('sends the token in token mode, with no login', async () => {
    const c = track(tokenClient(s.url));
    await c.command({ op: 'list' });
    const log = await requests(s);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.headers.authorization, 'Bearer demo-token');
  });

  it('sends non-standard methods as they are, with a JSON body', async () => {
    const c = track(userClient(s.url));
    const a = await startCall(s, { answer: true });
    const b = await startCall(s, { from: '+79990003344', to: '102', answer: true });
    await c.command({ op: 'transfer', mode: 'attended', call: a.id, replaces: b.id });
    await c.command({ op: 'dtmf', call: a.id, digits: '1#' });
    await c.command({ op: 'record', call: a.id, record: true });
    const conf = await c.command({ op: 'conference', call: a.id });
    assert.equal(conf.statusCode, 200);
    const log = (await requests(s)).filter((r) => r.path.startsWith('/rest/v1/uc/calls/'));
    assert.deepEqual(log.map((r) => r.method), ['REFERREPLACES', 'SEND_DTMF', 'SETUP_RECORD', 'SWITCHCONF']);
    assert.equal(log[0]!.headers.contentType, 'application/json; charset=utf-8');
    assert.deepEqual(log[0]!.body, { replaces: b.id });
  });

  it('returns the new call id of a dial', async () => {
    const c = track(userClient(s.url));
    const res = await c.command({ op: 'dial', from: '101', to: '+79990001122' });
    assert.equal(typeof res.connectionId, 'string');
    assert.equal((await ctl<{ id: string }>(s, 'GET', `calls/${encodeURIComponent(res.connectionId!)}`)).id, res.connectionId);
  });

  it('turns HTTP failures into ERA_NOT_FOUND / ERA_HTTP with the status and a short excerpt', async () => {
    const c = track(userClient(s.url));
    const missing = await rejectsWith(c.command({ op: 'hangup', call: 'no-such-call' }), 'ERA_NOT_FOUND', /HTTP 404/);
    assert.equal(missing.statusCode, 404);
    await c.command({ op: 'list' }); // logged in: the next faults hit the command itself
    const html = `<html><body><h1>502 Bad Gateway</h1>${'<p>padding</p>'.repeat(200)}</body></html>`;
    await faults(s, { restStatus: { status: 502, count: 1, body: html, contentType: 'text/html' } });
    const bad = await rejectsWith(c.command({ op: 'list' }), 'ERA_HTTP', /^GET \/rest\/v1\/uc\/calls failed with HTTP 502: 502 Bad Gateway padding/);
    assert.equal(bad.statusCode, 502);
    assert.ok(bad.message.length < 300, bad.message);
    await faults(s, { restStatus: { status: 503, count: 1, body: { error: { code: 'busy', message: 'try later' } } } });
    await rejectsWith(c.command({ op: 'list' }), 'ERA_HTTP', /HTTP 503: try later \(code busy\)$/);
    await faults(s, { restStatus: { status: 500, count: 1, body: '' } });
    await rejectsWith(c.command({ op: 'list' }), 'ERA_HTTP', /failed with HTTP 500$/);
  });

  it('never puts a secret in an error, even when the server echoes it', async () => {
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    await faults(s, { restStatus: { status: 500, count: 1, body: 'bad request from operator:operator password=operator' } });
    const err = await rejectsWith(c.command({ op: 'list' }), 'ERA_HTTP');
    assert.ok(!err.message.includes('operator'), err.message);
  });

  it('times out a request with no answer (ERA_TIMEOUT) and never sends a command twice', async () => {
    const c = track(userClient(s.url, { requestTimeoutMs: 300 }));
    await c.command({ op: 'list' });
    await faults(s, { restHang: { count: 1 } });
    await ctl(s, 'DELETE', 'requests');
    const started = Date.now();
    await rejectsWith(
      c.command({ op: 'dial', from: '101', to: '102' }),
      'ERA_TIMEOUT',
      new RegExp(`^No answer from ${new URL(s.url).host.replace(/\./g, '\\.')} within 0\\.3 s$`),
    );
    // The message names the 0.3 s it was given; here: not waited beyond it by more than a loaded machine's lag.
    assert.ok(Date.now() - started < 300 + 2000, `timed out after ${Date.now() - started} ms`);
    await new Promise((r) => setTimeout(r, 100));
    const posts = (await requests(s)).filter((r) => r.method === 'POST' && r.path === '/rest/v1/uc/calls');
    assert.equal(posts.length, 1);
    // The pool is still usable afterwards.
    assert.equal((await c.command({ op: 'list' })).statusCode, 200);
  });

  it('refuses a request timeout that is not a positive number before sending anything, and shortens one longer than a timer can wait', async () => {
    const c = track(tokenClient(s.url));
    await c.command({ op: 'list' });
    await ctl(s, 'DELETE', 'requests');
    for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '1000'] as unknown[]) {
      await rejectsWith(c.rest('POST', '/rest/v1/uc/calls', { from: '101', to: '102' }, { timeoutMs } as { timeoutMs: number }), 'ERA_INVALID_INPUT', /^timeoutMs must be a positive number of milliseconds, got /);
      await rejectsWith(c.wsRequest('connection_info', {}, { timeoutMs } as { timeoutMs: number }), 'ERA_INVALID_INPUT', /^timeoutMs must be a positive number of milliseconds/);
    }
    assert.deepEqual((await requests(s)).filter((r) => r.kind === 'rest' || r.method === 'connection_info'), [], 'nothing sent');
    // 2^31 ms overflows a timer, which would fire at once: it waits as long as a timer can instead.
    const res = await c.rest('GET', '/rest/v1/uc/calls', undefined, { timeoutMs: 2 ** 31 });
    assert.equal(res.statusCode, 200);
  });

  it('names an unreachable host: connection refused', async () => {
    const port = REFUSED_PORT;
    const c = track(userClient(`http://127.0.0.1:${port}`));
    await rejectsWith(c.command({ op: 'list' }), 'ERA_NOT_CONNECTED', /^Cannot reach 127\.0\.0\.1:\d+: connection refused$/);
    assert.equal(c.state, 'idle', 'a network failure is not an authentication failure');
  });

  it('names a host that does not resolve', async () => {
    const c = track(userClient('http://no-such-host.invalid'));
    await rejectsWith(c.command({ op: 'list' }), 'ERA_NOT_CONNECTED', /host not found \(DNS\)/);
  });

  it('refuses an unusable configuration at construction, in words', () => {
    const make = (opts: Record<string, unknown>) => () => new EraClient({ url: s.url, ...USER, ...FAST, ...opts });
    assert.throws(make({ url: 'era.example.com:8443' }), {
      code: 'ERA_INVALID_INPUT',
      message: 'The server URL "era.example.com:8443" must start with https:// or http://, e.g. https://era.example.com:8443',
    });
    assert.throws(make({ url: 'wss://era.example.com' }), { code: 'ERA_INVALID_INPUT', message: /must start with https:\/\/ or http:\/\// });
    assert.throws(make({ url: '' }), { code: 'ERA_INVALID_INPUT', message: /The server URL is empty/ });
    assert.throws(make({ url: 'https://era.example.com/api' }), { code: 'ERA_INVALID_INPUT', message: /without a path/ });
    assert.throws(make({ url: 'https://u:secret@era.example.com' }), (err: Error) => !err.message.includes('secret'));
    assert.throws(make({ password: '' }), { code: 'ERA_INVALID_INPUT', message: 'User mode needs a password' });
    assert.throws(make({ authMode: 'token' }), { code: 'ERA_INVALID_INPUT', message: /needs the integration point's token/ });
    assert.throws(make({ ca: 'not a pem' }), { code: 'ERA_INVALID_INPUT', message: /PEM/ });
    assert.throws(make({ pingIntervalMs: -1 }), { code: 'ERA_INVALID_INPUT', message: /pingIntervalMs/ });
    for (const sessionQuietMs of [-1, 0, Number.NaN]) {
      assert.throws(make({ sessionQuietMs }), { code: 'ERA_INVALID_INPUT', message: /sessionQuietMs/ }, String(sessionQuietMs));
    }
  });

  it('logs out on close', async () => {
    const c = userClient(s.url);
    await c.command({ op: 'list' });
    await c.close();
    const last = (await requests(s)).at(-1)!;
    assert.equal(`${last.method} ${last.path}`, 'DELETE /rest/v1/iam/sessions/current');
    assert.match(last.headers.authorization ?? '', /^Bearer /);
    await rejectsWith(c.command({ op: 'list' }), 'ERA_NOT_CONNECTED', /closed/);
  });

  it('reports the state of a user-mode client as idle until something listens', async () => {
    const c = track(userClient(s.url));
    await c.command({ op: 'list' });
    assert.equal(c.state, 'idle');
    const h = c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(c, 'connected');
    h.close();
    await waitForState(c, 'idle');
  });
});
