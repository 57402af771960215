import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era/client';
import { EraError } from '../../src/era/errors';
import { ctl, faults, requests, sim, startCall, tokenClient, userClient, waitFor, type SimCall, type Simulator } from './helpers';

/** A recorded call, answered and ended, so that its recording key exists. */
async function recordedCall(s: Simulator): Promise<string> {
  const call = await startCall(s, { record: true, answer: true });
  await ctl(s, 'POST', `calls/${encodeURIComponent(call.id)}/hangup`, {});
  const ended = await ctl<SimCall>(s, 'GET', `calls/${encodeURIComponent(call.id)}`);
  assert.ok(ended.recordingKey, 'the simulator made a recording');
  return ended.recordingKey;
}

describe('client: recordings', () => {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });

  it('gives the absolute temporary link over REST in user mode', async () => {
    s = await sim();
    const key = await recordedCall(s);
    const c = track(userClient(s.url));
    const { url } = await c.fetchRecording(key, { output: 'url' });
    assert.match(url, new RegExp(`^${s.url}/temp/\\w+\\.mp3$`));
    const linkReq = (await requests(s)).find((r) => r.path === '/api/admin/v1/callrecords')!;
    assert.deepEqual(linkReq.query, { key });
    assert.equal((await requests(s)).filter((r) => r.kind === 'ws').length, 0);
  });

  it('downloads the recording with a plain GET (no Authorization)', async () => {
    s = await sim();
    const key = await recordedCall(s);
    const c = track(userClient(s.url));
    const rec = await c.fetchRecording(key, { output: 'buffer' });
    assert.ok(Buffer.isBuffer(rec.data));
    assert.ok(rec.data.length > 2000);
    assert.equal(rec.data.subarray(0, 3).toString('latin1'), 'ID3');
    const download = (await requests(s)).find((r) => r.path.startsWith('/temp/'))!;
    assert.equal(download.headers.authorization, undefined);
  });

  it('asks the token socket for the link in token mode, opening it just for that', async () => {
    s = await sim();
    const key = await recordedCall(s);
    const c = track(tokenClient(s.url));
    const rec = await c.fetchRecording(key, { output: 'buffer' });
    assert.ok(rec.data.length > 2000);
    const log = await requests(s);
    const frame = log.find((r) => r.kind === 'ws' && r.method === 'callrecord_get_path')!;
    assert.deepEqual(Object.keys(frame.body as object).sort(), ['key', 'qid']);
    assert.equal(log.filter((r) => r.path === '/api/admin/v1/callrecords').length, 0);
    await waitFor('the socket closed again', () => c.state === 'idle');
  });

  it('waits for a recording that is not ready yet, a bounded number of times', async () => {
    s = await sim();
    const key = await recordedCall(s);
    const c = track(userClient(s.url, { recordingRetryDelayMs: 20 }));
    await faults(s, { recordingNotReady: { count: 2 } });
    const rec = await c.fetchRecording(key, { output: 'buffer' });
    assert.ok(rec.data.length > 0);
    assert.equal((await requests(s)).filter((r) => r.path.startsWith('/temp/')).length, 3);

    await faults(s, { recordingNotReady: { count: 100 } });
    await ctl(s, 'DELETE', 'requests');
    await assert.rejects(c.fetchRecording(key, { output: 'buffer' }), (err: EraError) => {
      assert.equal(err.code, 'ERA_NOT_FOUND');
      assert.match(err.message, /not ready yet, or its temporary link expired/);
      return true;
    });
    assert.equal((await requests(s)).filter((r) => r.path.startsWith('/temp/')).length, 4, '1 try + 3 retries');
  });

  it('says so clearly when the link has expired', async () => {
    s = await sim({ recordLinkTtlMs: 1 });
    const key = await recordedCall(s);
    const c = track(userClient(s.url, { recordingRetries: 1, recordingRetryDelayMs: 20 }));
    // Not ready at first; by the time it is, the (1 ms) link has expired.
    await faults(s, { recordingNotReady: { count: 1 } });
    await assert.rejects(c.fetchRecording(key, { output: 'buffer' }), (err: EraError) => {
      assert.equal(err.code, 'ERA_NOT_FOUND');
      assert.match(err.message, /^The recording ".+" could not be downloaded \(HTTP 404 after 2 tries\): it is not ready yet, or its temporary link expired/);
      return true;
    });
  });

  it('reports an unknown key as ERA_NOT_FOUND in both modes', async () => {
    s = await sim();
    await assert.rejects(track(userClient(s.url)).fetchRecording('fs:none.mp3'), { code: 'ERA_NOT_FOUND', message: 'No recording "fs:none.mp3" (HTTP 404)' });
    await assert.rejects(track(tokenClient(s.url)).fetchRecording('fs:none.mp3'), (err: EraError) => {
      assert.equal(err.code, 'ERA_NOT_FOUND');
      assert.match(err.message, /^No recording "fs:none.mp3": no recording with key/);
      return true;
    });
    await assert.rejects(track(userClient(s.url)).fetchRecording('  '), { code: 'ERA_INVALID_INPUT' });
  });
});
