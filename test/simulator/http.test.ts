import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import type { Simulator } from '../../src/simulator';
import { delay, LOGIN, login, useSimulators } from './helpers';

/** Write `chunks` on one raw connection (with a pause between them) and read until `until` holds. */
async function rawExchange(sim: Simulator, chunks: string[], until: (text: string) => boolean, pauseMs = 5): Promise<string> {
  const socket: Socket = connect(sim.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  for (const chunk of chunks) {
    socket.write(chunk);
    await delay(pauseMs);
  }
  const deadline = Date.now() + 2000;
  while (!until(received) && Date.now() < deadline) await delay(5);
  socket.destroy();
  return received;
}

const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe('simulator: HTTP/1.1 reader', () => {
  const start = useSimulators();

  it('reads a request split over many TCP chunks', async () => {
    const sim = await start();
    const body = JSON.stringify(LOGIN);
    const whole = `POST /rest/v1/iam/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const chunks = whole.match(/[\s\S]{1,7}/g) ?? [];
    const text = await rawExchange(sim, chunks, (t) => t.includes('session_token'), 1);
    assert.deepEqual(statuses(text), [200]);
  });

  it('answers several pipelined requests in one chunk, in order', async () => {
    const sim = await start();
    const token = await login(sim);
    const auth = `Authorization: Bearer ${token}\r\n`;
    const created = JSON.stringify({ from: '101', to: '+79161234567' });
    const chunk =
      `GET /rest/v1/uc/calls HTTP/1.1\r\nHost: x\r\n${auth}\r\n` +
      `POST /rest/v1/uc/calls HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${created.length}\r\n\r\n${created}` +
      `GET /rest/v1/uc/calls/nope HTTP/1.1\r\nHost: x\r\n${auth}\r\n` +
      `LOOKUP /rest/v1/uc/calls HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 12\r\n\r\n{"key":"no"}`;
    const text = await rawExchange(sim, [chunk], (t) => statuses(t).length === 4);
    assert.deepEqual(statuses(text), [200, 200, 404, 404]);
    assert.ok(text.indexOf('"id"') > text.indexOf('[]'), 'answers keep the order of the requests');
  });

  it('accepts a chunked body and HTTP/1.0 closes after one answer', async () => {
    const sim = await start();
    const body = JSON.stringify(LOGIN);
    const half = Math.floor(body.length / 2);
    const chunked = `${half.toString(16)}\r\n${body.slice(0, half)}\r\n${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`;
    const text = await rawExchange(sim, [`POST /rest/v1/iam/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked], (t) => t.includes('session_token'));
    assert.deepEqual(statuses(text), [200]);
    const old = await rawExchange(sim, ['GET /rest/v1/uc/calls HTTP/1.0\r\n\r\n'], (t) => t.includes('"error"'));
    assert.match(old, /Connection: close/);
  });

  it('answers 400 to a broken request line and does not crash', async () => {
    const sim = await start();
    const text = await rawExchange(sim, ['this is not http\r\n\r\n'], (t) => t.length > 0);
    assert.deepEqual(statuses(text), [400]);
    assert.equal((await request(`${sim.url}/rest/v1/uc/calls`)).statusCode, 401, 'still serving');
  });

  it('serves every non-standard method over one keep-alive connection', async () => {
    const sim = await start();
    const token = await login(sim);
    const agent = new Agent({ connections: 1, pipelining: 1 });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await request(`${sim.url}/rest/v1/uc/calls${path}`, { method, headers, dispatcher: agent, ...(body !== undefined && { body: JSON.stringify(body) }) });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };
    const a = await call('INVITE', '', { from: '101', to: '+79160000001' });
    const b = await call('INVITE', '', { from: '102', to: '103' });
    const idA = String(a.json.id);
    const idB = String(b.json.id);
    const ivr = await call('INVITEBYIVR', '', { to: '+79160000002', ivr: 'welcome' });
    const results = [
      a.status,
      ivr.status,
      (await call('LOOKUP', '', { key: idA })).status,
      (await call('NOTIFY', `/${idA}`, { event: 'talk' })).status,
      (await call('SEND_DTMF', `/${idA}`, { dtmf: '1#' })).status,
      (await call('SETUP_RECORD', `/${idA}`, { record: true })).status,
      (await call('REFER', `/${idA}`, { to: '104' })).status,
      (await call('SWITCHCONF', `/${idA}`, {})).status,
      (await call('REFERREPLACES', `/${idA}`, { replaces: idB })).status,
      (await call('DELETE', `/${idA}`)).status,
    ];
    const sw = await call('SWITCHCONF', `/${String(ivr.json.id)}`, {});
    const conf = await call('SWITCHCONF', `/${String((await call('POST', '', { from: '105', to: '106' })).json.id)}`, {});
    assert.equal(sw.status, 200);
    assert.equal((await call('REFERCONF', `/${String(ivr.json.id)}`, { conference: conf.json.conference })).status, 200);
    assert.deepEqual(results, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    const restLog = sim.requests().filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/calls'));
    assert.deepEqual(
      [...new Set(restLog.map((r) => r.method))].sort(),
      ['DELETE', 'INVITE', 'INVITEBYIVR', 'LOOKUP', 'NOTIFY', 'POST', 'REFER', 'REFERCONF', 'REFERREPLACES', 'SEND_DTMF', 'SETUP_RECORD', 'SWITCHCONF'],
    );
    await agent.close();
  });

  it('answers 405 with Allow for a method a resource does not have', async () => {
    const sim = await start();
    const token = await login(sim);
    const res = await request(`${sim.url}/rest/v1/uc/calls`, { method: 'PATCH', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 405);
    assert.match(String(res.headers.allow), /INVITEBYIVR/);
    await res.body.dump();
  });
});
