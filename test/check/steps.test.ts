import assert from 'node:assert/strict';
import { exitCodeOf, formatText, type Report, type Step, type StepName } from '../../src/check/report';
import { runReport, type CheckOptions } from '../../src/check/run';
import { startSimulator, type Simulator } from '../../src/simulator';
import type { SimulatorOptions } from '../../src/simulator/types';
import { PASSWORD, TOKEN } from './helpers';

/** The report's steps, run in this process against the simulator's faults. */
describe('era-check: each step against the platform\'s answers', function () {
  this.timeout(30_000);
  let sim: Simulator | undefined;

  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
    sim = await startSimulator({ port: 0, password: PASSWORD, token: TOKEN, dlgStopDelayMs: 50, traffic: { intervalMs: 200 }, ...options });
    return sim;
  }

  function report(s: Simulator, extra: Partial<CheckOptions> = {}, client: Partial<CheckOptions['client']> = {}): Promise<Report> {
    return runReport({
      client: { url: s.url, domain: 'demo.local', login: 'operator', password: PASSWORD, requestTimeoutMs: 2000, ...client },
      listenSeconds: 1,
      ...extra,
    });
  }

  function step(r: Report, name: StepName): Step {
    const found = r.steps.find((s) => s.name === name);
    assert.ok(found, `no step ${name}: ${formatText(r)}`);
    return found;
  }

  function wsMethods(s: Simulator, method: string): number {
    return s.requests().filter((r) => r.kind === 'ws' && r.method === method).length;
  }

  it('a request timeout of 30 days: every step still waits for its answer (no timer overflows into 1 ms)', async () => {
    const overflows: Error[] = [];
    const onWarning = (w: Error) => w.name === 'TimeoutOverflowWarning' && overflows.push(w);
    process.on('warning', onWarning);
    try {
      const r = await report(await simulator(), {}, { requestTimeoutMs: 30 * 24 * 3600 * 1000 });
      assert.equal(r.outcome, 'pass', formatText(r));
      assert.deepEqual(overflows, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a refused callrecord passes (recordings fall back to REST) and says so in the platform\'s words', async () => {
    const s = await simulator();
    s.setFaults({ refuseCapabilities: { callrecord: 'Access denied by IAM (route not found)' } });
    const r = await report(s);
    assert.equal(step(r, 'setup').status, 'pass', formatText(r));
    assert.equal(step(r, 'setup').summary, 'subscr ok, ccs ok, callrecord refused: Access denied by IAM (route not found)');
    assert.ok(step(r, 'setup').details.includes('callrecord refused: recording links are fetched over REST instead'));
    assert.equal(exitCodeOf(r.outcome), 0);
  });

  it('a refused subscr fails setup, sends no subscribe, and skips the listen', async () => {
    const s = await simulator();
    s.setFaults({ refuseCapabilities: { subscr: 'no rights for events' } });
    const r = await report(s);
    assert.equal(step(r, 'setup').status, 'fail');
    assert.match(step(r, 'setup').summary, /subscr refused: no rights for events/);
    assert.equal(step(r, 'subscribe').status, 'skipped');
    assert.equal(step(r, 'listen').status, 'skipped');
    assert.equal(step(r, 'connection-info').status, 'pass', 'the connection itself works');
    assert.equal(wsMethods(s, 'subscribe'), 0);
    assert.equal(exitCodeOf(r.outcome), 1);
  });

  it('setup refused as a whole fails with the platform\'s words; the REST call list still runs', async () => {
    const s = await simulator();
    s.setFaults({ setupError: { count: 5, errormsg: 'setup is not allowed for this account' } });
    const r = await report(s);
    assert.equal(step(r, 'setup').status, 'fail');
    assert.equal(step(r, 'setup').summary, 'setup refused as a whole: setup is not allowed for this account');
    for (const name of ['socket-login', 'connection-info', 'subscribe', 'listen'] as const) assert.equal(step(r, name).status, 'skipped');
    assert.equal(step(r, 'call-list').status, 'pass');
    assert.equal(wsMethods(s, 'setup'), 1, 'one try, no reconnect loop');
  });

  it('no answer to setup fails the step, naming the wait', async () => {
    const s = await simulator();
    s.setFaults({ setupHang: true });
    const r = await report(s);
    assert.equal(step(r, 'setup').status, 'fail');
    assert.match(step(r, 'setup').summary, /no answer to the connection setup/);
  });

  it('a build that does not know setup differs (exit 3), and the rest works without it', async () => {
    const s = await simulator({ knowsSetup: false });
    const r = await report(s);
    assert.equal(step(r, 'setup').status, 'differs', formatText(r));
    assert.equal(step(r, 'setup').summary, 'this build does not know setup');
    assert.match(step(r, 'setup').details.join('\n'), /does not know setup \("unknown method setup"\)/);
    assert.equal(step(r, 'listen').status, 'pass');
    assert.equal(exitCodeOf(r.outcome), 3);
  });

  it('a refused session id with a working password differs; refused both fails once, without a loop', async () => {
    const s = await simulator();
    s.setFaults({ refuseRsessionid: { count: 1 } });
    const fallback = await report(s);
    assert.equal(step(fallback, 'socket-login').status, 'differs', formatText(fallback));
    assert.match(step(fallback, 'socket-login').summary, /^password accepted; subscr ok, ccs ok, callrecord ok$/);
    assert.ok(step(fallback, 'socket-login').details.includes('differs: the session id form (rsessionid) was refused; the password form worked'));

    s.clearFaults();
    s.clearRequests();
    s.setFaults({ refuseWsLogin: { count: 10, errormsg: 'Access denied by IAM' } });
    const refused = await report(s);
    assert.equal(step(refused, 'socket-login').status, 'fail');
    assert.equal(step(refused, 'socket-login').summary, 'refused: Access denied by IAM');
    assert.equal(wsMethods(s, 'login'), 2, 'session id once, password once');
    assert.equal(step(refused, 'call-list').status, 'skipped');
  });

  it('an older build that wants domain instead of td still logs in (the client sends both)', async () => {
    const s = await simulator({ loginDomainField: 'domain' });
    s.setFaults({ refuseRsessionid: { count: 1 } });
    const r = await report(s);
    assert.match(step(r, 'socket-login').summary, /^password accepted/);
  });

  it('describes the flat and the method envelopes by where things sit', async () => {
    const flat = await report(await simulator({ envelope: 'flat' }));
    assert.match(step(flat, 'listen').details.join('\n'), /method "event"; class in params\.eventclass, type in params\.eventtype; fields in params; subscription id in params\.id; qid present/);
    assert.equal(step(flat, 'listen').status, 'pass');
    await sim?.stop();
    const method = await report(await simulator({ envelope: 'method' }));
    assert.match(step(method, 'listen').details.join('\n'), /method "<class>\.<type>" \(class and type in the method name\); fields in params; subscription id in params\.id; qid present/);
  });

  it('pushes the client cannot decode fail the listen step, described by their envelope', async () => {
    const s = await simulator({ traffic: false });
    const running = report(s, { listenSeconds: 2 });
    while (s.subscriptions().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    s.sendToSockets({ frame: ['notify', { qid: 1, what: 'something' }] });
    s.sendToSockets({ raw: 'not json at all' });
    const r = await running;
    const listen = step(r, 'listen');
    assert.equal(listen.status, 'fail', formatText(r));
    assert.match(listen.summary, /^2 pushes in 2 s, none the client could decode/);
    assert.match(listen.details.join('\n'), /1 × method "notify"; no class and type found \(the client cannot decode it\)/);
    assert.match(listen.details.join('\n'), /1 × not a \["method", \{params\}\] JSON array/);
  });

  it('token mode: the token probe, the token endpoint, no socket login', async () => {
    const s = await simulator();
    const r = await report(s, {}, { authMode: 'token', token: TOKEN, login: undefined, password: undefined, domain: undefined });
    assert.equal(step(r, 'login').summary, 'GET /rest/v1/uc/calls with the token: HTTP 200');
    assert.equal(step(r, 'upgrade').summary, '/ws/token/v1: HTTP 101');
    assert.equal(step(r, 'socket-login').status, 'skipped');
    assert.match(step(r, 'connection-info').summary, /^ownertype token; capabilities subscr, ccs, callrecord$/);
    assert.equal(r.outcome, 'pass', formatText(r));
    const wrong = await report(s, {}, { authMode: 'token', token: 'not-the-token', login: undefined, password: undefined, domain: undefined });
    assert.equal(step(wrong, 'login').status, 'fail');
    assert.match(step(wrong, 'login').summary, /HTTP 401/);
  });

  it('a refused subscription fails with the platform\'s words and skips the listen', async () => {
    const s = await simulator();
    s.setFaults({ subscribeError: { count: 5, message: 'no rights for callevents' } });
    const r = await report(s);
    assert.equal(step(r, 'subscribe').status, 'fail');
    assert.equal(step(r, 'subscribe').summary, 'refused: no rights for callevents');
    assert.equal(step(r, 'listen').status, 'skipped');
  });

  it('an error reply without errormsg is a difference (the lenient simulator\'s error object)', async () => {
    const s = await simulator({ strict: false });
    s.setFaults({ subscribeError: { count: 5, message: 'no rights for callevents' } });
    const r = await report(s);
    assert.equal(step(r, 'subscribe').status, 'fail');
    assert.ok(step(r, 'subscribe').details.some((d) => d.startsWith('differs: subscribe_result: an error reply without errormsg')), formatText(r));
  });

  it('the report changes nothing: only reads, its own login and logout', async () => {
    const s = await simulator();
    await report(s);
    const rest = s.requests().filter((r) => r.kind === 'rest').map((r) => `${r.method} ${r.path}`);
    const changing = rest.filter((line) => !/^GET /.test(line) && line !== 'POST /rest/v1/iam/sessions' && line !== 'DELETE /rest/v1/iam/sessions/current');
    assert.deepEqual(changing, []);
    assert.ok(rest.includes('DELETE /rest/v1/iam/sessions/current'), 'logged out');
    assert.deepEqual(s.subscriptions(), [], 'its subscription deleted');
  });
});
