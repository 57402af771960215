/**
 * No deploy, click or burst gets the address banned (era-platform.md §2.1), in real flows:
 * many era-server nodes with one wrong password started together (by host name and by IP),
 * Test connection and Check installation clicked with a wrong password before the right one,
 * and a ban met while the socket is up — shown as a countdown, waited out, then recovered from
 * without a redeploy.
 */
import assert from 'node:assert/strict';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed, type FlowNode } from '../support/red';
import { simulator, type SimControl, type SimRequest, type Simulator } from '../support/sim';
import type { SimRequestLog } from '../../src/simulator';
import { acceptedLogin, leaveClean } from '../client/ban-helpers';

const LOGIN = '/rest/v1/iam/sessions';

const failedLogins = async (ctl: SimControl): Promise<number> =>
  (await ctl.requests()).filter((r) => r.kind === 'rest' && r.path === LOGIN && r.status === 401).length;

async function loginStatus(sim: Simulator, pwd: string): Promise<number> {
  const res = await fetch(`${sim.url}${LOGIN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'demo.local', login: 'operator', pwd, session_type: 'token' }) });
  await res.text();
  return res.status;
}

const isLogin = (r: SimRequest | SimRequestLog): boolean => (r.kind === 'rest' && r.path === LOGIN) || (r.kind === 'ws' && r.method === 'login');

describe('no deploy, click or burst gets the address banned', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await sim.stop();
  });
  after(leaveClean);

  async function start(opts: Parameters<typeof simulator>[0] = {}): Promise<void> {
    ({ sim, ctl } = await simulator(opts));
    // The process's count of failures at 127.0.0.1 (other tests') cleared, as a login the platform accepts does.
    await acceptedLogin(sim);
    statuses = new StatusLog();
    await startRed();
  }

  for (const count of [5, 20]) {
    it(`${count} era-server nodes with one wrong password, started together by name and by IP: at most 3 failures reach the platform, each shows auth failed, no ban, and a good server beside them delivers`, async function () {
      await start();
      // A password from a Russian keyboard: any alphabet travels, and none is ever shown.
      const wrong = 'неверный пароль';
      const flow: FlowNode[] = [
        { ...serverNode(sim), id: 'good' },
        { id: 'good-ev', type: 'era-events', server: 'good', events: 'callevents.*', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ];
      const credentials: Record<string, unknown> = { good: { login: 'operator', password: 'operator' } };
      for (let i = 0; i < count; i++) {
        const url = i % 2 ? sim.url.replace('127.0.0.1', 'localhost') : sim.url;
        flow.push({ ...serverNode(sim, { url }), id: `srv${i}` }, { id: `ev${i}`, type: 'era-events', server: `srv${i}`, events: 'callevents.*', wires: [] });
        credentials[`srv${i}`] = { login: 'operator', password: wrong };
      }
      await load(flow, credentials);
      const out = new Inbox('out');
      const bad = flow.filter((n) => /^ev\d+$/.test(n.id));
      await eventually(() => bad.every((n) => statuses.has(n.id, 'red', 'dot')), 10_000, 'auth failed on every node of a wrong password');
      const failed = await failedLogins(ctl);
      assert.ok(failed >= 1 && failed <= 3, `${failed} failed logins reached the platform`);
      assert.ok((await ctl.requests()).every((r) => r.status !== 403), 'nothing was refused as banned');
      assert.equal(await loginStatus(sim, 'operator'), 200, 'the address is not banned');
      await eventually(() => statuses.has('good-ev', 'green', 'dot'), 5000, 'the good server connected');
      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');
      await ctl.startCall();
      await out.count(1, 5000);
      assert.ok(!JSON.stringify(statuses.events).includes(wrong), 'the password is in no status');
    });
  }

  it('five servers redeployed a moment after the platform forgot their sessions: the old ones log out at most three, the new ones connect, no ban', async function () {
    await start();
    const flow = (rev: number): FlowNode[] => {
      const nodes: FlowNode[] = [{ id: 'tab', type: 'tab', label: `rev ${rev}` }];
      for (let i = 0; i < 5; i++) {
        nodes.push({ ...serverNode(sim), id: `srv${i}`, name: `account ${i} rev ${rev}` }, { id: `ev${i}`, z: 'tab', type: 'era-events', server: `srv${i}`, events: 'callevents.*', wires: [] });
      }
      return nodes;
    };
    const credentials = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`srv${i}`, { login: 'operator', password: 'operator' }]));
    await load(flow(1), credentials);
    await eventually(async () => (await ctl.subscriptions()).length >= 5, 10_000, 'all five subscribed');
    await ctl.call('POST', 'expire-sessions');
    await ctl.clearRequests();
    await helper.setFlows(flow(2), 'full', {});
    await eventually(async () => (await ctl.subscriptions()).length >= 5, 10_000, 'the new five subscribed');
    const log = await ctl.requests();
    const logouts = log.filter((r) => r.kind === 'rest' && r.method === 'DELETE' && r.path === `${LOGIN}/current`);
    assert.ok(logouts.length <= 3, `${logouts.length} logouts presented a forgotten session`);
    assert.ok(log.every((r) => r.status !== 403), 'nothing was refused as banned');
    assert.equal(await loginStatus(sim, 'operator'), 200, 'the address is not banned');
  });

  it('Test connection and Check installation clicked with a wrong password, then the right one: it works, and the deployed node is not refused later', async function () {
    await start();
    await load([serverNode(sim), { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = new Inbox('out');
    await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'the deployed node connected');
    const dialog = { id: 'new', url: sim.url, domain: 'demo.local', authMode: 'user', verifyTls: true, ca: '' };
    const click = async (password: string) =>
      (await helper.request().post('/era-server/test').send({ ...dialog, credentials: { login: 'operator', password } })).body as { ok: boolean; message: string };
    const together = await Promise.all([click('typo'), click('typo'), click('typo')]);
    assert.ok(together.every((r) => !r.ok));
    for (let i = 0; i < 2; i++) assert.equal((await click('typo')).ok, false);
    const check = (await helper.request().post('/era-server/check').send({ ...dialog, credentials: { login: 'operator', password: 'typo' } })).body as { report: { steps: Array<{ name: string; status: string }> } };
    assert.equal(check.report.steps.find((st) => st.name === 'login')?.status, 'fail');
    assert.ok(await failedLogins(ctl) <= 3, 'the clicks and the check share one budget');
    const right = await click('operator');
    assert.equal(right.ok, true, right.message);
    // Later the deployed node's session expires and its socket drops: it logs in again and carries on.
    await ctl.call('POST', 'expire-sessions');
    await ctl.call('POST', 'drop');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 8000, 'subscribed again');
    await ctl.startCall();
    await out.count(1, 5000);
    assert.ok(!statuses.has('ev', 'red', 'dot'), 'never auth failed');
    assert.equal(await loginStatus(sim, 'operator'), 200);
  });

  it('a ban met while the socket is connected: a countdown, no login while it lasts, then back without a redeploy', async function () {
    const banMs = 3000;
    await start({ banMs, banRestStatus: 429, banUpgrade: 429 });
    await load([serverNode(sim), { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = new Inbox('out');
    await eventually(() => statuses.has('ev', 'green', 'dot'), 5000, 'connected');
    // Someone else at this address types a wrong password five times: the platform bans it.
    const seen: SimRequestLog[] = [];
    sim.on('request', (r: SimRequestLog) => seen.push(r));
    for (let i = 0; i < 5; i++) await loginStatus(sim, 'wrong');
    const bannedAt = Date.now();
    const before = statuses.of('ev').length;
    await ctl.call('POST', 'drop');
    await eventually(() => statuses.of('ev').slice(before).some((st) => st.fill === 'red' && st.shape === 'ring' && /banned by the platform, retry in 0:0\d/.test(st.text ?? '')), 5000, 'the countdown');
    await eventually(() => statuses.of('ev').slice(before).some((st) => st.fill === 'green'), 10_000, 'connected again');
    await ctl.startCall();
    await out.count(1, 5000);
    const ours = seen.filter((r) => !(r.kind === 'rest' && r.path === LOGIN && (r.body as { pwd?: string }).pwd === 'wrong'));
    const during = ours.filter((r) => r.ts < bannedAt + banMs - 200);
    assert.deepEqual(during.filter(isLogin), [], 'no login while the ban lasted');
    assert.ok(during.filter((r) => r.kind === 'ws' && r.method === 'upgrade').length <= 1, 'one upgrade met the ban, none knocked again');
    assert.ok(!statuses.has('ev', 'red', 'dot'), 'a ban is not "auth failed"');
  });
});
