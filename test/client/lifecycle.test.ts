import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { FreezableProxy, ctl, faults, requests, sim, sleep, startCall, subscribed, userClient, waitFor, waitForState, type Simulator } from './helpers';

describe('client: close', function () {
  this.timeout(15_000);
  let s: Simulator;

  beforeEach(async () => {
    s = await sim();
  });
  afterEach(async () => {
    await s.stop();
  });

  it('deletes its subscriptions and its session, and closes the socket', async () => {
    const c = userClient(s.url);
    c.listen({ events: ['callevents.*'] }, () => undefined);
    c.listen({ events: ['callevents.*'], objects: ['101'] }, () => undefined);
    await waitForState(c, 'connected');
    await subscribed(s, 2);
    await c.close();
    const log = await requests(s);
    const deletes = log.filter((r) => r.method === 'subscribe' && (r.body as { expires: number }).expires === 0);
    assert.equal(deletes.length, 2);
    assert.ok(log.some((r) => r.method === 'DELETE' && r.path === '/rest/v1/iam/sessions/current'));
    await waitFor('no subscription left', async () => (await ctl<unknown[]>(s, 'GET', 'subscriptions')).length === 0);
    assert.equal(c.listenerCount('state'), 0);
  });

  it('finishes within 5 s when the server stops answering anything', async () => {
    const proxy = new FreezableProxy(s.port);
    const url = await proxy.start();
    try {
      const c = userClient(url, { requestTimeoutMs: 10_000 });
      c.listen({ events: ['callevents.*'] }, () => undefined);
      await waitForState(c, 'connected');
      await subscribed(s);
      proxy.frozen = true;
      const hanging = c.command({ op: 'list' }).catch((err: unknown) => err);
      await sleep(50);
      const started = Date.now();
      await c.close();
      const took = Date.now() - started;
      assert.ok(took < 5000, `close took ${took} ms`);
      const err = await hanging;
      assert.equal((err as { code?: string }).code, 'ERA_NOT_CONNECTED');
    } finally {
      await proxy.stop();
    }
  });

  it('finishes at once while an upgrade hangs, and while waiting to reconnect', async () => {
    await faults(s, { hangUpgrade: true });
    const a = userClient(s.url, { requestTimeoutMs: 10_000 });
    a.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(a, 'connecting');
    await sleep(100);
    let started = Date.now();
    await a.close();
    // Not waiting out the upgrade's 10 s timeout; within close()'s 5 s, with room for a loaded machine.
    assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`);

    await ctl(s, 'DELETE', 'faults');
    const b = userClient(s.url, { reconnectMinMs: 500, reconnectMaxMs: 1000 });
    b.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(b, 'connected');
    const states: string[] = [];
    b.on('state', (st) => states.push(st));
    await ctl(s, 'POST', 'drop');
    await waitFor('disconnected', () => states.includes('disconnected'));
    started = Date.now();
    await b.close();
    assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`);
    await ctl(s, 'DELETE', 'requests');
    await sleep(1200);
    assert.equal((await requests(s)).length, 0, 'nothing after close');
  });

  it('rejects what is asked after close', async () => {
    const c = userClient(s.url);
    await c.close();
    await c.close();
    assert.throws(() => c.listen({ events: ['callevents.*'] }, () => undefined), { code: 'ERA_NOT_CONNECTED' });
    await assert.rejects(c.rest('GET', '/rest/v1/uc/calls'), { code: 'ERA_NOT_CONNECTED' });
    await assert.rejects(c.fetchRecording('k'), { code: 'ERA_NOT_CONNECTED' });
    assert.equal((await c.testConnection()).ok, false);
  });

  it('leaves nothing behind: a process that used a client exits by itself', async () => {
    const script = path.join(__dirname, 'exit-check.ts');
    const root = path.join(__dirname, '..', '..');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['-r', 'tsx/cjs', script], { cwd: root, timeout: 12_000 }, (err, out, errOut) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: out, stderr: errOut });
      });
    });
    assert.equal(code, 0, `exit ${code}: ${stdout} ${stderr}`);
    assert.match(stdout, /^closed, events=([1-9]\d*)\n$/);
  });

  it('keeps delivering until close and nothing after', async () => {
    const c = userClient(s.url);
    let after = 0;
    let closed = false;
    c.listen({ events: ['callevents.*'] }, () => {
      if (closed) after++;
    });
    await waitForState(c, 'connected');
    await subscribed(s);
    await c.close();
    closed = true;
    await startCall(s);
    await sleep(100);
    assert.equal(after, 0);
  });
});
