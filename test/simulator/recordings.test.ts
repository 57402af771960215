import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Simulator } from '../../src/simulator';
import { recordingAudio } from '../../src/simulator/recordings';
import { delay, login, openReady, rest, useSimulators } from './helpers';

async function download(sim: Simulator, path: string): Promise<{ status: number; type: string | undefined; bytes: Buffer }> {
  const res = await request(`${sim.url}${path}`);
  return { status: res.statusCode, type: res.headers['content-type'] as string | undefined, bytes: Buffer.from(await res.body.arrayBuffer()) };
}

function recordedCall(sim: Simulator): string {
  const call = sim.startCall({ from: '+79161112233', to: '101', record: true, answer: true });
  const key = sim.hangupCall(call.id).recordingKey;
  assert.ok(key);
  return key;
}

describe('simulator: recordings (§7)', () => {
  const start = useSimulators();

  it('callrecord_get_path gives a /temp/ path that downloads without authorisation', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const key = recordedCall(sim);
    const ws = await openReady(sim);
    const reply = await ws.request('callrecord_get_path', { key });
    const path = String(reply.result);
    assert.match(path, /^\/temp\/[a-z0-9]+\.mp3$/);
    const file = await download(sim, path);
    assert.equal(file.status, 200);
    assert.equal(file.type, 'audio/mpeg');
    assert.ok(file.bytes.length >= 2048 && file.bytes.length < 8192);
    assert.equal(file.bytes.subarray(0, 3).toString('latin1'), 'ID3');
    const again = await download(sim, String((await ws.request('callrecord_get_path', { key })).result));
    assert.deepEqual(again.bytes, file.bytes, 'the same recording gives the same bytes');
    assert.deepEqual(file.bytes, recordingAudio(key));
    const unknown = await ws.request('callrecord_get_path', { key: 'fs:main1:Srv-001/2020-01-01/none.mp3' });
    assert.equal(unknown.result, 'error');
  });

  it('GET /api/admin/v1/callrecords?key= gives {url}; unknown key 404, no key 400, no auth 401', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const key = recordedCall(sim);
    const token = await login(sim);
    const res = await rest(sim, 'GET', `/api/admin/v1/callrecords?key=${encodeURIComponent(key)}`, { token });
    assert.equal(res.status, 200);
    const url = (res.body as { url: string }).url;
    assert.match(url, /^\/temp\/.+\.mp3$/);
    assert.equal((await download(sim, url)).status, 200);
    assert.equal((await rest(sim, 'GET', '/api/admin/v1/callrecords?key=nope', { token })).status, 404);
    assert.equal((await rest(sim, 'GET', '/api/admin/v1/callrecords', { token })).status, 400);
    assert.equal((await rest(sim, 'GET', `/api/admin/v1/callrecords?key=${encodeURIComponent(key)}`)).status, 401);
    assert.equal((await rest(sim, 'GET', `/api/admin/v1/callrecords?key=${encodeURIComponent(key)}`, { token: 'demo-token' })).status, 200);
  });

  it('a link stops working after recordLinkTtlMs', async () => {
    const sim = await start({ dlgStopDelayMs: 0, recordLinkTtlMs: 400 });
    const key = recordedCall(sim);
    const url = ((await rest(sim, 'GET', `/api/admin/v1/callrecords?key=${encodeURIComponent(key)}`, { token: 'demo-token' })).body as { url: string }).url;
    assert.equal((await download(sim, url)).status, 200);
    await delay(450);
    assert.equal((await download(sim, url)).status, 404);
    assert.equal((await download(sim, '/temp/neverissued.mp3')).status, 404);
  });

  it('the recordingNotReady fault makes the next downloads 404', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const key = recordedCall(sim);
    const url = ((await rest(sim, 'GET', `/api/admin/v1/callrecords?key=${encodeURIComponent(key)}`, { token: 'demo-token' })).body as { url: string }).url;
    await rest(sim, 'POST', '/_sim/faults', { body: { recordingNotReady: { count: 2 } } });
    assert.equal((await download(sim, url)).status, 404);
    assert.equal((await download(sim, url)).status, 404);
    assert.equal((await download(sim, url)).status, 200);
  });

  it('an unanswered call with record on has nothing to fetch', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const call = sim.startCall({ from: '+79161112233', to: '101', record: true });
    assert.equal(sim.hangupCall(call.id, 'cancel').recordingKey, undefined);
  });
});
