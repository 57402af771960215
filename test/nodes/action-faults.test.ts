import assert from 'node:assert/strict';
import { callRequests, errorOf, loadAction, loginAttempts } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, any>;

describe('action nodes under faults', function () {
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator());
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('reports a 500 with an HTML body as ERA_HTTP with the status and a short excerpt, then works again', async function () {
    const call = await ctl.startCall();
    const { out, caught, send } = await loadAction(sim, { type: 'era-hangup' });
    await ctl.faults({
      restStatus: { status: 500, count: 1, contentType: 'text/html', body: `<html><body><h1>Internal Server Error</h1>${'x'.repeat(5000)}</body></html>` },
    });
    send({ connectionId: call.connectionid });
    await caught.count(1);
    const err = errorOf(caught.messages[0]);
    assert.equal(err.code, 'ERA_HTTP');
    assert.match(String(err.message), /500/);
    assert.match(String(err.message), /Internal Server Error/);
    assert.ok(String(err.message).length < 400, 'a short excerpt, not the whole page');
    assert.equal(out.messages.length, 0);
    send({ connectionId: call.connectionid });
    await out.count(1);
  });

  it('a 503 fails once with ERA_HTTP and the next request succeeds; nothing is sent twice', async function () {
    const { out, caught, send } = await loadAction(sim, { type: 'era-dial', from: '101', fromType: 'str' });
    await ctl.faults({ restStatus: { status: 503, count: 1, body: 'busy' } });
    send({ payload: '+79990001111' });
    await caught.count(1);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_HTTP');
    send({ payload: '+79990002222' });
    await out.count(1);
    const posts = (await callRequests(ctl)).filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2, 'one request per message: the failed dial was not retried');
  });

  it('a request that never answers ends with ERA_TIMEOUT', async function () {
    this.timeout(15000);
    const call = await ctl.startCall();
    const { out, caught, send } = await loadAction(sim, { type: 'era-hangup' }, { server: { requestTimeout: 1 } });
    await ctl.faults({ restHang: { count: 1 } });
    send({ connectionId: call.connectionid });
    await caught.count(1, 5000);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_TIMEOUT');
    send({ connectionId: call.connectionid });
    await out.count(1, 5000);
  });

  it('logs in again once, silently, when the session expires between two actions', async function () {
    const a = await ctl.startCall();
    const b = await ctl.startCall({ from: '+79990003333' });
    const { out, caught, send } = await loadAction(sim, { type: 'era-hangup' });
    send({ connectionId: a.connectionid });
    await out.count(1);
    await ctl.call('POST', 'expire-sessions');
    send({ connectionId: b.connectionid });
    await out.count(2);
    assert.equal(caught.messages.length, 0);
    const logins = (await ctl.requests()).filter((r) => r.method === 'POST' && r.path === '/rest/v1/iam/sessions');
    assert.equal(logins.length, 2);
  });

  it('wrong password: auth failed on every node, no retry storm', async function () {
    this.timeout(10000);
    const call = await ctl.startCall();
    await load(
      [
        { id: 'tab', type: 'tab' },
        serverNode(sim),
        { id: 'ev', z: 'tab', type: 'era-events', server: 'srv', wires: [[]] },
        { id: 'n', z: 'tab', type: 'era-hangup', server: 'srv', wires: [[]] },
        { id: 'st', z: 'tab', type: 'status', scope: null, wires: [['status']] },
        { id: 'status', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
      ],
      { srv: { login: 'operator', password: 'wrong' } },
    );
    const status = new Inbox('status');
    const caught = new Inbox('caught');
    const redDot = (id: string) => (m: Msg[]) => m.some((x) => x.status?.source?.id === id && x.status.fill === 'red' && x.status.shape === 'dot');
    await status.until(redDot('ev'), 5000, 'auth failed on era-events');
    for (let i = 0; i < 5; i++) helper.getNode('n').receive({ connectionId: call.connectionid });
    await caught.count(5);
    for (const m of caught.messages) assert.equal(errorOf(m).code, 'ERA_AUTH_FAILED');
    await status.until(redDot('n'), 3000, 'auth failed on era-hangup');
    // Time for a retry, were there one: the socket's backoff starts at 1 s.
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await loginAttempts(ctl), ['rest POST /rest/v1/iam/sessions 401'], 'one login, refused, and no other try');
  });

  it('an unreachable host gives ERA_NOT_CONNECTED and a red status', async function () {
    const dead = await simulator();
    const url = dead.sim.url;
    await dead.sim.stop();
    const { caught, send } = await loadAction(sim, { type: 'era-hangup' }, { server: { url } });
    send({ connectionId: 'x.1' });
    await caught.count(1, 5000);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_NOT_CONNECTED');
  });

  it('a URL without a scheme is a clear configuration error, not a crash', async function () {
    const { caught, send } = await loadAction(sim, { type: 'era-hangup' }, { server: { url: 'era.example.ru' } });
    send({ connectionId: 'x.1' });
    await caught.count(1);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_INVALID_INPUT');
    assert.match(String(errorOf(caught.messages[0]).message), /https?:\/\//);
  });

  it('1,000 actions at once: each ends once, and exactly those the platform refused fail', async function () {
    this.timeout(30000);
    const calls = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ctl.startCall({ from: `+7999000${String(i).padStart(4, '0')}`, answer: true })),
    );
    // A request's timeout runs from the moment it is queued: 10 s, so that a slow machine
    // working through the queue never turns a good request into ERA_TIMEOUT.
    const { out, caught, send } = await loadAction(sim, { type: 'era-hold', action: 'hold' }, { server: { requestTimeout: 10 } });
    await ctl.faults({ restStatus: { status: 503, count: 50, body: 'overloaded' } });
    for (let i = 0; i < 1000; i++) send({ connectionId: calls[i % calls.length].connectionid, i });
    await eventually(() => out.messages.length + caught.messages.length === 1000, 25000, 'every action to end');
    const ended = [...out.messages, ...caught.messages].map((m) => m.i);
    assert.equal(new Set(ended).size, 1000, 'each message ended once');
    // Each of the 50 injected 503s fails one message; nothing else may fail.
    assert.deepEqual(caught.messages.map((m) => errorOf(m).code), Array(50).fill('ERA_HTTP'));
    assert.equal(out.messages.length, 950);
    const holds = (await callRequests(ctl)).filter((r) => r.method === 'NOTIFY');
    assert.equal(holds.length, 1000, 'one request per message, none sent again');
  });
});
