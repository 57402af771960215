import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { EraClient } from '../../src/era';
import { EraError } from '../../src/era/errors';
import { retainedBytes } from '../support/gc';
import { RecordingFront, serveLarge, serveTrickle, trickled, type Sent, type Serve } from '../support/recording-front';
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

describe('client: recordings that stream', () => {
  let s: Simulator;
  let front: RecordingFront;
  let dir: string;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  /** The simulator behind a front that answers recording downloads with `serve`. */
  async function platform(serve: Serve): Promise<string> {
    s = await sim();
    front = new RecordingFront(s.url, serve);
    return front.start();
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'era-rec-client-'));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await front.stop();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a 200 MB recording into a file while memory stays flat', async function () {
    this.timeout(120000);
    let sent: Sent | undefined;
    const url = await platform(serveLarge(3200, (done) => (sent = done)));
    const key = await recordedCall(s);
    const c = track(userClient(url));
    await c.testConnection();
    const baseline = retainedBytes();
    let peak = baseline;
    // What is held, not what waits to be collected: a stream leaves garbage, a buffer grows.
    const watch = setInterval(() => (peak = Math.max(peak, retainedBytes())), 50);
    let rec;
    try {
      rec = await c.fetchRecording(key, { output: 'file', path: path.join(dir, 'long.mp3') });
    } finally {
      clearInterval(watch);
    }
    assert.equal(rec.path, path.join(dir, 'long.mp3'));
    assert.ok(sent, 'the whole recording was sent');
    assert.ok(sent.bytes > 200 * 1024 * 1024);
    assert.equal(statSync(rec.path).size, sent.bytes);
    const hash = createHash('sha256');
    await pipeline(createReadStream(rec.path), hash);
    assert.equal(hash.digest('hex'), sent.sha256, 'the file holds exactly what was sent');
    assert.deepEqual(readdirSync(dir), ['long.mp3'], 'no temporary file is left');
    const grown = peak - baseline;
    assert.ok(grown < 50 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MB for a ${Math.round(sent.bytes / 1048576)} MB download`);
  });

  it('buffers a recording that arrives slowly: the timeout is for silence, not for the whole download', async function () {
    // 15 pieces 200 ms apart: 3 s of download against a 1 s timeout.
    const url = await platform(serveTrickle(15, 200));
    const key = await recordedCall(s);
    const c = track(userClient(url, { requestTimeoutMs: 1000 }));
    const rec = await c.fetchRecording(key, { output: 'buffer' });
    assert.equal(rec.data.toString(), trickled(15));
  });

  it('a download that goes silent fails with ERA_TIMEOUT', async () => {
    const url = await platform(serveTrickle(3, 100, { stall: true }));
    const key = await recordedCall(s);
    const c = track(userClient(url, { requestTimeoutMs: 1000 }));
    await assert.rejects(c.fetchRecording(key, { output: 'buffer' }), (err: EraError) => {
      assert.equal(err.code, 'ERA_TIMEOUT');
      assert.match(err.message, /^The download from 127\.0\.0\.1:\d+ stalled: no data for 1 s$/);
      return true;
    });
  });

  it('close() stops a download in flight and removes its temporary file', async () => {
    const url = await platform(serveTrickle(1, 10, { stall: true }));
    const key = await recordedCall(s);
    const c = track(userClient(url, { requestTimeoutMs: 60000 }));
    const saving = c.fetchRecording(key, { output: 'file', path: path.join(dir, 'cut.mp3') });
    await waitFor('the download to start', () => front.downloads === 1);
    await waitFor('the first bytes on disk', () => readdirSync(dir).some((f) => f.endsWith('.part') && statSync(path.join(dir, f)).size > 0));
    const refused = assert.rejects(saving, { code: 'ERA_NOT_CONNECTED' });
    await c.close();
    await refused;
    assert.deepEqual(readdirSync(dir), []);
  });

  it('downloads a dozen recordings at once without a listener-leak warning', async () => {
    // Each download lasts some 600 ms, so that all twelve are in flight together.
    const url = await platform(serveTrickle(3, 200));
    const key = await recordedCall(s);
    const c = track(userClient(url));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const recs = await Promise.all(Array.from({ length: 12 }, (_, i) => c.fetchRecording(key, { output: 'file', path: path.join(dir, `${i}.mp3`) })));
      assert.equal(recs.length, 12);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
    assert.equal(readdirSync(dir).length, 12);
  });

  it('refuses output file without a path, fetching nothing', async () => {
    const url = await platform(serveTrickle(1, 10));
    const c = track(userClient(url));
    await assert.rejects(c.fetchRecording('fs:a.mp3', { output: 'file', path: ' ' }), { code: 'ERA_INVALID_INPUT', message: 'Saving a recording needs the path of the file' });
    assert.equal((await requests(s)).length, 0);
  });
});
