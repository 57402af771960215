import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { EraError } from '../../src/era/errors';
import { Collector, FreezableProxy, ctl, faults, newLog, requests, sim, sleep, startCall, subscribed, tokenClient, userClient, waitFor, waitForState, type Simulator } from './helpers';

describe('client: WebSocket', function () {
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

  /** A client listening to everything, connected and subscribed. */
  async function listening(make = () => userClient(s.url)): Promise<{ c: EraClient; got: Collector }> {
    const c = track(make());
    const got = new Collector();
    c.listen({ events: ['callevents.*', 'ccsevents.*'] }, got.push);
    await waitForState(c, 'connected');
    await subscribed(s);
    return { c, got };
  }

  it('opens only while something listens, on /ws with the session, and closes with the last listener', async () => {
    const c = track(userClient(s.url));
    const states: string[] = [];
    c.on('state', (st) => states.push(st));
    const a = c.listen({ events: ['callevents.*'] }, () => undefined);
    const b = c.listen({ events: ['ccsevents.*'] }, () => undefined);
    await waitForState(c, 'connected');
    await subscribed(s);
    const subs = await ctl<Array<{ id: string; events: string[] }>>(s, 'GET', 'subscriptions');
    assert.equal(subs.length, 1, 'one shared subscription');
    assert.deepEqual(subs[0]!.events, ['callevents.*', 'ccsevents.*']);
    a.close();
    assert.equal(c.state, 'connected');
    b.close();
    await waitForState(c, 'idle');
    await waitFor('the subscription deleted', async () => (await ctl<unknown[]>(s, 'GET', 'subscriptions')).length === 0);
    const ws = (await requests(s)).filter((r) => r.kind === 'ws');
    assert.ok(ws.every((r) => r.path === '/ws'));
    const deletes = ws.filter((r) => r.method === 'subscribe' && (r.body as { expires: number }).expires === 0);
    assert.equal(deletes.length, 1);
    assert.deepEqual(states, ['connecting', 'connected', 'idle']);
  });

  it('is back within about 2 s of a platform that was down for seconds (refused connections do not back off to 30 s)', async function () {
    this.timeout(20000);
    const c = track(tokenClient(s.url, { reconnectMinMs: 1000, reconnectMaxMs: 30000 }));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(c, 'connected');
    await s.restart({ downMs: 6000 });
    const back = Date.now();
    await waitForState(c, 'connected', 10000);
    const took = Date.now() - back;
    // At most 2 s between knocks on a refused port, plus the handshake and a loaded machine's lag;
    // the backoff it must not follow would draw a wait of up to 8 s or 16 s by now.
    assert.ok(took < 2000 + 2000, `connected ${took} ms after the port reopened`);
  });

  it('keeps the socket for a moment after the last listener, for a redeploy to take it over', async () => {
    const c = track(userClient(s.url, { socketLingerMs: 300 }));
    const a = c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(c, 'connected');
    const upgrades = async () => (await requests(s)).filter((r) => r.kind === 'ws' && r.method === 'upgrade').length;
    const before = await upgrades();
    a.close();
    await sleep(100);
    assert.equal(c.state, 'connected');
    const b = c.listen({ events: ['callevents.*'] }, () => undefined);
    await sleep(400);
    assert.equal(c.state, 'connected');
    assert.equal(await upgrades(), before, 'the same socket was kept');
    b.close();
    await waitForState(c, 'idle', 2000);
  });

  it('modifies the shared subscription in place (same id) when the union of patterns changes', async () => {
    const c = track(userClient(s.url));
    const a = c.listen({ events: ['callevents.dlg_start'] }, () => undefined);
    await waitForState(c, 'connected');
    await subscribed(s);
    const b = c.listen({ events: ['callevents.*'] }, () => undefined);
    const d = c.listen({ events: ['callevents.dlg_end'] }, () => undefined);
    await waitFor('the widened subscription', async () => {
      const subs = await ctl<Array<{ events: string[] }>>(s, 'GET', 'subscriptions');
      return subs.length === 1 && subs[0]!.events.join() === 'callevents.*';
    });
    b.close();
    await waitFor('the narrowed subscription', async () => {
      const subs = await ctl<Array<{ events: string[] }>>(s, 'GET', 'subscriptions');
      return subs.length === 1 && subs[0]!.events.join() === 'callevents.dlg_end,callevents.dlg_start';
    });
    const frames = (await requests(s)).filter((r) => r.method === 'subscribe').map((r) => r.body as { id: string; events: string[] });
    assert.deepEqual(frames.map((f) => f.events.join()), ['callevents.dlg_start', 'callevents.*', 'callevents.dlg_end,callevents.dlg_start']);
    assert.equal(new Set(frames.map((f) => f.id)).size, 1);
    a.close();
    d.close();
  });

  it('uses /ws/token/v1 with the token in token mode, and answers wsRequest', async () => {
    const c = track(tokenClient(s.url));
    const info = await c.wsRequest('connection_info');
    assert.equal(info.result, 'ok');
    assert.equal(info.ownertype, 'token');
    const frame = (await requests(s)).find((r) => r.kind === 'ws')!;
    assert.equal(frame.path, '/ws/token/v1');
    await waitFor('the socket closed again', () => c.state === 'idle');
    await assert.rejects(c.wsRequest('no_such_method'), (err: EraError) => {
      assert.equal(err.code, 'ERA_HTTP');
      assert.match(err.message, /^This Era version does not support the WebSocket method no_such_method: unknown method no_such_method$/);
      return true;
    });
  });

  it('acknowledges every push that carries a qid', async () => {
    const { got } = await listening();
    const call = await startCall(s);
    await got.waitFor('the invite', (e) => e.connectionId === call.id && e.type === 'invite');
    await waitFor('acks', async () => (await requests(s)).some((r) => r.method === 'event_result'));
    const ack = (await requests(s)).find((r) => r.method === 'event_result')!;
    assert.deepEqual(Object.keys(ack.body as object).sort(), ['qid', 'result']);
    assert.equal((ack.body as { result: string }).result, 'ok');
  });

  it('acknowledges a burst of pushes with qids of every size and alphabet, in frames the server reads', async () => {
    const { c } = await listening();
    // 200 numbers, then string qids whose frames take the 7-bit, 16-bit and 64-bit lengths of
    // RFC 6455, and multi-byte text, whose length in bytes is not its length in characters;
    // then short ASCII ones again, written after those in the same batch.
    const qids: Array<number | string> = [...Array.from({ length: 200 }, (_, i) => 5000 + i), 'a'.repeat(90), 'я'.repeat(200), 'q'.repeat(70_000), 'ключ-😀\n"', 7001, 'b', 7002];
    qids.forEach((qid, i) => {
      s.sendToSockets({ frame: ['event', { qid, class: 'callevents', type: 'x_burst', data: { eventid: `burst-${i}` } }] });
    });
    const acked = async () => (await requests(s)).filter((r) => r.method === 'event_result' && (r.body as { qid: unknown }).qid !== 1);
    await waitFor('every ack', async () => (await acked()).length >= qids.length);
    assert.deepEqual((await acked()).map((r) => (r.body as { qid: unknown }).qid), qids);
    assert.equal(c.stats.reconnects, 0, 'the server read every frame: a malformed one closes the socket');
    assert.equal(c.state, 'connected');
  });

  it('writes the acknowledgements still waiting before its close frame, and nothing after', async () => {
    const { c } = await listening();
    const closes: number[] = [];
    s.on('request', (r) => r.kind === 'ws' && r.method === '' && closes.push(1));
    // Closed the moment the last push is read, while its acknowledgements wait for their write.
    let closing: Promise<void> | undefined;
    c.listen({ events: ['callevents.x_late'] }, (ev) => {
      if (ev.eventId === 'late-19') closing = c.close();
    });
    for (let i = 0; i < 20; i++) s.sendToSockets({ frame: ['event', { qid: 9000 + i, class: 'callevents', type: 'x_late', data: { eventid: `late-${i}` } }] });
    await waitFor('closed', () => closing !== undefined);
    await closing;
    await sleep(50);
    const acks = (await requests(s)).filter((r) => r.method === 'event_result').map((r) => (r.body as { qid: unknown }).qid);
    assert.deepEqual(acks.filter((q) => typeof q === 'number' && q >= 9000), Array.from({ length: 20 }, (_, i) => 9000 + i));
    assert.deepEqual(closes, [], 'no malformed frame reached the server');
  });

  for (const [what, end] of [
    ['the platform closes the socket politely (1001)', (sv: Simulator) => sv.dropSockets(1001)],
    ['a frame over 16 MiB makes the client close it (1009)', (sv: Simulator) => sv.sendToSockets({ size: 17 * 1024 * 1024 })],
  ] as const) {
    it(`acknowledges the pushes read just before ${what}: their acknowledgements go ahead of the close frame`, async () => {
      const { c, got } = await listening();
      for (let i = 0; i < 5; i++) s.sendToSockets({ frame: ['event', { qid: 8100 + i, class: 'callevents', type: 'x_last', data: { eventid: `last-${i}` } }] });
      end(s);
      await got.waitFor('the last pushes', (e) => e.eventId === 'last-4');
      await waitFor('a reconnect', () => c.stats.reconnects >= 1);
      const acks = (await requests(s)).filter((r) => r.method === 'event_result').map((r) => (r.body as { qid: unknown }).qid);
      assert.deepEqual(acks.filter((q) => typeof q === 'number' && q >= 8100), [8100, 8101, 8102, 8103, 8104]);
    });
  }

  it('gives up an upgrade nobody answers and connects once the server answers again', async () => {
    await faults(s, { hangUpgrade: true });
    const c = track(userClient(s.url, { requestTimeoutMs: 300 }));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    const detail = await waitForState(c, 'disconnected', 3000);
    assert.equal(detail, 'no answer to the WebSocket upgrade within 0.3 s');
    await ctl(s, 'DELETE', 'faults');
    await waitForState(c, 'connected', 3000);
  });

  it('finds a socket that stops answering pings within ping interval + timeout, and reconnects', async () => {
    const { c, got } = await listening();
    await faults(s, { noPong: true });
    const started = Date.now();
    const detail = await waitForState(c, 'disconnected', 3000);
    assert.equal(detail, 'no answer to pings within 0.2 s');
    // pingInterval + pingTimeout, plus timers firing late on a loaded machine.
    assert.ok(Date.now() - started <= 200 + 200 + 1500, `found after ${Date.now() - started} ms`);
    await ctl(s, 'DELETE', 'faults');
    await waitForState(c, 'connected', 3000);
    await subscribed(s);
    const call = await startCall(s);
    await got.waitFor('events after the reconnect', (e) => e.connectionId === call.id);
    assert.equal(c.stats.reconnects, 1);
  });

  it('skips malformed frames and a 5 MB frame, warns once per kind, and keeps the socket', async () => {
    const log = newLog();
    const { c, got } = await listening(() => userClient(s.url, {}, log));
    for (const raw of ['not json', '{"an":"object"}', '[1,2,3]', 'not json either', '["hello",{"qid":1}]', '["hello2",{}]']) {
      await ctl(s, 'POST', 'ws/send', { raw });
    }
    await ctl(s, 'POST', 'ws/send', { size: 5 * 1024 * 1024 });
    const call = await startCall(s);
    await got.waitFor('a valid event after the junk', (e) => e.connectionId === call.id);
    assert.equal(c.stats.undecodable, 7);
    assert.equal(c.stats.reconnects, 0);
    assert.equal(c.state, 'connected');
    assert.deepEqual(log.warn, [
      'Skipped a WebSocket message that is not JSON; such messages are counted in stats.undecodable and not reported again',
      'Skipped a WebSocket message that is not a ["method", {params}] array; such messages are counted in stats.undecodable and not reported again',
      'Skipped a WebSocket message that is of an unknown kind ("hello"); such messages are counted in stats.undecodable and not reported again',
    ]);
    // The unknown push with a qid was acknowledged all the same.
    await waitFor('the ack', async () => (await requests(s)).some((r) => r.method === 'hello_result'));
  });

  it('warns once about a refused subscription, shows it in the state, and retries', async () => {
    const log = newLog();
    await faults(s, { subscribeError: { count: 2, code: 'forbidden', message: 'no rights for callevents' } });
    const c = track(userClient(s.url, {}, log));
    const details: Array<string | undefined> = [];
    c.on('state', (st, d) => st === 'connected' && details.push(d));
    const got = new Collector();
    c.listen({ events: ['callevents.*'] }, got.push);
    await subscribed(s);
    await waitFor('a clean state', () => c.state === 'connected' && c.stateDetail === undefined);
    assert.deepEqual(log.warn, [
      'The platform refused the event subscription (callevents.*): no rights for callevents; retrying',
    ]);
    assert.ok(details.includes('the platform refused the event subscription (callevents.*): no rights for callevents'));
    const call = await startCall(s);
    await got.waitFor('events once subscribed', (e) => e.connectionId === call.id);
  });

  it('renews the subscription at 80% of the lifetime granted, with the same id', async () => {
    await s.stop();
    s = await sim({ maxSubscriptionExpires: 1 });
    const { got } = await listening();
    const first = (await ctl<Array<{ id: string }>>(s, 'GET', 'subscriptions'))[0]!;
    await sleep(1500);
    const subs = (await requests(s)).filter((r) => r.method === 'subscribe');
    assert.ok(subs.length >= 2, `renewed ${subs.length - 1} times`);
    assert.ok(subs.every((r) => (r.body as { id: string }).id === first.id));
    assert.ok(subs.every((r) => (r.body as { expires: number }).expires === 300));
    const call = await startCall(s);
    await got.waitFor('events still flowing', (e) => e.connectionId === call.id);
  });

  it('reconnects after a server restart and events resume', async () => {
    const { c, got } = await listening();
    await s.restart({ downMs: 300 });
    await waitForState(c, 'connected', 5000);
    await subscribed(s);
    const call = await startCall(s);
    await got.waitFor('events after the restart', (e) => e.connectionId === call.id && e.type === 'invite');
    assert.equal(c.stats.reconnects, 1);
  });

  it('after the session expired, logs the socket in with the password once, and never presents the stale session again', async () => {
    const { c, got } = await listening();
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    await ctl(s, 'POST', 'drop');
    await waitForState(c, 'connected', 3000);
    await subscribed(s);
    const forms = async () => (await requests(s)).filter((r) => r.kind === 'ws' && r.method === 'login').map((r) => Object.keys(r.body as object).filter((k) => k !== 'qid').sort().join(','));
    assert.deepEqual(await forms(), ['rsessionid', 'domain,login,pwd,td'], 'the stale session id, then the password');
    await ctl(s, 'POST', 'drop');
    await waitForState(c, 'connected', 3000);
    await subscribed(s);
    assert.deepEqual((await forms()).slice(2), ['domain,login,pwd,td'], 'straight to the password after that');
    await c.command({ op: 'list' });
    const rest = (await requests(s)).filter((r) => r.kind === 'rest');
    assert.equal(rest.filter((r) => r.path === '/rest/v1/iam/sessions').length, 1, 'one fresh login');
    assert.deepEqual(rest.filter((r) => r.status !== 200).map((r) => `${r.method} ${r.path} ${r.status}`), [], 'no request presented the stale session');
    const call = await startCall(s);
    await got.waitFor('events after the new login', (e) => e.connectionId === call.id);
  });

  it('logs in again once when the upgrade is refused with 401 (a server that checks the session on the upgrade)', async () => {
    await s.stop();
    s = await sim({ strict: false });
    const { c, got } = await listening();
    await ctl(s, 'POST', 'expire-sessions');
    await ctl(s, 'DELETE', 'requests');
    await ctl(s, 'POST', 'drop');
    await waitForState(c, 'connected', 3000);
    await subscribed(s);
    const logins = (await requests(s)).filter((r) => r.path === '/rest/v1/iam/sessions');
    assert.equal(logins.length, 1);
    const call = await startCall(s);
    await got.waitFor('events with the new session', (e) => e.connectionId === call.id);
  });

  it('stops for good when the token is refused on the upgrade', async () => {
    const c = track(tokenClient(s.url, { token: 'wrong-token' }));
    const states: Array<[string, string | undefined]> = [];
    c.on('state', (st, d) => states.push([st, d]));
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(c, 'auth_failed');
    await sleep(300);
    assert.deepEqual(states, [
      ['connecting', undefined],
      ['auth_failed', "The platform refused the token (HTTP 401 on the WebSocket): check the integration point's token, then deploy again"],
    ]);
    await assert.rejects(c.command({ op: 'list' }), { code: 'ERA_AUTH_FAILED' });
  });

  it('rejects requests pending on a socket that drops, with ERA_NOT_CONNECTED', async () => {
    const proxy = new FreezableProxy(s.port);
    const url = await proxy.start();
    try {
      const c = track(tokenClient(url));
      c.listen({ events: ['callevents.*'] }, () => undefined);
      await waitForState(c, 'connected');
      proxy.frozen = true;
      const pending = c.wsRequest('connection_info', {}, { timeoutMs: 5000 });
      await sleep(50);
      await proxy.stop();
      await assert.rejects(pending, (err: EraError) => err.code === 'ERA_NOT_CONNECTED');
    } finally {
      await proxy.stop().catch(() => undefined);
    }
  });
});
