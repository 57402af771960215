import assert from 'node:assert/strict';
import { callRequests, errorOf, loadAction } from '../support/flows';
import { eventually, helper, startRed, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, any>;

describe('action nodes', function () {
  let sim: Simulator;
  let ctl: SimControl;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  async function talkingCall(body: Record<string, unknown> = {}) {
    const call = await ctl.startCall(body);
    await ctl.answer(call.id);
    await ctl.clearRequests();
    return call;
  }

  describe('era-dial', function () {
    it('places a call with POST and sets msg.connectionId', async function () {
      const { out, send } = await loadAction(sim, { type: 'era-dial', from: '101', fromType: 'str', to: 'payload', toType: 'msg' });
      send({ payload: '+79990001122', keep: 'me' });
      await out.count(1);
      const msg = out.messages[0] as Msg;
      assert.equal(msg.statusCode, 200);
      assert.equal(msg.keep, 'me', 'the incoming message goes on');
      assert.equal(msg.connectionId, msg.payload.id);
      const [req] = await callRequests(ctl);
      assert.equal(req.method, 'POST');
      assert.equal(req.path, '/rest/v1/uc/calls');
      assert.deepEqual(req.body, { from: '101', to: '+79990001122' });
      assert.match(String(req.headers.authorization), /^Bearer \S+/);
      const call = await ctl.getCall(msg.connectionId);
      assert.equal(call.tonum, '+79990001122');
    });

    it('uses INVITE and INVITEBYIVR, and extra fields win', async function () {
      const { out, send } = await loadAction(sim, {
        type: 'era-dial',
        mode: 'msg',
        from: '101',
        fromType: 'str',
        to: 'payload',
        toType: 'msg',
        ivr: 'welcome',
        ivrType: 'str',
        extra: '{"priority": 5}',
        extraType: 'json',
      });
      send({ payload: '+79990001122', mode: 'invite' });
      send({ payload: '+79990003344', mode: 'ivr' });
      await out.count(2);
      const reqs = await callRequests(ctl);
      assert.deepEqual(reqs.map((r) => r.method).sort(), ['INVITE', 'INVITEBYIVR']);
      const ivr = reqs.find((r) => r.method === 'INVITEBYIVR') as Msg;
      assert.equal(ivr.body.ivr, 'welcome');
      assert.equal(ivr.body.to, '+79990003344');
      assert.equal(ivr.body.priority, 5);
    });

    it('reads its fields of every kind: JSONata and flow context beside msg', async function () {
      const { out, send } = await loadAction(sim, { type: 'era-dial', from: 'operator', fromType: 'flow', to: '"+7" & payload.digits', toType: 'jsonata', extra: 'priority', extraType: 'msg' });
      (helper.getNode('n') as unknown as { context(): { flow: { set(k: string, v: unknown): void } } }).context().flow.set('operator', '101');
      send({ payload: { digits: '9990001122' }, priority: { priority: 5 } });
      await out.count(1);
      const [req] = await callRequests(ctl);
      assert.deepEqual(req!.body, { from: '101', to: '+79990001122', priority: 5 });
    });

    it('extra fields that are not an object are a clear error, with nothing sent, and the next message goes on', async function () {
      const { out, caught, send } = await loadAction(sim, { type: 'era-dial', from: '101', fromType: 'str', to: 'payload', toType: 'msg', extra: 'extra', extraType: 'msg' });
      send({ payload: '+79990001122', extra: '{"priority":' });
      await caught.count(1);
      assert.equal(errorOf(caught.messages[0]!).code, 'ERA_INVALID_INPUT');
      assert.deepEqual(await callRequests(ctl), [], 'nothing sent');
      send({ payload: '+79990001122' });
      await out.count(1);
      assert.equal((await callRequests(ctl)).length, 1);
    });

    it('a JSON field that does not parse is a clear error, with nothing sent', async function () {
      const { caught, send } = await loadAction(sim, { type: 'era-dial', from: '101', fromType: 'str', to: 'payload', toType: 'msg', extra: '{"priority":', extraType: 'json' });
      send({ payload: '+79990001122' });
      await caught.count(1);
      assert.equal(errorOf(caught.messages[0]!).code, 'ERA_INVALID_INPUT');
      assert.match(String(errorOf(caught.messages[0]!).message), /Could not read the node's fields: Unexpected end of JSON input/);
      assert.deepEqual(await callRequests(ctl), [], 'nothing sent');
    });

    it('refuses an unknown mode from msg and an empty number before sending anything', async function () {
      const { out, caught, send } = await loadAction(sim, { type: 'era-dial', mode: 'msg', from: '101', fromType: 'str', to: 'payload', toType: 'msg' });
      send({ payload: '+79990001122', mode: 'teleport' });
      send({ payload: '', mode: 'post' });
      await caught.count(2);
      for (const m of caught.messages) assert.equal(errorOf(m).code, 'ERA_INVALID_INPUT');
      assert.match(String(errorOf(caught.messages[0]).message), /teleport/);
      assert.equal((await callRequests(ctl)).length, 0, 'nothing was sent');
      send({ payload: '+79990001122', mode: 'post' });
      await out.count(1);
    });
  });

  describe('era-transfer', function () {
    it('blind: REFER to a number, the call goes on to the new party', async function () {
      const call = await talkingCall();
      const { out, send } = await loadAction(sim, { type: 'era-transfer', mode: 'blind', to: '102', toType: 'str' });
      send({ connectionId: call.connectionid });
      await out.count(1);
      const [req] = await callRequests(ctl);
      assert.equal(req.method, 'REFER');
      assert.equal(req.path, `/rest/v1/uc/calls/${call.connectionid}`);
      assert.equal((req.body as Msg).to, '102');
      await eventually(async () => (await ctl.getCall(call.id)).tonum === '102', 3000, 'the new party');
    });

    it('attended: REFERREPLACES joins the parties and ends the other call', async function () {
      const a = await talkingCall();
      const b = await talkingCall({ from: '101', to: '+79995556677', dir: 'out' });
      const { out, send } = await loadAction(sim, { type: 'era-transfer', mode: 'attended', replaces: 'other', replacesType: 'msg' });
      send({ connectionId: a.connectionid, other: b.connectionid });
      await out.count(1);
      const [req] = await callRequests(ctl);
      assert.equal(req.method, 'REFERREPLACES');
      assert.equal((req.body as Msg).replaces, b.connectionid);
      await eventually(async () => (await ctl.getCall(b.id)).state === 'ended', 3000, 'the other call to end');
    });

    it('refuses a transfer with neither target nor replaces', async function () {
      const call = await talkingCall();
      const { caught, send } = await loadAction(sim, { type: 'era-transfer', mode: 'blind', to: 'nothing', toType: 'msg' });
      send({ connectionId: call.connectionid });
      await caught.count(1);
      assert.equal(errorOf(caught.messages[0]).code, 'ERA_INVALID_INPUT');
      assert.equal((await callRequests(ctl)).length, 0);
    });
  });

  describe('era-conference', function () {
    it('switch makes a conference, join moves another call into it', async function () {
      const a = await talkingCall();
      const b = await talkingCall({ from: '+79990007788', to: '103' });
      const { out, send } = await loadAction(sim, { type: 'era-conference', mode: 'msg', conference: 'conf', conferenceType: 'msg' });
      send({ connectionId: a.connectionid, mode: 'switch' });
      await out.count(1);
      const conference = (out.messages[0] as Msg).payload.conference;
      assert.ok(conference, 'SWITCHCONF answers with the conference id');
      send({ connectionId: b.connectionid, mode: 'join', conf: conference });
      await out.count(2);
      const reqs = await callRequests(ctl);
      assert.deepEqual(reqs.map((r) => r.method), ['SWITCHCONF', 'REFERCONF']);
      assert.equal((reqs[1].body as Msg).conference, conference);
      await eventually(async () => (await ctl.getCall(b.id)).conference === conference, 3000, 'b in the conference');
    });
  });

  describe('era-hold', function () {
    it('holds and resumes through NOTIFY, msg.hold deciding', async function () {
      const call = await talkingCall();
      const { out, caught, send } = await loadAction(sim, { type: 'era-hold', action: 'msg' });
      send({ connectionId: call.connectionid, hold: true });
      await out.count(1);
      await eventually(async () => (await ctl.getCall(call.id)).state === 'hold', 3000, 'hold');
      send({ connectionId: call.connectionid, hold: false });
      await out.count(2);
      await eventually(async () => (await ctl.getCall(call.id)).state === 'talk', 3000, 'talk');
      const reqs = await callRequests(ctl);
      assert.deepEqual(reqs.map((r) => [r.method, (r.body as Msg).event]), [['NOTIFY', 'hold'], ['NOTIFY', 'talk']]);
      send({ connectionId: call.connectionid, hold: 'maybe' });
      await caught.count(1);
      assert.equal(errorOf(caught.messages[0]).code, 'ERA_INVALID_INPUT');
      assert.equal((await callRequests(ctl)).length, 2);
    });
  });

  describe('era-dtmf', function () {
    it('sends digits with SEND_DTMF and refuses bad ones before sending', async function () {
      const call = await talkingCall();
      const { out, caught, send } = await loadAction(sim, { type: 'era-dtmf' });
      send({ connectionId: call.connectionid, payload: '12x' });
      send({ connectionId: call.connectionid, payload: '1'.repeat(65) });
      send({ connectionId: call.connectionid, payload: '' });
      await caught.count(3);
      for (const m of caught.messages) assert.equal(errorOf(m).code, 'ERA_INVALID_INPUT');
      assert.match(String(errorOf(caught.messages[0]).message), /x/);
      assert.equal((await callRequests(ctl)).length, 0, 'nothing sent for bad digits');
      send({ connectionId: call.connectionid, payload: '12#*AD' });
      await out.count(1);
      const [req] = await callRequests(ctl);
      assert.equal(req.method, 'SEND_DTMF');
      assert.equal((req.body as Msg).dtmf, '12#*AD');
    });
  });

  describe('era-hangup and era-answer', function () {
    it('answers a ringing call, then hangs it up; a second hangup is ERA_NOT_FOUND', async function () {
      const call = await ctl.startCall();
      await ctl.clearRequests();
      const answer = await loadAction(sim, { type: 'era-answer' });
      answer.send({ connectionId: call.connectionid });
      await answer.out.count(1);
      await eventually(async () => (await ctl.getCall(call.id)).state === 'talk', 3000, 'answered');
      const [notify] = await callRequests(ctl);
      assert.equal(notify.method, 'NOTIFY');
      assert.equal((notify.body as Msg).event, 'talk');
    });

    it('hangs up with DELETE; a call that ended a moment ago gives ERA_NOT_FOUND', async function () {
      const call = await talkingCall();
      const { out, caught, send } = await loadAction(sim, { type: 'era-hangup' });
      send({ connectionId: call.connectionid });
      await out.count(1);
      await eventually(async () => (await ctl.getCall(call.id)).state === 'ended', 3000, 'ended');
      send({ connectionId: call.connectionid });
      await caught.count(1);
      assert.equal(errorOf(caught.messages[0]).code, 'ERA_NOT_FOUND');
      const reqs = await callRequests(ctl);
      assert.deepEqual(reqs.map((r) => r.method), ['DELETE', 'DELETE']);
      send({});
      await caught.count(2);
      assert.equal(errorOf(caught.messages[1]).code, 'ERA_INVALID_INPUT');
      assert.equal((await callRequests(ctl)).length, 2, 'no request for a missing call id');
    });
  });

  describe('era-calls', function () {
    it('lists all calls, or reads one', async function () {
      const a = await talkingCall();
      await talkingCall({ from: '+79990009900', to: '104' });
      const { out, send } = await loadAction(sim, { type: 'era-calls', mode: 'get' });
      send({});
      send({ connectionId: a.connectionid });
      await out.count(2);
      assert.equal((out.messages[0] as Msg).payload.length, 2);
      assert.equal((out.messages[1] as Msg).payload.connectionid, a.connectionid);
    });

    it('polls and reports calls that appeared, changed and vanished', async function () {
      const { out } = await loadAction(sim, { type: 'era-calls', mode: 'poll', interval: 0.2 });
      const call = await ctl.startCall();
      await out.until((m) => m.some((x) => x.topic === 'callevents.invite'), 3000, 'appeared');
      await ctl.answer(call.id);
      await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_start'), 3000, 'changed');
      await ctl.hangup(call.id);
      await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end'), 3000, 'vanished');
      assert.ok(out.messages.every((m) => m.connectionId === call.connectionid));
    });
  });

  describe('era-request', function () {
    it('sends a raw REST request and a raw WebSocket request', async function () {
      const { out, send } = await loadAction(sim, { type: 'era-request', kind: 'rest', method: 'GET', methodType: 'str', path: '/rest/v1/uc/calls', pathType: 'str' });
      send({});
      await out.count(1);
      assert.equal((out.messages[0] as Msg).statusCode, 200);
      assert.ok(Array.isArray((out.messages[0] as Msg).payload));
    });

    it('sends connection_info over the socket', async function () {
      const { out, send } = await loadAction(sim, { type: 'era-request', kind: 'ws', method: 'connection_info', methodType: 'str', body: '{}', bodyType: 'json' });
      send({});
      await out.count(1);
      assert.equal((out.messages[0] as Msg).payload.domain, 'demo.local');
    });
  });
});
