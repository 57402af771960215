/**
 * The password and the token never reach anything a person, a log or another flow sees, on
 * the paths where they plausibly could: a refused login, a platform error that echoes the
 * request (body or socket errormsg), Test connection and Check installation failing. What is
 * watched: every runtime log record at every level (node.debug/warn/error included), console
 * output, every node status, every message that reaches an output or a Catch node (msg.error
 * too), the answers of the dialog's endpoints, and what the editor is sent of the flow and of
 * the node's credentials.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { log as runtimeLog } from '@node-red/util';
import { editorRoutes } from '../support/editor-view';
import { errorOf } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

const PASSWORD = 'Pw-5e1c9a-Secret';
const TOKEN = 'Tk-7d3b2f-Secret';
/** Each secret as it could appear: as typed, URL-encoded, in Basic auth's base64. */
const FORMS = [PASSWORD, TOKEN].flatMap((s) => [s, encodeURIComponent(s), Buffer.from(`operator:${s}`).toString('base64')]);

type Msg = Record<string, unknown>;
type Mode = 'user' | 'token';

/** Everything observable while a test runs, searched for the secrets at the end. */
class Witness {
  readonly statuses = new StatusLog();
  private readonly records: unknown[] = [];
  private readonly handler = new EventEmitter();
  private readonly console: unknown[][] = [];
  private readonly restoreConsole: Array<() => void> = [];
  /** Answers of the dialog's endpoints and what the editor was sent. */
  readonly answers: unknown[] = [];

  constructor() {
    this.handler.on('log', (record: unknown) => this.records.push(record));
    runtimeLog.addHandler(this.handler);
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[level];
      console[level] = (...args: unknown[]) => {
        this.console.push(args);
        original.apply(console, args);
      };
      this.restoreConsole.push(() => (console[level] = original));
    }
  }

  /** Some runtime log record's text matches. */
  logged(pattern: RegExp): boolean {
    return this.records.some((r) => pattern.test(JSON.stringify(r)));
  }

  stop(): void {
    this.statuses.stop();
    runtimeLog.removeHandler(this.handler);
    for (const restore of this.restoreConsole.splice(0)) restore();
  }

  /** Where a secret showed, as "source: form"; empty when nowhere. */
  leaks(inboxes: Record<string, Inbox>): string[] {
    const sources: Record<string, unknown> = {
      'runtime log': this.records,
      console: this.console,
      'node status': this.statuses.events,
      'dialog or editor': this.answers,
      ...Object.fromEntries(Object.entries(inboxes).map(([name, inbox]) => [`messages at ${name}`, inbox.messages.map(visible)])),
    };
    const found: string[] = [];
    for (const [name, value] of Object.entries(sources)) {
      const text = JSON.stringify(value);
      for (const form of FORMS) if (text.includes(form)) found.push(`${name}: ${form}`);
    }
    return found;
  }
}

/** A message as a flow sees it, error included (its message is not enumerable on an Error). */
function visible(msg: Msg): unknown {
  const { error, ...rest } = msg;
  return { ...rest, error: error instanceof Error ? { ...error, message: error.message } : error };
}

describe('secrets', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let ctl: SimControl;
  let witness: Witness;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ password: PASSWORD, token: TOKEN }));
    await startRed();
    witness = new Witness();
  });

  afterEach(async function () {
    witness.stop();
    await stopRed();
    await sim.stop();
  });

  /**
   * The server node's id, new in each test: a redeployed era-server hands its live calls to
   * the next one with its id, which must not be another test's.
   */
  let srv = '';
  let deployed = 0;

  /** era-events and era-hangup on the server, a Catch and a Status node for everything they report. */
  async function deploy(mode: Mode, secret: string): Promise<{ out: Inbox; caught: Inbox; status: Inbox }> {
    srv = `secrets-srv-${++deployed}`;
    await load(
      [
        { id: 'tab', type: 'tab' },
        serverNode(sim, { id: srv, authMode: mode }),
        { id: 'ev', z: 'tab', type: 'era-events', server: srv, events: 'callevents.*', wires: [['out']] },
        { id: 'hangup', z: 'tab', type: 'era-hangup', server: srv, wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
        { id: 'watch', z: 'tab', type: 'status', scope: null, wires: [['status']] },
        { id: 'status', z: 'tab', type: 'helper' },
      ],
      { [srv]: mode === 'user' ? { login: 'operator', password: secret } : { token: secret } },
      [editorRoutes],
    );
    return { out: new Inbox('out'), caught: new Inbox('caught'), status: new Inbox('status') };
  }

  /** A hangup of a live call, ending in a Catch node: its error. */
  async function failedHangup(caught: Inbox): Promise<{ code?: string; message?: string }> {
    const call = await ctl.startCall();
    const before = caught.messages.length;
    helper.getNode('hangup').receive({ connectionId: call.connectionid, payload: 'hang up' });
    await caught.count(before + 1);
    return errorOf(caught.messages[before]!);
  }

  /** The dialog's buttons, with the stored secret (the dialog sends a placeholder, not the secret). */
  async function dialog(path: '/era-server/test' | '/era-server/check', mode: Mode): Promise<Msg> {
    const stored = mode === 'user' ? { login: 'operator', password: '__PWRD__' } : { token: '__PWRD__' };
    const res = await helper.request().post(path).send({ id: srv, url: sim.url, domain: 'demo.local', authMode: mode, verifyTls: true, ca: '', credentials: stored });
    witness.answers.push(res.body);
    return res.body as Msg;
  }

  /** What the editor is sent: the flow, and the server node's credentials as its dialog gets them. */
  async function editorView(mode: Mode): Promise<void> {
    const flows = await helper.request().get('/flows');
    const credentials = await helper.request().get(`/credentials/era-server/${srv}`);
    witness.answers.push(flows.body, credentials.body);
    assert.ok(Array.isArray(flows.body) && flows.body.some((n: Msg) => n.id === srv), 'the flow was read');
    const body = credentials.body as Msg;
    // Text credentials come as they are (the login, and the platform a secret was typed for), secret ones only as "has_<name>".
    assert.deepEqual(Object.keys(body).filter((k) => !k.startsWith('has_')), ['login', 'secretFor'], JSON.stringify(body));
    assert.equal(body[mode === 'user' ? 'has_password' : 'has_token'], true, 'the dialog learns that the secret is set');
  }

  function assertNoLeak(inboxes: Record<string, Inbox>): void {
    assert.deepEqual(witness.leaks(inboxes), [], 'a secret showed');
  }

  for (const mode of ['user', 'token'] as const) {
    const secret = mode === 'user' ? PASSWORD : TOKEN;
    const field = mode === 'user' ? 'password' : 'token';

    it(`${mode} mode: a refused ${field}, Test connection and Check installation with it`, async function () {
      // One character more than the right one: what a person typing it might leak.
      const { out, caught, status } = await deploy(mode, `${secret}x`);
      await eventually(() => witness.statuses.has('ev', 'red', 'dot'), 5000, 'auth failed');
      assert.equal((await failedHangup(caught)).code, 'ERA_AUTH_FAILED');
      assert.equal((await dialog('/era-server/test', mode)).ok, false);
      assert.match(JSON.stringify(await dialog('/era-server/check', mode)), /HTTP 401/);
      await editorView(mode);
      assertNoLeak({ out, caught, status });
    });

    it(`${mode} mode: platform errors that echo the request, in a body and in a socket's errormsg`, async function () {
      const echoed = mode === 'user' ? `{"login":"operator","pwd":"${secret}"}` : `Authorization: Bearer ${secret}`;
      const setupRefused = { setupError: { count: 1, errormsg: `setup refused for ${echoed}` } };
      // The socket's first setup is refused with the secret in the words; it connects on the retry.
      await ctl.faults(setupRefused);
      const { out, caught, status } = await deploy(mode, secret);
      await eventually(() => witness.statuses.has('ev', 'green', 'dot'), 15_000, 'connected after the refused setup');
      assert.ok(witness.statuses.of('ev').some((s) => /refused the connection set/.test(String(s.text))), 'the refused setup was shown');
      assert.ok(witness.logged(/setup refused for/), 'the platform\'s words were logged');
      // era-events follows the call table, which reads the call list once connected: that read
      // must be over before a fault meant for the hangup is set, or it takes the fault instead.
      await eventually(async () => (await ctl.requests()).some((r) => r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls' && r.status === 200), 10_000, 'the list read on connecting');

      await ctl.faults({ restStatus: { status: 400, count: 1, body: { error: { code: 'bad_request', message: `cannot parse ${echoed}` } } } });
      const json = await failedHangup(caught);
      assert.equal(json.code, 'ERA_HTTP');
      assert.match(String(json.message), /400.*cannot parse/, 'the excerpt of the body is there');
      await ctl.faults({ restStatus: { status: 500, count: 1, contentType: 'text/plain', body: `internal error while handling ${echoed}` } });
      const text = await failedHangup(caught);
      assert.equal(text.code, 'ERA_HTTP');
      assert.match(String(text.message), /500.*internal error/, 'the excerpt of the body is there');

      await ctl.faults({ restStatus: { status: 403, count: 1, body: `forbidden: ${echoed}` } });
      const tested = await dialog('/era-server/test', mode);
      assert.equal(tested.ok, false);
      assert.match(String(tested.message), /403.*forbidden/, 'the excerpt of the body is there');
      await ctl.faults(setupRefused);
      assert.match(JSON.stringify(await dialog('/era-server/check', mode)), /setup refused for/);
      await editorView(mode);
      assertNoLeak({ out, caught, status });
    });
  }

  it('user mode: a socket login refused with the password in its errormsg, then Check installation meeting the same', async function () {
    const refusal = { refuseWsLogin: { count: 2, errormsg: `wrong password "${PASSWORD}" for operator` } };
    // Refused by session id and by password alike: the words come back twice.
    await ctl.faults(refusal);
    const { out, caught, status } = await deploy('user', PASSWORD);
    await eventually(() => witness.statuses.has('ev', 'red', 'dot'), 5000, 'auth failed');
    const err = await failedHangup(caught);
    assert.equal(err.code, 'ERA_AUTH_FAILED');
    assert.match(String(err.message), /refused the WebSocket login .*: wrong password/, 'the platform\'s words are there');
    await ctl.faults(refusal);
    assert.match(JSON.stringify(await dialog('/era-server/check', 'user')), /socket-login.*refused: wrong password/);
    await editorView('user');
    assertNoLeak({ out, caught, status });
  });
});
