import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EraClient } from '../../src/era';
import { EraError } from '../../src/era/errors';
import { Collector, TEST_CA, sim, startCall, userClient, waitForState, type Simulator } from './helpers';

const dir = path.join(__dirname, '..', 'fixtures', 'tls');
const ca = TEST_CA;
const tls = {
  key: fs.readFileSync(path.join(dir, 'server-key.pem')),
  cert: fs.readFileSync(path.join(dir, 'server-cert.pem')),
};

describe('client: TLS', () => {
  let s: Simulator;
  let url: string;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  before(async () => {
    s = await sim({ tls });
    url = s.url;
    assert.ok(url.startsWith('https://'), url);
  });
  after(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });

  it('trusts a private CA given as PEM, for REST and for wss', async () => {
    const c = track(userClient(url, { ca }));
    assert.equal((await c.command({ op: 'list' })).statusCode, 200);
    const got = new Collector();
    c.listen({ events: ['callevents.invite'] }, got.push);
    await waitForState(c, 'connected');
    await new Promise((r) => setTimeout(r, 100));
    const call = await startCall(s);
    await got.waitFor('the invite over wss', (e) => e.connectionId === call.id);
  });

  it('refuses the server without the CA, naming a certificate problem', async () => {
    const c = track(userClient(url));
    await assert.rejects(c.command({ op: 'list' }), (err: unknown) => {
      assert.ok(err instanceof EraError);
      assert.equal(err.code, 'ERA_NOT_CONNECTED');
      assert.match(err.message, /TLS certificate problem/);
      return true;
    });
    const ws = track(new EraClient({ url, authMode: 'token', token: 'demo-token', reconnectMinMs: 20, reconnectMaxMs: 100 }));
    ws.listen({ events: ['callevents.*'] }, () => undefined);
    const detail = await waitForState(ws, 'disconnected');
    assert.match(detail ?? '', /TLS certificate problem/);
  });

  it('skips verification only for the client that asked, never process-wide', async () => {
    const lax = track(userClient(url, { verifyTls: false }));
    assert.equal((await lax.command({ op: 'list' })).statusCode, 200);
    const strict = track(userClient(url));
    await assert.rejects(strict.command({ op: 'list' }), /TLS certificate problem/);
    assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined);
  });
});
