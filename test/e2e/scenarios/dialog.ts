/**
 * What the era-server dialog's buttons call on the admin API, and the `era-check` command of
 * the installed package.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Case } from '../support/case';
import { ID } from '../support/flow';
import { assertNoSecret } from './secrets';
import { adopt } from '../support/work';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The dialog's values as the editor posts them: the stored password left as Node-RED shows it (`__PWRD__`). */
function dialogBody(c: Case): Record<string, unknown> {
  const p = c.platform;
  return { id: ID.server, url: p.url, domain: p.domain, authMode: 'user', verifyTls: true, ca: '', tls: '', credentials: { login: p.login, password: '__PWRD__' } };
}

/** Makes a call every 2.5 s while a report listens for events (a listen that heard none fails). */
async function callsDuring(c: Case, seconds: number): Promise<void> {
  for (let at = 2.5; at < seconds; at += 2.5) {
    await sleep(2500);
    const call = await c.ctl.startCall({ from: '+79160000001', to: '104', answer: true });
    await c.ctl.hangup(call.id);
  }
}

export interface ButtonsSetup {
  /** adminAuth is on; this user may only read. */
  reader?: { username: string; password: string };
  /** Also Check installation (its report listens for 10 s). */
  check?: boolean;
}

export function dialogButtons(c: Case, setup: ButtonsSetup = {}): void {
  describe("the era-server dialog's buttons (admin API)", function () {
    if (setup.reader) buttonsNeedPermission(c, setup.reader);
    testConnection(c);
    if (setup.check) checkInstallation(c);
  });
}

function testConnection(c: Case): void {
  it('Test connection (POST /era-server/test) logs in with the deployed password the dialog left blank', async function () {
    await c.ctl.clearRequests();
    const res = await c.red.admin('/era-server/test', { method: 'POST', json: dialogBody(c) });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { ok: boolean; message: string };
    assert.equal(answer.ok, true, answer.message);
    const logins = (await c.ctl.requests()).filter((r) => r.kind === 'rest' && r.method === 'POST' && r.path === '/rest/v1/iam/sessions');
    assert.ok(logins.some((r) => r.status === 200), 'the simulator saw a login');
    assertNoSecret(c, answer.message, 'the answer');
  });
}

function checkInstallation(c: Case): void {
  it('Check installation (POST /era-server/check): the report passes and shows no secret', async function () {
    this.timeout(60_000);
    const pending = c.red.admin('/era-server/check', { method: 'POST', json: dialogBody(c), signal: AbortSignal.timeout(50_000) });
    await callsDuring(c, 10);
    const res = await pending;
    assert.equal(res.status, 200);
    const text = await res.text();
    const answer = JSON.parse(text) as { report: { outcome: string }; text: string };
    assert.equal(answer.report.outcome, 'pass', answer.text);
    assertNoSecret(c, text, 'the report');
  });
}

/** With adminAuth: the buttons' endpoints need a token with era-server.write; nothing reaches the platform otherwise. */
function buttonsNeedPermission(c: Case, reader: { username: string; password: string }): void {
  it('refuses Test connection and Check installation without a token and to a read-only user (401); nothing reaches the platform', async function () {
    const readOnly = { Authorization: `Bearer ${await c.red.requestToken(reader.username, reader.password)}` };
    assert.equal((await c.red.admin('/flows', { headers: readOnly })).status, 200, 'the read-only token reads the flows');
    await c.ctl.clearRequests();
    for (const path of ['/era-server/test', '/era-server/check']) {
      const anonymous = await fetch(`${c.red.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(dialogBody(c)) });
      assert.equal(anonymous.status, 401, `${path} without a token`);
      // Node-RED answers a missing permission with 401 as well.
      const read = await c.red.admin(path, { method: 'POST', json: dialogBody(c), headers: readOnly });
      assert.equal(read.status, 401, `${path} for a read-only user`);
    }
    assert.deepEqual((await c.ctl.requests()).filter((r) => r.kind === 'rest'), [], 'nothing reached the platform');
  });
}

export function eraCheckCommand(c: Case): void {
  describe('the era-check command', function () {
    it('npx era-check of the installed package passes against the simulator (exit 0) and prints no secret', async function () {
      this.timeout(60_000);
      const p = c.platform;
      // `--`: npx would take --url and the like as npm's own settings.
      const args = ['--no', '--', 'era-check', '--url', p.url, '--domain', p.domain, '--login', p.login, '--password-env', 'ERA_E2E_PASSWORD', '--listen', '6'];
      const child = spawn('npx', args, { cwd: c.red.userDir, env: { ...process.env, ERA_E2E_PASSWORD: p.password }, stdio: ['ignore', 'pipe', 'pipe'] });
      adopt(child);
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await callsDuring(c, 6);
      assert.equal(await exited, 0, output);
      assert.match(output, /login/i, 'the report');
      assertNoSecret(c, output, "era-check's output");
    });
  });
}
