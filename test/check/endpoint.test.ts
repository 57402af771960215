import assert from 'node:assert/strict';
import type { Report } from '../../src/check/report';
import { DIALOG_LISTEN_SECONDS } from '../../src/nodes/lib/check-endpoint';
import type { RedApi } from '../../src/nodes/lib/red';
import { startSimulator, type Simulator } from '../../src/simulator';
import { helper, serverNode, startRed, stopRed } from '../support/red';
import { PASSWORD } from './helpers';

type Middleware = (req: unknown, res: unknown, next: () => void) => void;

/** Node-RED's own admin authentication: the test helper's stand-in lets every request through. */
const adminAuth = require('@node-red/editor-api/lib/auth') as {
  init(settings: Record<string, unknown>, storage: Record<string, unknown>): void;
  needsPermission(permission: string): Middleware;
};
const eraServer = require('../../src/nodes/era-server') as (RED: RedApi) => void;

/** Admin API tokens: one with every permission, one that may only read. */
const WRITER = 'Bearer writer-token';
const READER = 'Bearer reader-token';

/** supertest's request, as far as these tests use it (the helper's types leave out `set`). */
interface AdminRequest {
  set(header: string, value: string): AdminRequest;
  send(body: unknown): Promise<{ status: number; body: unknown }>;
}

/** `POST /era-server/check` with the dialog's body, as the admin API token `authorization` (none: anonymous). */
function check(body: Record<string, unknown>, authorization?: string): Promise<{ status: number; body: unknown }> {
  const request = helper.request().post('/era-server/check') as unknown as AdminRequest;
  return (authorization === undefined ? request : request.set('Authorization', authorization)).send(body);
}

/** era-server as Node-RED loads it, its admin endpoints behind Node-RED's real permission check. */
function eraServerWithAdminAuth(RED: RedApi): void {
  eraServer({ ...RED, auth: adminAuth } as RedApi);
}

describe('era-server: the "Check installation" endpoint', function () {
  this.timeout(60_000);
  let sim: Simulator;

  beforeEach(async () => {
    sim = await startSimulator({ port: 0, password: PASSWORD, traffic: { intervalMs: 200 }, dlgStopDelayMs: 50 });
    await startRed();
    // After startRed: starting the runtime initialises the same module with settings of its own.
    adminAuth.init(
      {
        adminAuth: {
          type: 'credentials',
          users: [],
          default: { permissions: 'read' },
          tokens: (token: string) => {
            const bearer = `Bearer ${token}`;
            return Promise.resolve(bearer === WRITER ? { username: 'admin', permissions: '*' } : bearer === READER ? { username: 'viewer', permissions: 'read' } : null);
          },
        },
      },
      { getSessions: () => Promise.resolve({}), saveSessions: () => Promise.resolve() },
    );
    await helper.load([eraServerWithAdminAuth], [serverNode(sim)], { srv: { login: 'operator', password: PASSWORD } });
  });

  afterEach(async () => {
    await stopRed();
    await sim.stop();
  });

  /** What the dialog sends: its values, the password left blank because Node-RED keeps it. */
  const dialog = (extra: Record<string, unknown> = {}) => ({
    id: 'srv', url: sim.url, domain: 'demo.local', authMode: 'user', verifyTls: true, ca: '', tls: '', credentials: { login: 'operator' }, ...extra,
  });

  it('returns the report for the deployed node\'s stored credentials, as JSON and as text', async () => {
    const res = await check(dialog(), WRITER);
    assert.equal(res.status, 200);
    const { report, text } = res.body as { report: Report; text: string };
    assert.equal(report.outcome, 'pass', text);
    assert.equal(report.listenSeconds, DIALOG_LISTEN_SECONDS);
    assert.equal(report.steps.find((s) => s.name === 'listen')?.status, 'pass');
    assert.match(text, /^Era compatibility report/);
    assert.match(text, /^PASS\s+socket-login\s+session id \(rsessionid\) accepted/m);
    assert.ok(!JSON.stringify(res.body).includes(PASSWORD), 'no password in the answer');
    assert.ok(sim.requests().some((r) => r.path === '/rest/v1/iam/sessions'), 'the report logged in');
  });

  it('needs the era-server.write permission: without it nothing runs', async () => {
    const anonymous = await check(dialog());
    assert.equal(anonymous.status, 401);
    const reader = await check(dialog(), READER);
    assert.equal(reader.status, 401);
    assert.ok(!sim.requests().some((r) => r.path === '/rest/v1/iam/sessions'), 'no login was sent');
  });

  it('settings that cannot be used give a report with a failing config step, not an error', async () => {
    const noScheme = await check(dialog({ url: 'era.example.ru' }), WRITER);
    assert.equal(noScheme.status, 200);
    const config = (noScheme.body as { report: Report }).report.steps[0]!;
    assert.deepEqual([config.name, config.status], ['config', 'fail']);
    assert.match(config.summary, /must start with https:\/\/ or http:\/\//);
    const missingTls = await check(dialog({ tls: 'no-such-node' }), WRITER);
    const { report, text } = missingTls.body as { report: Report; text: string };
    assert.equal(report.outcome, 'fail');
    assert.match(report.steps[0]!.summary, /TLS configuration/);
    assert.ok(report.steps.slice(1).every((s) => s.status === 'skipped'), text);
  });
});
