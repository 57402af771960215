/**
 * Credentials and URLs a person types or pastes wrong, deployed beside a good server: the bad
 * era-server refuses them when it starts (ERA_INVALID_INPUT, a red status on its nodes that
 * names the field), sends nothing, never echoes a secret, and crashes nothing (test/support/
 * hooks.ts fails a test during which an exception or rejection went unhandled); the good
 * server's era-events goes on delivering. A Cyrillic login or password is not refused by
 * design (both travel in a JSON body, and Era's users write Russian): the platform refuses
 * it, which shows as a clean auth failure after exactly one login.
 */
import assert from 'node:assert/strict';
import { errorOf } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed, type FlowNode } from '../support/red';
import { simulator, type SimControl, type SimRequest, type Simulator } from '../support/sim';

type Msg = Record<string, unknown>;

/** A login or socket upgrade that is not the good server's (user mode, operator/operator, /ws). */
function notTheGoodServers(r: SimRequest): boolean {
  const body = (r.body ?? {}) as Msg;
  const good = body.login === 'operator' && body.pwd === 'operator';
  if (r.kind === 'rest' && r.method === 'POST' && r.path === '/rest/v1/iam/sessions') return !good;
  if (r.kind === 'ws' && r.method === 'upgrade') return r.path !== '/ws';
  if (r.kind === 'ws' && r.method === 'login') return body.rsessionid === undefined && !good;
  return false;
}

/** `text` in what was seen, compared as JSON so that control characters match their escapes. */
function shows(seen: unknown, text: string): boolean {
  return JSON.stringify(seen).includes(JSON.stringify(text).slice(1, -1));
}

/** A bad server's settings; what it leaves out is the simulator's (user mode, operator/operator). */
interface BadServer {
  url?: string;
  authMode?: 'user' | 'token';
  login?: string;
  password?: string;
  token?: string;
}

interface Refused {
  title: string;
  server: BadServer;
  /** What the status and the error must name. */
  field: RegExp;
  /** What must appear in no status, log line or error. */
  secret?: string;
}

const TEN_KB = 10 * 1024;

const REFUSED: Refused[] = [
  { title: 'a token typed in a Russian layout (Cyrillic "о")', server: { authMode: 'token', token: 'demo-t\u043eken' }, field: /token/i, secret: 'demo-t\u043eken' },
  { title: 'a token with a line break', server: { authMode: 'token', token: 'demo-token\n' }, field: /token/i, secret: 'demo-token\n' },
  { title: 'a token with a NUL', server: { authMode: 'token', token: 'demo\u0000token' }, field: /token/i, secret: 'demo\u0000token' },
  { title: 'a 10 kB token', server: { authMode: 'token', token: 't'.repeat(TEN_KB) }, field: /token/i, secret: 't'.repeat(TEN_KB) },
  { title: 'a login with a line break', server: { login: 'operator\n' }, field: /login/i },
  { title: 'a login with a NUL', server: { login: 'oper\u0000ator' }, field: /login/i },
  { title: 'a 10 kB login', server: { login: 'l'.repeat(TEN_KB) }, field: /login/i },
  { title: 'a password with a line break', server: { password: 'operator\n' }, field: /password/i, secret: 'operator\n' },
  { title: 'a password with a NUL', server: { password: 'oper\u0000ator' }, field: /password/i, secret: 'oper\u0000ator' },
  { title: 'a 10 kB password', server: { password: 'p'.repeat(TEN_KB) }, field: /password/i, secret: 'p'.repeat(TEN_KB) },
  { title: 'the URL "era example ru"', server: { url: 'era example ru' }, field: /URL/ },
  { title: 'the URL "ftp://x"', server: { url: 'ftp://x' }, field: /URL/ },
  { title: 'the URL "https://"', server: { url: 'https://' }, field: /URL/ },
  { title: 'a URL with a path', server: { url: 'https://host/with/path' }, field: /URL/ },
  { title: 'a URL with credentials in it', server: { url: 'https://user:pass@host' }, field: /URL/, secret: 'user:pass' },
];

/** Accepted here, refused by the platform. */
const CYRILLIC: Array<{ title: string; server: BadServer }> = [
  { title: 'a Cyrillic login', server: { login: '\u043e\u043f\u0435\u0440\u0430\u0442\u043e\u0440' } },
  { title: 'a Cyrillic password', server: { password: '\u043f\u0430\u0440\u043e\u043b\u044c' } },
];

describe('era-server: bad credentials and URLs beside a good server', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;
  let deployed = 0;
  /** Ids of this test's nodes: a redeployed era-server hands its live calls to the next one with its id. */
  let ids: { bad: string; good: string };

  beforeEach(async function () {
    ({ sim, ctl } = await simulator());
    statuses = new StatusLog();
    await startRed();
    deployed++;
    ids = { bad: `bad-srv-${deployed}`, good: `good-srv-${deployed}` };
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await sim.stop();
  });

  /**
   * The bad server with an era-events and an era-dial on it, the good one with an era-events;
   * a Catch node for every error. Resolves once the good server is subscribed.
   */
  async function deployBeside(bad: BadServer): Promise<{ caught: Inbox; good: Inbox }> {
    const { url, authMode, ...credentials } = bad;
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      serverNode(sim, { id: ids.bad, name: 'bad', authMode: authMode ?? 'user', ...(url === undefined ? {} : { url }) }),
      { id: 'bad-ev', z: 'tab', type: 'era-events', server: ids.bad, events: 'callevents.*', wires: [[]] },
      { id: 'bad-dial', z: 'tab', type: 'era-dial', server: ids.bad, from: '101', fromType: 'str', wires: [[]] },
      serverNode(sim, { id: ids.good, name: 'good' }),
      { id: 'good-ev', z: 'tab', type: 'era-events', server: ids.good, events: 'callevents.*', wires: [['good-out']] },
      { id: 'good-out', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
    ];
    const badCredentials = authMode === 'token' ? credentials : { login: 'operator', password: 'operator', ...credentials };
    await load(flow, { [ids.bad]: badCredentials, [ids.good]: { login: 'operator', password: 'operator' } });
    return { caught: new Inbox('caught'), good: new Inbox('good-out') };
  }

  /** An input to the bad era-dial: its error, from the Catch node. */
  async function dialOnBad(caught: Inbox): Promise<{ code?: string; message?: string }> {
    helper.getNode('bad-dial').receive({ payload: '+79990001122' });
    await caught.count(1);
    return errorOf(caught.messages[0] as Msg);
  }

  /** The good server still hears a call from start to end. */
  async function goodStillDelivers(good: Inbox): Promise<void> {
    await eventually(() => sim.subscriptions().length > 0, 5000, 'the good server subscribed');
    const call = await ctl.startCall();
    await ctl.hangup(call.id);
    await good.until((m) => m.some((x) => x.connectionId === call.connectionid && x.topic === 'callevents.dlg_end'), 5000, 'the call\'s events on the good server');
  }

  for (const value of REFUSED) {
    it(`refuses ${value.title}`, async function () {
      const { caught, good } = await deployBeside(value.server);
      for (const id of ['bad-ev', 'bad-dial']) {
        const shown = statuses.of(id).filter((s) => s.fill === 'red');
        assert.ok(shown.some((s) => value.field.test(String(s.text))), `${id} shows the problem: ${JSON.stringify(statuses.of(id))}`);
      }
      const err = await dialOnBad(caught);
      assert.equal(err.code, 'ERA_INVALID_INPUT');
      assert.match(String(err.message), value.field, 'the message names the field');

      await goodStillDelivers(good);
      const requests = await ctl.requests();
      assert.deepEqual(requests.filter((r) => r.kind === 'rest' && r.method === 'POST' && r.path === '/rest/v1/uc/calls'), [], 'the dial reached nothing');
      assert.deepEqual(requests.filter(notTheGoodServers), [], 'the bad server sent nothing');
      if (value.secret !== undefined) {
        const seen = [statuses.events, caught.messages.map((m) => errorOf(m)), helper.log().args];
        assert.ok(!shows(seen, value.secret), 'the secret is shown nowhere');
      }
    });
  }

  for (const value of CYRILLIC) {
    it(`passes ${value.title} to the platform, whose refusal is a clean auth failure after one login`, async function () {
      const { caught, good } = await deployBeside(value.server);
      await eventually(() => statuses.has('bad-ev', 'red', 'dot'), 5000, 'auth failed on the bad server');
      const err = await dialOnBad(caught);
      assert.equal(err.code, 'ERA_AUTH_FAILED');
      for (const id of ['bad-ev', 'bad-dial']) {
        assert.ok(statuses.of(id).some((s) => s.fill === 'red' && s.shape === 'dot' && /authFailed/.test(String(s.text))), `${id}: ${JSON.stringify(statuses.of(id))}`);
      }
      await goodStillDelivers(good);
      const sent = { login: value.server.login ?? 'operator', pwd: value.server.password ?? 'operator' };
      const logins = (await ctl.requests()).filter((r) => {
        const body = r.body as Msg | undefined;
        return (r.path === '/rest/v1/iam/sessions' || r.method === 'login') && body?.login === sent.login && body?.pwd === sent.pwd;
      });
      assert.deepEqual(logins.map((r) => `${r.kind} ${r.method} ${String(r.status)}`), ['rest POST 401'], 'exactly one login, refused');
      assert.equal((await ctl.requests()).filter((r) => r.method === 'POST' && r.path === '/rest/v1/uc/calls').length, 0, 'the dial was not sent');
    });
  }
});
