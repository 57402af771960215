import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorOf, loadAction } from '../support/flows';
import { eventually, helper, startRed, stopRed, TOKEN_CREDENTIALS } from '../support/red';
import { RecordingFront, serveTrickle, trickled, type Serve } from '../support/recording-front';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, any>;

describe('era-recording', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let dir: string;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'era-rec-'));
    await startRed();
  });

  let front: RecordingFront | undefined;

  afterEach(async function () {
    await stopRed();
    await front?.stop();
    front = undefined;
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A front for the simulator whose recording downloads `serve` answers; the server node's URL. */
  async function platformServing(serve: Serve): Promise<string> {
    front = new RecordingFront(sim.url, serve);
    return front.start();
  }

  async function recordedKey(): Promise<string> {
    const call = await ctl.startCall({ record: true, answer: true });
    await ctl.hangup(call.id);
    let key = '';
    await eventually(async () => {
      key = String((await ctl.getCall(call.id)).recordingKey ?? '');
      return key !== '';
    }, 3000, 'a recording key');
    return key;
  }

  for (const [mode, credentials, server] of [
    ['token', TOKEN_CREDENTIALS, { authMode: 'token' }],
    ['user', undefined, {}],
  ] as const) {
    it(`gives an absolute temporary URL (${mode} mode)`, async function () {
      const key = await recordedKey();
      const { out, send } = await loadAction(sim, { type: 'era-recording', output: 'url' }, { credentials, server });
      send({ payload: { key } });
      await out.count(1);
      const url = String((out.messages[0] as Msg).payload);
      assert.ok(url.startsWith(`${sim.url}/temp/`), url);
      const res = await fetch(url);
      assert.equal(res.status, 200);
    });
  }

  it('downloads into a Buffer, retrying a link that is not ready yet', async function () {
    const key = await recordedKey();
    const { out, send } = await loadAction(sim, { type: 'era-recording', output: 'buffer' }, { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } });
    await ctl.faults({ recordingNotReady: { count: 1 } });
    send({ payload: { key } });
    await out.count(1, 8000);
    const payload = (out.messages[0] as Msg).payload;
    assert.ok(Buffer.isBuffer(payload) && payload.length > 0);
  });

  it('saves a file under the directory, atomically', async function () {
    const key = await recordedKey();
    const { out, send } = await loadAction(sim, { type: 'era-recording', output: 'file', directory: dir }, { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } });
    send({ payload: { key } });
    await out.count(1);
    const file = String((out.messages[0] as Msg).payload);
    assert.equal(path.dirname(file), dir);
    assert.ok(fs.statSync(file).size > 0);
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)], 'no temporary file left behind');
  });

  it('refuses a key or a file name that would leave the directory, sending nothing', async function () {
    const key = await recordedKey();
    const { caught, out, send } = await loadAction(
      sim,
      { type: 'era-recording', output: 'file', directory: dir, filename: 'name', filenameType: 'msg' },
      { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } },
    );
    await ctl.clearRequests();
    send({ payload: { key: '../../etc/passwd' } });
    send({ payload: { key }, name: '../escape.mp3' });
    send({ payload: { key }, name: '/tmp/abs.mp3' });
    await caught.count(3);
    for (const m of caught.messages) assert.equal(errorOf(m).code, 'ERA_INVALID_INPUT');
    const sent = (await ctl.requests()).filter((r) => r.method === 'callrecord_get_path' || r.path.startsWith('/temp/'));
    assert.equal(sent.length, 0, 'nothing was fetched');
    assert.deepEqual(fs.readdirSync(dir), []);
    send({ payload: { key }, name: 'ok.mp3' });
    await out.count(1);
    assert.ok(fs.existsSync(path.join(dir, 'ok.mp3')));
  });

  it('an expired link ends with ERA_NOT_FOUND', async function () {
    // Three spaced retries of the download come first; leave room for a loaded machine.
    this.timeout(40000);
    await sim.stop();
    // A lifetime of 0 makes every link expired when it is used: no race with a fast download.
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20, recordLinkTtlMs: 0 }));
    const key = await recordedKey();
    const { caught, send } = await loadAction(sim, { type: 'era-recording', output: 'buffer' }, { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } });
    send({ payload: { key } });
    await caught.count(1, 30000);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_NOT_FOUND');
    assert.match(String(errorOf(caught.messages[0]).message), /expired|not found/i);
  });

  it('saves a recording that arrives slowly: the timeout is for silence, not for the whole download', async function () {
    const key = await recordedKey();
    const url = await platformServing(serveTrickle(15, 200));
    // 15 pieces 200 ms apart: 3 s of download against a 1 s timeout.
    const { out, send } = await loadAction(sim, { type: 'era-recording', output: 'file', directory: dir, filename: 'slow.mp3' }, { server: { url, requestTimeout: 1 } });
    send({ payload: { key } });
    await out.count(1, 10000);
    assert.equal((out.messages[0] as Msg).payload, path.join(dir, 'slow.mp3'));
    assert.equal(fs.readFileSync(path.join(dir, 'slow.mp3'), 'utf8'), trickled(15));
    assert.deepEqual(fs.readdirSync(dir), ['slow.mp3']);
  });

  it('a download that goes silent fails with ERA_TIMEOUT and leaves no temporary file', async function () {
    const key = await recordedKey();
    // Data for longer than the timeout, then none: only the silence may end it.
    const url = await platformServing(serveTrickle(8, 200, { stall: true }));
    const { caught, out, send } = await loadAction(sim, { type: 'era-recording', output: 'file', directory: dir }, { server: { url, requestTimeout: 1 } });
    send({ payload: { key } });
    const partial = () => fs.readdirSync(dir).filter((f) => f.endsWith('.part') && fs.statSync(path.join(dir, f)).size > 0);
    await eventually(() => partial().length === 1, 5000, 'bytes streamed into a temporary file beside the target');
    await caught.count(1, 10000);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_TIMEOUT');
    assert.match(String(errorOf(caught.messages[0]).message), /stalled: no data for 1 s/);
    assert.equal(out.messages.length, 0);
    assert.deepEqual(fs.readdirSync(dir), [], 'the temporary file is gone');
  });

  it('resolves a relative directory under fileWorkingDirectory, as the core file node does', async function () {
    const key = await recordedKey();
    helper.settings({ fileWorkingDirectory: dir });
    try {
      const { out, send } = await loadAction(sim, { type: 'era-recording', output: 'file', directory: 'recs' }, { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } });
      send({ payload: { key } });
      await out.count(1);
      const file = String((out.messages[0] as Msg).payload);
      assert.equal(path.dirname(file), path.join(dir, 'recs'));
      assert.ok(fs.statSync(file).size > 0);
    } finally {
      helper.settings({});
    }
  });

  it('a directory that cannot be written fails before anything is fetched', async function () {
    const key = await recordedKey();
    fs.writeFileSync(path.join(dir, 'a-file'), '');
    const directory = path.join(dir, 'a-file', 'recs');
    const { caught, send } = await loadAction(sim, { type: 'era-recording', output: 'file', directory }, { credentials: TOKEN_CREDENTIALS, server: { authMode: 'token' } });
    await ctl.clearRequests();
    send({ payload: { key } });
    await caught.count(1);
    assert.equal(errorOf(caught.messages[0]).code, 'ERA_INVALID_INPUT');
    assert.match(String(errorOf(caught.messages[0]).message), /Cannot save the recording as .*a-file/);
    const sent = (await ctl.requests()).filter((r) => r.method === 'callrecord_get_path' || r.path.startsWith('/temp/'));
    assert.equal(sent.length, 0, 'nothing was fetched');
  });
});
