/**
 * Each action node once in a real Node-RED, behind an `http in` endpoint: what it sent on, and
 * the request the simulator received for it (`GET /_sim/requests`).
 */
import assert from 'node:assert/strict';
import type { SimCall, SimRequest } from '../../support/sim';
import type { Case } from '../support/case';
import { act } from '../support/probe';

type Json = Record<string, unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function actions(c: Case): void {
  describe('action nodes', function () {
    beforeEach(async function () {
      await c.ctl.clearRequests();
    });

    /** REST requests the simulator received since the test began, logins left out. */
    async function received(): Promise<SimRequest[]> {
      return (await c.ctl.requests()).filter((r) => r.kind === 'rest' && r.path !== '/rest/v1/iam/sessions');
    }

    async function onlyRequest(method: string, path: string): Promise<SimRequest> {
      const matching = (await received()).filter((r) => r.method === method && r.path === path);
      assert.equal(matching.length, 1, `one ${method} ${path}, got ${JSON.stringify((await received()).map((r) => `${r.method} ${r.path}`))}`);
      return matching[0]!;
    }

    async function talkingCall(body: Json = {}): Promise<SimCall> {
      const call = await c.ctl.startCall({ from: '+79161112233', to: '101', answer: true, ...body });
      await c.ctl.clearRequests();
      return call;
    }

    async function until(check: () => Promise<boolean>, what: string): Promise<void> {
      for (let i = 0; i < 100; i++) {
        if (await check()) return;
        await sleep(50);
      }
      assert.fail(`${what}: not within 5 s`);
    }

    const callPath = (call: SimCall) => `/rest/v1/uc/calls/${call.connectionid}`;

    it('era-dial places a call (POST /rest/v1/uc/calls) and sets msg.connectionId', async function () {
      const r = await act(c.red, 'dial', { payload: '+79035550101' });
      assert.equal(r.output, 'dial', JSON.stringify(r.error));
      assert.equal(r.statusCode, 200);
      assert.ok(r.connectionId, 'msg.connectionId');
      const req = await onlyRequest('POST', '/rest/v1/uc/calls');
      assert.deepEqual(req.body, { from: '101', to: '+79035550101' });
      assert.equal((await c.ctl.getCall(r.connectionId)).tonum, '+79035550101');
    });

    it('era-answer answers a ringing call (NOTIFY talk)', async function () {
      const call = await c.ctl.startCall({ from: '+79161112233', to: '101' });
      await c.ctl.clearRequests();
      const r = await act(c.red, 'answer', { connectionId: call.connectionid });
      assert.equal(r.output, 'answer', JSON.stringify(r.error));
      assert.equal(((await onlyRequest('NOTIFY', callPath(call))).body as Json).event, 'talk');
      await until(async () => (await c.ctl.getCall(call.id)).state === 'talk', 'the call answered');
    });

    it('era-hold holds and resumes (NOTIFY hold, NOTIFY talk; msg.hold decides)', async function () {
      const call = await talkingCall();
      const held = await act(c.red, 'hold', { connectionId: call.connectionid, hold: true });
      assert.equal(held.output, 'hold', JSON.stringify(held.error));
      await until(async () => (await c.ctl.getCall(call.id)).state === 'hold', 'the call held');
      const resumed = await act(c.red, 'hold', { connectionId: call.connectionid, hold: false });
      assert.equal(resumed.output, 'hold', JSON.stringify(resumed.error));
      await until(async () => (await c.ctl.getCall(call.id)).state === 'talk', 'the call resumed');
      const sent = (await received()).filter((r) => r.path === callPath(call)).map((r) => `${r.method} ${(r.body as Json).event}`);
      assert.deepEqual(sent, ['NOTIFY hold', 'NOTIFY talk']);
    });

    it('era-dtmf sends digits (SEND_DTMF); Cyrillic or a pasted line break is ERA_INVALID_INPUT, sends nothing, and the node goes on working', async function () {
      const call = await talkingCall();
      for (const bad of ['пять', '12\n3', '1 2']) {
        const r = await act(c.red, 'dtmf', { connectionId: call.connectionid, payload: bad });
        assert.equal(r.output, 'caught', `${JSON.stringify(bad)} was refused`);
        assert.equal(r.error?.code, 'ERA_INVALID_INPUT');
      }
      assert.deepEqual(await received(), [], 'nothing was sent for the bad digits');
      const r = await act(c.red, 'dtmf', { connectionId: call.connectionid, payload: '12#*' });
      assert.equal(r.output, 'dtmf', JSON.stringify(r.error));
      assert.equal(((await onlyRequest('SEND_DTMF', callPath(call))).body as Json).dtmf, '12#*');
    });

    it('era-transfer transfers blind (REFER) and the call goes to the new number', async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'transfer', { connectionId: call.connectionid, payload: '102' });
      assert.equal(r.output, 'transfer', JSON.stringify(r.error));
      assert.equal(((await onlyRequest('REFER', callPath(call))).body as Json).to, '102');
      await until(async () => (await c.ctl.getCall(call.id)).tonum === '102', 'the call at 102');
    });

    it('era-conference makes the call a conference (SWITCHCONF)', async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'conference', { connectionId: call.connectionid });
      assert.equal(r.output, 'conference', JSON.stringify(r.error));
      await onlyRequest('SWITCHCONF', callPath(call));
      const conference = (r.payload as Json).conference;
      assert.ok(conference, 'the platform answered a conference id');
      assert.equal((await c.ctl.getCall(call.id)).conference, conference);
    });

    describe('era-recording of a recorded call', function () {
      let key = '';

      before(async function () {
        const call = await c.ctl.startCall({ from: '+79161112233', to: '101', answer: true, record: true });
        await c.ctl.hangup(call.id);
        await until(async () => {
          key = String((await c.ctl.getCall(call.id)).recordingKey ?? '');
          return key !== '';
        }, 'a recording key');
      });

      it('output url: an absolute temporary link (GET /api/admin/v1/callrecords?key=)', async function () {
        const r = await act(c.red, 'recording-url', { payload: { key } });
        assert.equal(r.output, 'recording-url', JSON.stringify(r.error));
        assert.ok(String(r.payload).startsWith(`${c.sim.url}/temp/`), String(r.payload));
        assert.equal((await onlyRequest('GET', '/api/admin/v1/callrecords')).query?.key, key);
      });

      it('output buffer: the recording itself, as the link serves it', async function () {
        const r = await act(c.red, 'recording-buffer', { payload: { key } });
        assert.equal(r.output, 'recording-buffer', JSON.stringify(r.error));
        const download = (await received()).find((q) => q.method === 'GET' && q.path.startsWith('/temp/'));
        assert.ok(download, 'the recording was downloaded');
        const served = Buffer.from(await (await fetch(`${c.sim.url}${download.path}`)).arrayBuffer());
        assert.deepEqual(r.payload, { bytes: served.length, head: served.subarray(0, 4).toString('latin1') });
        assert.ok(served.length > 0);
      });
    });

    it('era-calls reads one call (GET /rest/v1/uc/calls/<id>)', async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'calls', { connectionId: call.connectionid });
      assert.equal(r.output, 'calls', JSON.stringify(r.error));
      assert.equal((r.payload as Json).connectionid, call.connectionid);
      await onlyRequest('GET', callPath(call));
    });

    it('era-request sends a raw REST request (GET /rest/v1/uc/calls)', async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'request', {});
      assert.equal(r.output, 'request', JSON.stringify(r.error));
      assert.equal(r.statusCode, 200);
      assert.ok(Array.isArray(r.payload) && r.payload.some((x: Json) => x.connectionid === call.connectionid), JSON.stringify(r.payload));
      await onlyRequest('GET', '/rest/v1/uc/calls');
    });

    it("era-call attaches the call's state as msg.call", async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'call', { connectionId: call.connectionid });
      assert.equal(r.output, 'call', JSON.stringify(r.error));
      assert.equal(r.call?.connectionId, call.connectionid);
      assert.equal(r.call?.from, '+79161112233');
      assert.equal(r.call?.state, 'talking');
    });

    it('era-wait holds the message until the call is answered, then sends it on its first output', async function () {
      const call = await c.ctl.startCall({ from: '+79161112233', to: '101' });
      const waiting = act(c.red, 'wait', { connectionId: call.connectionid });
      await sleep(300);
      await c.ctl.answer(call.id);
      const r = await waiting;
      assert.equal(r.output, 'wait-happened', JSON.stringify(r.error));
      assert.equal(r.call?.state, 'talking');
    });

    it('era-hangup ends the call (DELETE /rest/v1/uc/calls/<id>)', async function () {
      const call = await talkingCall();
      const r = await act(c.red, 'hangup', { connectionId: call.connectionid });
      assert.equal(r.output, 'hangup', JSON.stringify(r.error));
      await onlyRequest('DELETE', callPath(call));
      await until(async () => (await c.ctl.getCall(call.id)).state === 'ended', 'the call ended');
    });
  });
}
