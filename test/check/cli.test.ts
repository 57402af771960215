import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Report } from '../../src/check/report';
import { startSimulator, type Simulator } from '../../src/simulator';
import { assertBuilt, assertClean, assertFailsAt, BIN, PASSWORD, PASSWORD_ENV, runCheck, stepLine, TLS_DIR, TOKEN, userArgs, type Run } from './helpers';
import { REFUSED_PORT } from '../support/ports';

const TRAFFIC = { intervalMs: 200 };

describe('era-check (the command)', function () {
  this.timeout(60_000);
  let sim: Simulator | undefined;

  before(assertBuilt);
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  async function simulator(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
    sim = await startSimulator({ port: 0, password: PASSWORD, token: TOKEN, dlgStopDelayMs: 50, ...options });
    return sim;
  }

  it('passes every step against the strict simulator with traffic (exit 0), and shows no secret, number or id', async () => {
    const s = await simulator({ traffic: TRAFFIC });
    const run = await runCheck(userArgs(s.url, '--listen', '2'), PASSWORD_ENV);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(stepLine(run.stdout, 'tls').status, 'SKIPPED');
    for (const name of ['config', 'login', 'upgrade', 'setup', 'socket-login', 'connection-info', 'subscribe', 'listen', 'call-order', 'call-list'] as const) {
      assert.equal(stepLine(run.stdout, name).status, 'PASS', `${name}\n${run.stdout}`);
    }
    assert.match(stepLine(run.stdout, 'login').summary, /HTTP 200, session_token in the body/);
    assert.match(stepLine(run.stdout, 'setup').summary, /subscr ok, ccs ok, callrecord ok/);
    assert.match(stepLine(run.stdout, 'socket-login').summary, /session id \(rsessionid\) accepted/);
    assert.match(stepLine(run.stdout, 'subscribe').summary, /granted 300 s/);
    assert.match(run.stdout, /callevents\.invite ×\d+: .*isreferred string, isreplacing string/);
    assert.match(run.stdout, /envelope: \d+ × method "event"; class in params\.class, type in params\.type; fields in params\.data; subscription id in params\.id; qid present/);
    assert.match(run.stdout, /the client acknowledged all of them/);
    assert.match(run.stdout, /Read-only: no call placed/);
    assertClean(run);
    // Read-only: no call was placed or changed.
    assert.ok(!s.requests().some((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/calls') && r.method !== 'GET'), 'only GETs of the call API');
  });

  it('--json gives the same report in a stable machine-readable shape', async () => {
    const s = await simulator({ traffic: TRAFFIC });
    const run = await runCheck(userArgs(s.url, '--listen', '1', '--json'), PASSWORD_ENV);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(typeof report.version, 'string');
    assert.deepEqual({ scheme: report.target.scheme, authMode: report.target.authMode }, { scheme: 'http', authMode: 'user' });
    assert.deepEqual(report.steps.map((s) => s.name), ['config', 'tls', 'login', 'upgrade', 'setup', 'socket-login', 'connection-info', 'subscribe', 'listen', 'call-order', 'call-list']);
    for (const step of report.steps) {
      assert.deepEqual(Object.keys(step).sort(), ['details', 'name', 'status', 'summary']);
      assert.ok(Array.isArray(step.details));
    }
    assert.equal(report.outcome, 'pass');
    assertClean(run);
  });

  it('against a lenient simulator exits 3 and names the differences from the documentation', async () => {
    const s = await simulator({ traffic: TRAFFIC, strict: false });
    const run = await runCheck(userArgs(s.url, '--listen', '2'), PASSWORD_ENV);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    const listen = stepLine(run.stdout, 'listen');
    assert.equal(listen.status, 'DIFFERS');
    assert.match(run.stdout, /differs: callevents\.invite: isreplaced instead of isreplacing/);
    assert.match(run.stdout, /differs: callevents\.invite: isreferred is boolean \(documented: string\)/);
    assert.match(run.stdout, /differs: callevents\.invite: no fromdomain, urifrom, urito, urireferedby \(documented\)/);
    assert.ok(!/^FAIL/m.test(run.stdout), run.stdout);
    assertClean(run);
  });

  it('a URL without a scheme, or garbage, is a failing config step (exit 1)', async () => {
    const noScheme = await runCheck(userArgs('127.0.0.1:8088', '--listen', '1'), PASSWORD_ENV);
    assertFailsAt(noScheme, 'config', /must start with https:\/\/ or http:\/\//);
    assert.equal(stepLine(noScheme.stdout, 'login').status, 'SKIPPED');
    const garbage = await runCheck(userArgs('http://exa mple/::', '--listen', '1'), PASSWORD_ENV);
    assertFailsAt(garbage, 'config', /has spaces in it|not a valid address|must be just/);
  });

  it('a port nothing listens on fails the login step with "connection refused" (exit 1)', async () => {
    const port = REFUSED_PORT;
    const run = await runCheck(userArgs(`http://127.0.0.1:${port}`, '--listen', '1'), PASSWORD_ENV);
    assertFailsAt(run, 'login', /Cannot reach 127\.0\.0\.1:\d+: connection refused/);
    for (const name of ['upgrade', 'setup', 'listen', 'call-list'] as const) assert.equal(stepLine(run.stdout, name).status, 'SKIPPED');
  });

  it('a certificate from an unknown CA fails the TLS step and says why; --ca trusts it, --insecure accepts it', async () => {
    const s = await simulator({
      traffic: TRAFFIC,
      tls: { key: fs.readFileSync(path.join(TLS_DIR, 'server-key.pem')), cert: fs.readFileSync(path.join(TLS_DIR, 'server-cert.pem')) },
    });
    const untrusted = await runCheck(userArgs(s.url, '--listen', '1'), PASSWORD_ENV);
    assertFailsAt(untrusted, 'tls', /certificate not trusted: unknown CA/);
    assert.match(untrusted.stdout, /--ca FILE/);
    assert.equal(stepLine(untrusted.stdout, 'login').status, 'SKIPPED');
    assert.ok(!s.requests().some((r) => r.path === '/rest/v1/iam/sessions'), 'no login was sent to an untrusted server');

    const trusted = await runCheck(userArgs(s.url, '--listen', '1', '--ca', path.join(TLS_DIR, 'ca.pem')), PASSWORD_ENV);
    assert.equal(trusted.code, 0, trusted.stdout);
    assert.match(stepLine(trusted.stdout, 'tls').summary, /^certificate verified \(TLSv1\.[23], issued by era-cti test CA\)/);
    assert.match(trusted.stdout, /valid from 2020-01-01 to 2059-12-31/);
    assert.equal(stepLine(trusted.stdout, 'upgrade').summary, '/ws: HTTP 101');

    const insecure = await runCheck(userArgs(s.url, '--listen', '1', '--insecure'), PASSWORD_ENV);
    assert.equal(insecure.code, 0, insecure.stdout);
    assert.match(stepLine(insecure.stdout, 'tls').summary, /^certificate NOT verified \(unknown CA/);
    assertClean(insecure);
  });

  it('an HTTP server that is not Era fails the login with its status and words (exit 1)', async () => {
    const notEra = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>');
    });
    await new Promise<void>((resolve) => notEra.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runCheck(userArgs(`http://127.0.0.1:${(notEra.address() as AddressInfo).port}`, '--listen', '1'), PASSWORD_ENV);
      assertFailsAt(run, 'login', /HTTP 404: 404 Not Found Not Found The requested URL was not found/);
      assert.match(run.stdout, /is it the Era web server/);
    } finally {
      notEra.closeAllConnections();
      await new Promise((resolve) => notEra.close(resolve));
    }
  });

  it('wrong credentials fail the login once, with the platform\'s words, and nothing is tried again', async () => {
    const s = await simulator({ traffic: TRAFFIC });
    const run = await runCheck(userArgs(s.url, '--listen', '1'), { ERA_PASSWORD: 'Wr0ng-Passw0rd' });
    assertFailsAt(run, 'login', /POST \/rest\/v1\/iam\/sessions: HTTP 401: wrong domain, login or password/);
    assertClean(run, [PASSWORD, 'Wr0ng-Passw0rd']);
    const logins = s.requests().filter((r) => r.path === '/rest/v1/iam/sessions');
    assert.equal(logins.length, 1, 'one login, no retry');
    assert.ok(!s.requests().some((r) => r.kind === 'ws'), 'no socket opened after a refused login');
  });

  it('a platform that pushes nothing in the window fails the listen step (exit 1)', async () => {
    const s = await simulator();
    const run = await runCheck(userArgs(s.url, '--listen', '1'), PASSWORD_ENV);
    assertFailsAt(run, 'listen', /^no event in 1 s: make a call during the check, or check the account's rights/);
    assert.deepEqual(stepLine(run.stdout, 'call-order'), { status: 'SKIPPED', summary: 'no call event in the window' });
    assert.equal(stepLine(run.stdout, 'subscribe').status, 'PASS');
    assert.equal(stepLine(run.stdout, 'call-list').status, 'PASS');
  });

  it('never shows the password or token, even when the platform echoes them', async () => {
    const s = await simulator({ traffic: TRAFFIC });
    s.setFaults({ restStatus: { status: 403, count: 1, body: { result: 'error', errormsg: `Access denied: password ${PASSWORD} is not allowed here` } } });
    const user = await runCheck(userArgs(s.url, '--listen', '1'), PASSWORD_ENV);
    assert.equal(user.code, 1, user.stdout);
    assert.match(stepLine(user.stdout, 'login').summary, /HTTP 200/);
    assert.match(user.stdout, /the session does not work: .*HTTP 403: Access denied: password \*\*\* is not allowed here/);
    assertClean(user);

    s.clearFaults();
    s.setFaults({ refuseCapabilities: { subscr: `token ${TOKEN} may not subscribe` } });
    const token = await runCheck(['--url', s.url, '--token-env', 'ERA_TOKEN', '--listen', '1', '--json'], { ERA_TOKEN: TOKEN });
    assert.equal(token.code, 1, token.stdout);
    const report = JSON.parse(token.stdout) as Report;
    const setup = report.steps.find((step) => step.name === 'setup')!;
    assert.equal(setup.status, 'fail');
    assert.match(setup.summary, /subscr refused: token \*\*\* may not subscribe/);
    assert.equal(report.steps.find((step) => step.name === 'subscribe')!.status, 'skipped');
    assertClean(token);
  });

  it('places a test call only when asked, and hangs it up; its numbers never appear', async () => {
    const s = await simulator();
    const run = await runCheck(userArgs(s.url, '--listen', '2', '--test-call', '+79991234567', '--from', '101'), PASSWORD_ENV);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(stepLine(run.stdout, 'test-call').summary, /^POST \/rest\/v1\/uc\/calls: HTTP 200, id in "id"; DELETE \/rest\/v1\/uc\/calls\/<id>: HTTP 200$/);
    // The call rang while the report listened, so the window saw its events, and their order.
    assert.equal(stepLine(run.stdout, 'listen').status, 'PASS');
    assert.deepEqual(stepLine(run.stdout, 'call-order'), { status: 'PASS', summary: '1 call in 1 order' });
    assert.match(run.stdout, /^ {9}1× invite, dlg_init, dlg_call, dlg_end\(bye\), dlg_stop\(bye\)$/m);
    assert.ok(!run.stdout.includes('79991234567'));
    assertClean(run);
    const placed = s.listCalls();
    assert.equal(placed.length, 1);
    assert.equal(placed[0]!.state, 'ended', 'hung up');
  });

  it('refuses a secret on the command line, and a missing one, as usage errors (exit 2) without echoing it', async () => {
    const onLine = await runCheck(['--url', 'http://127.0.0.1:1', '--domain', 'd', '--login', 'operator', `--password=${PASSWORD}`]);
    assert.equal(onLine.code, 2);
    assert.match(onLine.stderr, /--password is not accepted: a secret on the command line is seen by every user of this machine/);
    assertClean(onLine);
    const token = await runCheck(['--url', 'http://127.0.0.1:1', '--token', TOKEN]);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /--token is not accepted.*--token-env VAR/);
    assertClean(token);
    const missing = await runCheck(['--url', 'http://127.0.0.1:1', '--domain', 'd', '--login', 'operator']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no password: name the environment variable that holds it with --password-env VAR/);
    const empty = await runCheck(userArgs('http://127.0.0.1:1'), {});
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /the environment variable ERA_PASSWORD is not set or empty/);
    const unknown = await runCheck(['--url', 'http://127.0.0.1:1', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown argument --bogus/);
    for (const run of [missing, empty, unknown]) assert.equal(run.stdout, '');
  });

  it('asks for the password at a terminal without echoing it', async () => {
    const s = await simulator({ traffic: TRAFFIC });
    const run = await atTerminal([BIN, '--url', s.url, '--domain', 'demo.local', '--login', 'operator', '--listen', '1'], 'Password for operator: ', `${PASSWORD}\r`);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^Password for operator: \r?\n/);
    assert.match(run.stdout, /^PASS\s+socket-login/m);
    assertClean(run);
  });

  it('--help describes the command and exits 0', async () => {
    const run = await runCheck(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: era-check --url URL --domain DOMAIN \(--login LOGIN \[--password-env VAR\] \| --token-env VAR\)/);
    assert.match(run.stdout, /Exit code: 0 every step passed, 3 nothing failed but something differs/);
  });
});

/**
 * Runs node with `args` in a real pseudo-terminal (util-linux `script`), types `input` once
 * `prompt` appears, and collects what the terminal showed.
 */
function atTerminal(args: readonly string[], prompt: string, input: string): Promise<Run> {
  const command = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!typed && stdout.includes(prompt)) {
        typed = true;
        child.stdin.write(input);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
    });
  });
}
