import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'undici';
import WebSocket from 'ws';
import { assertErrormsg, delay, eventually, isEvent, LOGIN, login, openReady, rest, TOKEN_WS_PATH, useSimulators, WsClient, wsUrl } from './helpers';

describe('simulator: faults and the control API', () => {
  const start = useSimulators();

  it('restStatus answers the next count REST requests (not login, not /_sim/) with that status', async () => {
    const sim = await start();
    const token = await login(sim);
    const set = await rest(sim, 'POST', '/_sim/faults', { body: { restStatus: { status: 503, count: 2 } } });
    assert.deepEqual(set.body, { restStatus: { status: 503, count: 2 } });
    assert.equal((await rest(sim, 'POST', '/rest/v1/iam/sessions', { body: LOGIN })).status, 200, 'login is spared');
    const first = await rest(sim, 'GET', '/rest/v1/uc/calls', { token });
    assert.equal(first.status, 503);
    assert.ok((first.body as { error: unknown }).error);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 503);
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 200);
    assert.deepEqual((await rest(sim, 'GET', '/_sim/faults')).body, {}, 'used up');

    sim.setFaults({ restStatus: { status: 502, count: 1, body: '<html>Bad gateway</html>', contentType: 'text/html' } });
    const html = await rest(sim, 'GET', '/rest/v1/uc/calls', { token });
    assert.equal(html.status, 502);
    assert.equal(html.text, '<html>Bad gateway</html>');
    assert.equal(html.headers['content-type'], 'text/html');
  });

  it('rejects unknown or malformed faults without changing anything', async () => {
    const sim = await start();
    assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: { noPong: true, typo: 1 } })).status, 400);
    assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: { restStatus: { status: 503 } } })).status, 400);
    assert.deepEqual(sim.faults, {});
    sim.setFaults({ noPong: true, dropEvents: true });
    sim.setFaults({ dropEvents: null });
    assert.deepEqual(sim.faults, { noPong: true });
    assert.deepEqual((await rest(sim, 'DELETE', '/_sim/faults')).body, {});
  });

  it('restHang leaves the next count REST requests unanswered', async () => {
    const sim = await start();
    sim.setFaults({ restHang: { count: 1 } });
    const hung = request(`${sim.url}/rest/v1/uc/calls`, { headers: { authorization: 'Bearer demo-token' }, headersTimeout: 300 });
    await assert.rejects(hung, (err: Error & { code?: string }) => err.code === 'UND_ERR_HEADERS_TIMEOUT');
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'demo-token' })).status, 200);
    const logged = sim.requests().filter((r) => r.path === '/rest/v1/uc/calls');
    assert.equal(logged[0]?.status, undefined, 'the hung request is logged without a status');
  });

  it('noPong: pings go unanswered while it is set', async () => {
    const sim = await start();
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    sim.setFaults({ noPong: true });
    let pongs = 0;
    ws.ws.on('pong', () => pongs++);
    ws.ws.ping();
    await delay(100);
    assert.equal(pongs, 0);
    sim.clearFaults();
    ws.ws.ping();
    await eventually(() => pongs === 1, 1000, 'pong');
  });

  it('hangUpgrade: the upgrade is accepted by TCP and never answered', async () => {
    const sim = await start();
    sim.setFaults({ hangUpgrade: true });
    const ws = new WebSocket(wsUrl(sim, TOKEN_WS_PATH), { handshakeTimeout: 200 });
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (err) => resolve(err.message));
    });
    assert.match(outcome, /timed out/i);
    sim.clearFaults();
    assert.ok(await WsClient.open(wsUrl(sim, TOKEN_WS_PATH)));
  });

  // A strict reply has no code, only the message; the lenient `error: {code, message}` is in lenient.test.ts.
  it('subscribeError: the next count subscribes get an error reply', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await rest(sim, 'POST', '/_sim/faults', { body: { subscribeError: { count: 1, code: 503, message: 'busy' } } });
    const refused = await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    assertErrormsg(refused, /^busy$/);
    assert.equal(sim.subscriptions().length, 0);
    assert.equal((await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 })).result, 'ok');
  });

  it('dropEvents: events are produced but not delivered', async () => {
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.invite'], expires: 300 });
    sim.setFaults({ dropEvents: true });
    const produced = sim.waitForEvent('invite');
    sim.startCall({ from: '+79161112233', to: '101' });
    await produced;
    assert.equal((await ws.collect(50, isEvent)).length, 0);
    sim.clearFaults();
    sim.startCall({ from: '+79161112233', to: '101' });
    assert.equal((await ws.collect(50, isEvent)).length, 1);
  });

  it('drop terminates every socket without a close frame', async () => {
    const sim = await start();
    const a = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const b = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const codes: number[] = [];
    a.ws.on('close', (code) => codes.push(code));
    b.ws.on('close', (code) => codes.push(code));
    assert.deepEqual((await rest(sim, 'POST', '/_sim/drop')).body, { dropped: 2 });
    await Promise.all([a.closed(), b.closed()]);
    assert.deepEqual(codes, [1006, 1006], 'abnormal closure: no close frame');
  });

  it('drop with a code closes every socket politely with it; a code a close frame cannot carry is refused', async () => {
    const sim = await start();
    const a = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    const codes: number[] = [];
    a.ws.on('close', (code) => codes.push(code));
    for (const code of [1005, 1006, 2000, 5000, 1000.5, '1001']) {
      const refused = await rest(sim, 'POST', '/_sim/drop', { body: { code } });
      assert.equal(refused.status, 400, `code ${JSON.stringify(code)}`);
    }
    assert.deepEqual((await rest(sim, 'POST', '/_sim/drop', { body: { code: 1001 } })).body, { dropped: 1 });
    await a.closed();
    assert.deepEqual(codes, [1001]);
  });

  it('ws/send pushes a raw string, a JSON value or a junk frame to every socket', async () => {
    const sim = await start();
    const ws = await WsClient.open(wsUrl(sim, TOKEN_WS_PATH));
    assert.deepEqual((await rest(sim, 'POST', '/_sim/ws/send', { body: { raw: 'garbage{' } })).body, { sent: 1 });
    await rest(sim, 'POST', '/_sim/ws/send', { body: { frame: ['event', { qid: 1, weird: true }] } });
    await rest(sim, 'POST', '/_sim/ws/send', { body: { size: 5000 } });
    await eventually(() => ws.raw.length === 3, 1000, 'three frames');
    assert.equal(ws.raw[0], 'garbage{');
    assert.deepEqual(JSON.parse(ws.raw[1] as string), ['event', { qid: 1, weird: true }]);
    assert.equal(ws.raw[2]?.length, 5000);
    assert.throws(() => JSON.parse(ws.raw[2] as string));
    assert.equal((await rest(sim, 'POST', '/_sim/ws/send', { body: {} })).status, 400);
  });

  it('reset clears calls, subscriptions, log, faults and sessions', async () => {
    const sim = await start();
    const token = await login(sim);
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    sim.startCall({ from: '+79161112233', to: '101' });
    sim.setFaults({ noPong: true });
    assert.equal((await rest(sim, 'POST', '/_sim/reset')).status, 200);
    assert.deepEqual(sim.listCalls(), []);
    assert.deepEqual(sim.subscriptions(), []);
    assert.deepEqual(sim.requests(), []);
    assert.deepEqual(sim.faults, {});
    assert.equal((await rest(sim, 'GET', '/rest/v1/uc/calls', { token })).status, 401);
    assert.equal((await ws.request('connection_info')).result, 'ok', 'sockets stay open');
  });

  it('GET /_sim/ lists the control routes; unknown ones 404', async () => {
    const sim = await start();
    const index = await rest(sim, 'GET', '/_sim/');
    assert.ok((index.body as { routes: string[] }).routes.some((r) => r.startsWith('POST /_sim/burst')));
    assert.equal((await rest(sim, 'GET', '/_sim/nothing')).status, 404);
    assert.equal((await rest(sim, 'POST', '/_sim/calls/x/fly')).status, 404);
  });
});

describe('simulator: restart and stop', () => {
  const start = useSimulators();

  it('restart drops sockets, refuses connections for downMs, loses events meanwhile, keeps calls', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    const call = sim.startCall({ from: '+79161112233', to: '101' });
    await ws.collect(30);
    const port = sim.port;
    const restarting = sim.restart({ downMs: 300 });
    await ws.closed();
    await delay(50);
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
    });
    assert.equal(refused, 'ECONNREFUSED');
    sim.answerCall(call.id);
    await restarting;
    assert.equal(sim.port, port);
    assert.equal(sim.getCall(call.id).state, 'talk', 'calls went on');
    const again = await openReady(sim);
    await again.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    sim.hangupCall(call.id);
    const types = (await again.collect(50, isEvent)).map((f) => String(f[1].type));
    assert.deepEqual(types, ['dlg_end', 'dlg_stop'], 'dlg_start happened while down and is lost');
  });

  it('stop during a restart ends it; after stop nothing is left running', async () => {
    const sim = await start({ traffic: { intervalMs: 20 } });
    const ws = await openReady(sim);
    await ws.subscribe({ id: 's', events: ['callevents.*'], expires: 300 });
    const waiting = sim.waitForEvent(() => false, 60_000);
    const restarting = sim.restart({ downMs: 60_000 });
    await delay(20);
    const t0 = Date.now();
    await sim.stop();
    await restarting;
    await assert.rejects(waiting, /stopped/);
    // Not the 60 s the restart would have lasted.
    assert.ok(Date.now() - t0 < 10_000, `stopped after ${Date.now() - t0} ms`);
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    const servers = handles.filter((h) => h?.constructor?.name === 'Server');
    assert.equal(servers.length, 0, 'no server left listening');
  });
});
