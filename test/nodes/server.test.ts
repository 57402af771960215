import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { errorOf, loadAction, loginAttempts } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');
const tlsFile = (name: string) => fs.readFileSync(path.join(TLS_DIR, name), 'utf8');

describe('era-server', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator());
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await sim.stop();
  });

  const eventsFlow = (extra: Record<string, unknown> = {}) => [
    serverNode(sim, extra),
    { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];

  it('on close deletes its subscription and session, closes the socket and leaves nothing', async function () {
    await load(eventsFlow());
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    await ctl.clearRequests();
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 5000);
    const after = await ctl.requests();
    assert.ok(after.some((r) => r.kind === 'ws' && r.method === 'subscribe' && (r.body as Record<string, unknown>).expires === 0), 'subscription deleted');
    assert.ok(after.some((r) => r.method === 'DELETE' && r.path === '/rest/v1/iam/sessions/current'), 'session ended');
    await eventually(async () => (await ctl.subscriptions()).length === 0, 2000, 'no subscription left');
  });

  it('closes within 5 s when the platform stops answering', async function () {
    this.timeout(15000);
    await load(eventsFlow());
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    await ctl.faults({ restHang: { count: 100 }, noPong: true });
    const started = Date.now();
    await helper.unload();
    // The contract: 5 s whatever the server does. The client's own budgets (unsubscribe, logout,
    // pool) add up to 3.5 s, so a loaded machine has 1.5 s of timer lag before this fails.
    const took = Date.now() - started;
    assert.ok(took < 5000, `closed in ${took} ms`);
  });

  it('a server that never answers the upgrade shows disconnected, then recovers', async function () {
    this.timeout(20000);
    await ctl.faults({ hangUpgrade: true });
    await load(eventsFlow({ requestTimeout: 1 }));
    const out = new Inbox('out');
    await eventually(() => statuses.has('ev', 'red', 'ring'), 8000, 'disconnected');
    await ctl.faults({ hangUpgrade: false });
    await eventually(() => statuses.has('ev', 'green', 'dot'), 10000, 'connected after the fault ends');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
    await ctl.startCall();
    await out.count(1, 3000);
  });

  it('finds a silent socket (no pong) and reconnects by itself', async function () {
    this.timeout(20000);
    await load(eventsFlow({ pingInterval: 1 }));
    const out = new Inbox('out');
    await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'connected');
    await ctl.clearRequests();
    const before = statuses.of('ev').length;
    await ctl.faults({ noPong: true });
    const faultAt = Date.now();
    await eventually(() => statuses.of('ev').slice(before).some((s) => s.fill !== 'green'), 15000, 'the dead socket noticed');
    // pingInterval 1 s + the client's 5 s pong timeout is the documented bound; 2 s more for
    // timers firing late on a loaded machine. A socket found by anything but the pings (the
    // operating system's TCP timeouts) takes minutes.
    const took = Date.now() - faultAt;
    assert.ok(took < 6000 + 2000, `noticed after ${took} ms`);
    await ctl.faults({ noPong: false });
    await eventually(async () => (await ctl.requests()).some((r) => r.kind === 'ws' && r.method === 'subscribe'), 10000, 'resubscribed');
    await ctl.startCall();
    await out.count(1, 5000);
  });

  it('a subscribe answered with an error is shown and retried', async function () {
    this.timeout(20000);
    await ctl.faults({ subscribeError: { count: 1, message: 'no rights for callevents' } });
    await load(eventsFlow());
    const out = new Inbox('out');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 15000, 'subscribed after the retry');
    await ctl.startCall();
    await out.count(1, 3000);
    const shown = statuses.of('ev').map((s) => s.text ?? '');
    assert.ok(shown.some((t) => /no rights|subscri/i.test(t)), `the error was shown: ${shown.join(' | ')}`);
  });

  it('Test connection: ok with the stored password, a clear no with a wrong one', async function () {
    await load(eventsFlow());
    await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'the deployed node logged in');
    const base = { id: 'srv', url: sim.url, domain: 'demo.local', authMode: 'user', verifyTls: true, ca: '' };
    const stored = await helper.request().post('/era-server/test').send({ ...base, credentials: { login: 'operator', password: '__PWRD__' } });
    assert.equal(stored.status, 200);
    assert.equal((stored.body as { ok: boolean }).ok, true, JSON.stringify(stored.body));
    const loginsBefore = (await loginAttempts(ctl)).length;
    const wrong = await helper.request().post('/era-server/test').send({ ...base, id: 'new', credentials: { login: 'operator', password: 'nope' } });
    const body = wrong.body as { ok: boolean; message: string };
    assert.equal(body.ok, false);
    assert.ok(!body.message.includes('nope'), 'the password is not echoed');
    assert.deepEqual((await loginAttempts(ctl)).slice(loginsBefore), ['rest POST /rest/v1/iam/sessions 401'], 'one login for the click');
    const noScheme = await helper.request().post('/era-server/test').send({ ...base, url: 'era.example.ru' });
    assert.equal((noScheme.body as { ok: boolean }).ok, false);
  });

  it('trusts a private CA given in the node, refuses an unknown certificate, and can be told not to verify', async function () {
    await sim.stop();
    ({ sim, ctl } = await simulator({ tls: { key: tlsFile('server-key.pem'), cert: tlsFile('server-cert.pem') } }));
    // The control API is behind the same private CA, so the call is started in-process.
    const call = await sim.startCall({ from: '+79990001122', to: '101' });
    const send = async (server: Record<string, unknown>) => {
      const env = await loadAction(sim, { type: 'era-call' }, { server });
      env.send({ connectionId: call.connectionid });
      await env.out.until((m) => m.length > 0 || env.caught.messages.length > 0, 5000, 'an answer');
      return env;
    };
    const trusted = await send({ ca: tlsFile('ca.pem') });
    assert.equal(trusted.out.messages.length, 1, JSON.stringify(trusted.caught.messages.map(errorOf)));
    await helper.unload();
    const untrusted = await send({});
    await untrusted.caught.count(1, 5000);
    assert.equal(errorOf(untrusted.caught.messages[0]).code, 'ERA_NOT_CONNECTED');
    assert.match(String(errorOf(untrusted.caught.messages[0]).message), /certificate/i);
    await helper.unload();
    const unverified = await send({ verifyTls: false });
    assert.equal(unverified.out.messages.length, 1);
  });
});
