/**
 * The dialog's buttons (Test connection, Check installation) with a secret left blank use the
 * one stored with the deployed node only for the platform it was deployed for: another URL,
 * another domain or the other mode gets "type it again", and nothing is sent anywhere.
 */
import assert from 'node:assert/strict';
import type { Report } from '../../src/check/report';
import { platformOf } from '../../src/nodes/lib/dialog-options';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const PASSWORD = 'Pw-stored-9f2c';
const TOKEN = 'Tk-stored-4a7e';

type Answer = Record<string, unknown>;

describe('era-server: a stored secret goes only to the platform it was stored for', function () {
  this.timeout(30_000);
  let home: Simulator;
  let homeCtl: SimControl;
  /** Another platform that would accept the stored password: the proof that it was never offered. */
  let other: Simulator;
  let otherCtl: SimControl;

  beforeEach(async () => {
    ({ sim: home, ctl: homeCtl } = await simulator({ password: PASSWORD, token: TOKEN }));
    ({ sim: other, ctl: otherCtl } = await simulator({ password: PASSWORD, token: TOKEN, domain: 'other.local' }));
    await startRed();
    // Stored in user mode, with a token kept from an earlier token-mode configuration.
    await load(
      [
        { id: 'tab', type: 'tab' },
        serverNode(home),
        { id: 'ev', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
      ],
      { srv: { login: 'operator', password: PASSWORD, token: TOKEN } },
    );
    await eventually(async () => (await homeCtl.subscriptions()).length > 0, 10_000, 'the deployed flow subscribed');
    await homeCtl.clearRequests();
    await otherCtl.clearRequests();
  });

  afterEach(async () => {
    await stopRed();
    await home.stop();
    await other.stop();
  });

  /** The dialog's body: the deployed node's values, the secrets blank as Node-RED's dialog leaves them. */
  const dialog = (extra: Answer = {}, credentials: Answer = { login: 'operator', password: '__PWRD__', token: '__PWRD__' }): Answer => ({
    id: 'srv', url: home.url, domain: 'demo.local', authMode: 'user', verifyTls: true, ca: '', tls: '', credentials, ...extra,
  });

  async function press(path: '/era-server/test' | '/era-server/check', body: Answer): Promise<Answer> {
    const res = await helper.request().post(path).send(body);
    assert.equal(res.status, 200);
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(PASSWORD) && !text.includes(TOKEN), `no secret in the answer: ${text}`);
    return res.body as Answer;
  }

  /** Both buttons refuse, asking for `secret` to be typed again, and neither platform hears a thing. */
  async function refusedEverywhere(body: Answer, secret: 'password' | 'token'): Promise<void> {
    const tested = await press('/era-server/test', body);
    assert.equal(tested.ok, false);
    assert.match(String(tested.message), new RegExp(`stored ${secret} .*type the ${secret} again`));
    const { report, text } = (await press('/era-server/check', body)) as { report: Report; text: string };
    assert.deepEqual([report.steps[0]!.name, report.steps[0]!.status], ['config', 'fail'], text);
    assert.match(report.steps[0]!.summary, new RegExp(`type the ${secret} again`));
    assert.ok(report.steps.slice(1).every((s) => s.status === 'skipped'), text);
    assert.deepEqual(await otherCtl.requests(), [], 'the other platform was sent nothing');
    const logins = (await homeCtl.requests()).filter((r) => r.path.startsWith('/rest/') || r.method === 'login');
    assert.deepEqual(logins, [], 'the stored platform was sent nothing either');
  }

  /** The deployed flow was not disturbed: a new call still comes out of era-events. */
  async function flowStillWorks(): Promise<void> {
    const out = new Inbox('out');
    const call = await homeCtl.startCall();
    await out.until((msgs) => msgs.some((m) => m.connectionId === call.connectionid), 5000, 'the invite of a new call');
  }

  it('another URL: the password must be typed again; typed, it is used', async () => {
    await refusedEverywhere(dialog({ url: other.url, domain: 'other.local' }), 'password');
    const typed = await press('/era-server/test', dialog({ url: other.url, domain: 'other.local' }, { login: 'operator', password: PASSWORD }));
    assert.equal(typed.ok, true, String(typed.message));
    assert.ok((await otherCtl.requests()).some((r) => r.path === '/rest/v1/iam/sessions'), 'the typed password went where it was typed for');
    await flowStillWorks();
  });

  it('another domain on the same URL: the password must be typed again', async () => {
    await refusedEverywhere(dialog({ domain: 'sales.demo.local' }), 'password');
    await flowStillWorks();
  });

  it('the other mode: a token stored beside the password is not used either', async () => {
    await refusedEverywhere(dialog({ authMode: 'token' }), 'token');
    await refusedEverywhere(dialog({ authMode: 'token' }, { token: '' }), 'token');
    await flowStillWorks();
  });

  it('the same platform, however written (case, spaces, a trailing slash): the stored password is used', async () => {
    const written = `${home.url.toUpperCase().replace('HTTP://', 'Http://')}/`;
    const tested = await press('/era-server/test', dialog({ url: ` ${written} `, domain: ' DEMO.local ' }));
    assert.equal(tested.ok, true, String(tested.message));
    const login = (await homeCtl.requests()).find((r) => r.path === '/rest/v1/iam/sessions');
    assert.deepEqual(login?.body, { domain: 'DEMO.local', login: 'operator', pwd: PASSWORD, session_type: 'token' }, 'logged in with the stored password');
    await flowStillWorks();
  });

  it('compares URLs as addresses: default port, case and trailing slash do not count; scheme, port and host do', () => {
    const same = (a: string, b: string) => JSON.stringify(platformOf({ url: a })) === JSON.stringify(platformOf({ url: b }));
    assert.ok(same('https://era.example.ru:443/', ' HTTPS://Era.Example.RU '));
    assert.ok(same('http://era.example.ru:80', 'http://era.example.ru/'));
    assert.ok(!same('https://era.example.ru', 'http://era.example.ru'), 'the scheme');
    assert.ok(!same('https://era.example.ru', 'https://era.example.ru:8443'), 'the port');
    assert.ok(!same('https://era.example.ru', 'https://era.example.ru.attacker.net'), 'the host');
    assert.deepEqual(platformOf({ url: 'x', domain: ' Demo.Local ', authMode: 'token' }), { url: 'x', domain: 'demo.local', authMode: 'token' });
  });
});
