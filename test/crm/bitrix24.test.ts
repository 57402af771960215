/**
 * examples/14-bitrix24-call-log.json in Node-RED, against the simulator (calls rung, answered,
 * transferred, recorded and ended there; click-to-call dials) and a Bitrix24 stand-in written
 * from the vendor's reference (standins/bitrix24.ts). The records are era-call-log's own.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordingAudio } from '../../src/simulator/recordings';
import { startRed, stopRed } from '../support/red';
import { forgetNodeApp, startNodeFront, type NodeFront } from '../support/http-nodes';
import { simulator, type SimCall, type SimControl, type Simulator } from '../support/sim';
import { Bitrix24StandIn } from './standins/bitrix24';
import { type LoadOptions, deliver, errorMatching, errorTexts, eventually, flowContext, helper, Inbox, loadExample, logText, RECORDS, recordOf, redeploy, setEnv } from './support';

const FILE = '14-bitrix24-call-log.json';

describe('CRM: Bitrix24 (examples/14)', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let b24: Bitrix24StandIn;
  let front: NodeFront;
  let restoreEnv: () => void;
  let callLog: string[];
  let done: Inbox;
  let skipped: Inbox;
  let errors: Inbox;
  let records: Inbox;
  let loadOptions: LoadOptions;

  before(async function () {
    front = await startNodeFront();
  });

  after(async function () {
    await front.close();
  });

  afterEach(async function () {
    await stopRed();
    forgetNodeApp();
    restoreEnv();
    await b24.stop();
    await sim.stop();
  });

  /** Starts everything; the pace is raised so that tests do not wait on the 2-a-second limit. */
  async function start(opts: { b24?: ConstructorParameters<typeof Bitrix24StandIn>[0]; env?: Record<string, string>; perSecond?: number; install?: boolean } = {}): Promise<void> {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    b24 = await new Bitrix24StandIn(opts.b24).start();
    restoreEnv = setEnv({
      BITRIX24_CLIENT_ID: b24.clientId,
      BITRIX24_CLIENT_SECRET: b24.clientSecret,
      BITRIX24_OAUTH_URL: `${b24.url}/oauth/token/`,
      BITRIX24_OPERATORS: JSON.stringify({ 1: '101', 2: '102' }),
      NODE_RED_PUBLIC_URL: front.base,
      CRM_RETRY_BASE_MS: '50',
      ...opts.env,
    });
    await startRed();
    loadOptions = {
      simUrl: sim.url,
      helpers: ['ex14-done', 'ex14-skipped', 'ex14-errors-debug'],
      patch: { 'ex14-pace': { rate: String(opts.perSecond ?? 50) } },
    };
    callLog = await loadExample(FILE, loadOptions);
    done = new Inbox('ex14-done');
    skipped = new Inbox('ex14-skipped');
    errors = new Inbox('ex14-errors-debug');
    records = new Inbox(RECORDS);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the flow subscribed to events');
    if (opts.install !== false) {
      const installed = await b24.install(`${front.base}/bitrix24/install`);
      assert.equal(installed.status, 200, installed.text);
      await eventually(() => (b24.handlers.get('ONEXTERNALCALLSTART') ?? []).length === 1, 5000, 'event.bind for click-to-call');
    }
  }

  const registers = () => b24.calls('telephony.externalcall.register').filter((c) => c.status === 200);
  const finishes = () => b24.calls('telephony.externalcall.finish');

  /** Rings `to` from `from` and waits for the register the ringing causes. */
  async function ring(from: string, to = '101', extra: Record<string, unknown> = {}): Promise<{ call: SimCall; callId: string }> {
    const before = registers().length;
    const call = await ctl.startCall({ from, to, ...extra });
    await eventually(() => registers().length > before, 5000, `register for ${from}`);
    const reg = [...b24.registered.values()].find((r) => r.params.EXTERNAL_CALL_ID === call.connectionid);
    assert.ok(reg, 'registered with EXTERNAL_CALL_ID = the connectionId');
    return { call, callId: reg.CALL_ID };
  }

  async function finished(callId: string): Promise<Record<string, unknown>> {
    await eventually(() => b24.finished.has(callId), 5000, `finish of ${callId}`);
    return b24.finished.get(callId)!.params;
  }

  /** era-call-log's records of the call so far. */
  const recordsOf = (call: SimCall) => records.messages.filter((m) => m.connectionId === call.connectionid);

  /** Answered, a conversation of `talkMs`, hung up. */
  async function talk(call: SimCall, talkMs = 0): Promise<void> {
    await ctl.answer(call.id);
    if (talkMs > 0) await sleep(talkMs);
    await ctl.hangup(call.id);
  }

  /** REFER over the platform's REST API, as any client would send it. */
  async function refer(call: SimCall, to: string): Promise<void> {
    const res = await fetch(`${sim.url}/rest/v1/uc/calls/${encodeURIComponent(call.id)}`, {
      method: 'REFER',
      headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
      body: JSON.stringify({ to }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  it('an answered inbound call: register while it rings (the card pops), finish 200 with the talk time, no recording to attach', async function () {
    await start();
    const { call, callId } = await ring('+79123456789');
    const reg = b24.registered.get(callId)!;
    assert.equal(reg.params.USER_PHONE_INNER, '101');
    assert.equal(reg.params.PHONE_NUMBER, '+79123456789');
    assert.equal(reg.params.TYPE, 2);
    assert.equal(reg.params.CRM_CREATE, 1);
    assert.equal(reg.params.SHOW, 1);
    assert.match(String(reg.params.CALL_START_DATE), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(Math.abs(Date.parse(String(reg.params.CALL_START_DATE)) - Number(call.invitets)) < 1000, true, 'CALL_START_DATE is when the call started');
    assert.deepEqual(reg.entity, { type: 'CONTACT', id: 797 }, 'the portal matched the contact stored as +79123456789');

    await talk(call, 1100);
    const params = await finished(callId);
    assert.deepEqual({ ...params, auth: undefined }, { CALL_ID: callId, USER_PHONE_INNER: '101', DURATION: 1, STATUS_CODE: '200', auth: undefined });
    await done.until((m) => m.some((x) => (x.b24 as { then?: string } | undefined)?.then === 'finished'), 5000, 'the finished call');
    assert.equal(flowContext<Record<string, unknown>>('ex14-register', 'b24Calls')?.[call.connectionid], undefined, 'its CALL_ID is forgotten once finished');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(b24.calls('telephony.externalcall.attachrecord'), [], 'no recording key: nothing to attach');
    assert.deepEqual(errorTexts(errors), []);
    assert.equal(recordsOf(call).length, 1, 'one record');
  });

  it('a missed call: finish 304 with no talk time and the reason; the number written the national way reached Bitrix24 in E.164', async function () {
    await start();
    const { call, callId } = await ring('89123456789');
    assert.equal(b24.registered.get(callId)!.params.PHONE_NUMBER, '+79123456789');
    await ctl.hangup(call.id, 'cancel');
    const params = await finished(callId);
    assert.deepEqual({ ...params, auth: undefined }, { CALL_ID: callId, USER_PHONE_INNER: '101', DURATION: 0, STATUS_CODE: '304', FAILED_REASON: 'missed (cancel)', auth: undefined });
  });

  it('outcome and endReason → STATUS_CODE, as the README table says', async function () {
    await start();
    // [direction, how the platform ended it, the outcome era-call-log gives it, STATUS_CODE]
    const cases: Array<['in' | 'out', string, string, string]> = [
      ['out', 'busy', 'unanswered', '486'],
      ['out', 'cancel', 'unanswered', '603-S'],
      ['out', 'timeout', 'unanswered', '304'],
      ['in', 'error', 'failed', 'OTHER'],
    ];
    for (const [dir, reason, outcome, status] of cases) {
      const { call, callId } = dir === 'in' ? await ring('+79990001111', '101') : await ring('102', '+79990001111', { dir: 'out' });
      await ctl.hangup(call.id, reason);
      const params = await finished(callId);
      assert.deepEqual([params.STATUS_CODE, params.FAILED_REASON, params.DURATION], [status, `${outcome} (${reason})`, 0], `${dir} ${reason}`);
    }
    // A failure the platform reports with a busy completion (connection_failure): the simulator plays none.
    const failed = await ring('+79990001112', '101');
    deliver(callLog, recordOf(failed.call, { outcome: 'failed', endReason: 'busy' }));
    assert.equal((await finished(failed.callId)).STATUS_CODE, '486');
  });

  it('an outbound call: TYPE 1, the operator is the caller', async function () {
    await start();
    const { call, callId } = await ring('102', '+7 912 345-67-89', { dir: 'out' });
    const reg = b24.registered.get(callId)!;
    assert.deepEqual([reg.params.TYPE, reg.params.USER_PHONE_INNER, reg.params.PHONE_NUMBER], [1, '102', '+79123456789']);
    await talk(call, 1100);
    const params = await finished(callId);
    assert.deepEqual([params.USER_PHONE_INNER, params.DURATION, params.STATUS_CODE], ['102', 1, '200']);
  });

  it('a ring group answered by its 2nd phone: no card for the group\'s number while it rings; registered and finished under the phone that answered', async function () {
    await start();
    const call = await ctl.startCall({ from: '+79123456789', to: '200', group: ['101', '102'] });
    await skipped.until((m) => m.some((x) => /^ringing 200, no operator's phone/.test(String(x.reason))), 5000, 'no register for the group number');
    await ctl.call('POST', `calls/${encodeURIComponent(call.id)}/answer`, { by: '102' });
    await ctl.hangup(call.id);
    await eventually(() => b24.finished.size === 1, 5000, 'the finish');
    const [fin] = [...b24.finished.values()];
    assert.deepEqual([fin.registration.params.USER_PHONE_INNER, fin.registration.params.SHOW, fin.registration.params.EXTERNAL_CALL_ID], ['102', 0, call.connectionid]);
    assert.deepEqual([fin.params.USER_PHONE_INNER, fin.params.STATUS_CODE], ['102', '200']);
    assert.equal(b24.calls('telephony.externalcall.register').length, 1, 'one register for the call, whatever rang');
    const [record] = recordsOf(call);
    assert.deepEqual([(record!.payload as Record<string, unknown>).to, (record!.payload as Record<string, unknown>).answeredBy], ['102', '102']);
  });

  it('another phone picks up the call ringing at 101: registered for the phone that rang, finished by the one that answered', async function () {
    await start();
    const { call, callId } = await ring('+79123456789', '101');
    assert.equal(b24.registered.get(callId)!.params.USER_PHONE_INNER, '101');
    await ctl.call('POST', `calls/${encodeURIComponent(call.id)}/pickup`, { by: '102' });
    await ctl.hangup(call.id);
    const params = await finished(callId);
    assert.equal(params.USER_PHONE_INNER, '102');
    assert.equal(registers().length, 1, 'one register for the call, whatever rang');
  });

  it('a transferred call is one record: one register, one finish, by the phone that answered first', async function () {
    await start();
    const { call, callId } = await ring('+79123456789', '101');
    await ctl.answer(call.id);
    await refer(call, '103');
    await sleep(1100);
    await ctl.hangup(call.id);
    const params = await finished(callId);
    assert.deepEqual([params.USER_PHONE_INNER, params.DURATION, params.STATUS_CODE], ['101', 1, '200']);
    await sleep(150);
    assert.equal(registers().length, 1);
    assert.equal(finishes().length, 1);
    const [record] = recordsOf(call).map((m) => m.payload as Record<string, unknown>);
    assert.deepEqual([record!.to, record!.answeredBy, record!.transfers], ['103', '101', ['103']]);
  });

  it('a recorded call: finish, then attachRecord with the base64 of the bytes the simulator serves; never a RECORD_URL', async function () {
    await start();
    const { call, callId } = await ring('+79123456789', '101', { record: true });
    await talk(call);
    const ended = await ctl.getCall(call.id);
    assert.ok(ended.recordingKey, 'the simulator recorded the call');
    await eventually(() => b24.attachments.length === 1, 5000, 'attachRecord');
    const [attached] = b24.attachments;
    assert.equal(attached.CALL_ID, callId);
    assert.equal(attached.RECORD_URL, undefined);
    assert.match(String(attached.FILENAME), /\.mp3$/);
    assert.ok(attached.content!.equals(recordingAudio(ended.recordingKey!)), 'the very bytes of the recording');
    const order = b24.calls().map((c) => c.method);
    assert.ok(order.indexOf('telephony.externalcall.finish') < order.indexOf('telephony.externalcall.attachrecord'), 'attached after finish');
  });

  it('a call that ended during an outage: its replayed record is finished once, and the same record again is not sent twice', async function () {
    await start();
    const { call, callId } = await ring('+79123456789');
    const down = sim.restart({ downMs: 400 });
    await sleep(50);
    sim.hangupCall(call.id, 'cancel');
    await down;
    const params = await finished(callId);
    assert.deepEqual([params.STATUS_CODE, params.FAILED_REASON], ['304', 'missed (unknown)']);
    assert.equal(recordsOf(call)[0]!.replayed, true);
    // A copy of a record (from a second call log, a replayed flow): the flow sends it once.
    const record = recordOf(call, { outcome: 'missed', endReason: 'unknown' });
    deliver(callLog, record, { replayed: true });
    deliver(callLog, record);
    await skipped.count(2);
    assert.match(String(skipped.messages[0].reason), /already sent to Bitrix24 \(a replayed record\)/);
    assert.equal(finishes().length, 1);
  });

  it('a call whose ringing was never heard, ended during an outage: registered late (no card pops), then finished once', async function () {
    await start();
    // The platform's events are lost while it rings; the answer is heard, the end is not.
    sim.setFaults({ dropEvents: true });
    const call = await ctl.startCall({ from: '+79123456789', to: '101' });
    sim.setFaults({ dropEvents: null });
    await ctl.answer(call.id);
    await sleep(200);
    const down = sim.restart({ downMs: 400 });
    await sleep(50);
    sim.hangupCall(call.id);
    await down;
    await eventually(() => b24.finished.size === 1, 10_000, 'the late finish');
    const [fin] = [...b24.finished.values()];
    assert.equal(fin.registration.params.SHOW, 0);
    assert.equal(fin.registration.params.EXTERNAL_CALL_ID, call.connectionid);
    assert.deepEqual([fin.params.STATUS_CODE, fin.params.USER_PHONE_INNER], ['200', '101']);
    assert.equal(b24.calls('telephony.externalcall.register').length, 1);
    assert.equal(recordsOf(call)[0]!.replayed, true);
  });

  it('a record that arrives while its register is still on the way waits for the CALL_ID', async function () {
    await start();
    // The portal answers the register only after a second: the record comes first.
    b24.inject({ status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }, headers: { 'Retry-After': '1' }, count: 1 });
    const call = await ctl.startCall({ from: '+79123456789', to: '101' });
    await eventually(() => b24.calls('telephony.externalcall.register').length === 1, 5000, 'the first register');
    await ctl.hangup(call.id, 'cancel');
    await eventually(() => b24.finished.size === 1, 5000, 'the finish');
    const [fin] = [...b24.finished.values()];
    assert.equal(fin.registration.params.EXTERNAL_CALL_ID, call.connectionid);
    assert.equal(registers().length, 1, 'registered once');
  });

  it('a redeploy between the ringing and the record: the CALL_ID is kept, the call is finished once', async function () {
    await start();
    const { call, callId } = await ring('+79123456789');
    await eventually(() => flowContext<Record<string, { state: string }>>('ex14-register', 'b24Calls')?.[call.connectionid]?.state === 'registered', 5000, 'the CALL_ID kept');
    await redeploy(FILE, loadOptions);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed again');
    await talk(call);
    assert.equal((await finished(callId)).STATUS_CODE, '200');
    assert.equal(registers().length, 1);
  });

  describe('numbers', function () {
    it('+7 912 345-67-89, 89123456789 and 9123456789 all reach Bitrix24 as +79123456789; an extension, no number and anonymous are not sent', async function () {
      await start();
      for (const from of ['+7 912 345-67-89', '89123456789', '9123456789']) {
        const { callId } = await ring(from);
        assert.equal(b24.registered.get(callId)!.params.PHONE_NUMBER, '+79123456789', from);
        assert.deepEqual(b24.registered.get(callId)!.entity, { type: 'CONTACT', id: 797 }, `${from}: matched the contact`);
      }
      // The simulator refuses an empty number: the records' test below has it.
      for (const from of ['101', 'anonymous', 'Anonymous']) await ctl.startCall({ from, to: '102' });
      await skipped.count(3);
      assert.deepEqual(skipped.messages.map((m) => m.reason), ['internal number 101', 'no caller number (anonymous)', 'no caller number (anonymous)']);
      assert.equal(registers().length, 3);
    });

    it('records with no usable number are not finished, and say why (a pasted line break, letters, nothing)', async function () {
      await start();
      const call = await ctl.startCall({ from: 'Anonymous', to: '101' });
      await skipped.count(1);
      await ctl.hangup(call.id, 'cancel');
      await skipped.count(2);
      // Numbers the simulator refuses to play.
      for (const from of ['', 'abc\n', '\n', ' ']) deliver(callLog, recordOf(call, { outcome: 'missed', from }));
      await skipped.count(6);
      assert.deepEqual(skipped.messages.slice(1).map((m) => m.reason), ['no caller number (anonymous)', 'no caller number (anonymous)', 'no caller number ("abc")', 'no caller number (anonymous)', 'no caller number (anonymous)']);
      assert.deepEqual(b24.calls().map((c) => c.method), ['event.bind'], 'nothing but the install\'s event.bind reached the portal');
    });

    it('a connectionId that is not Era\'s shape is refused before it becomes a context key; a pasted line break after the operator\'s number is trimmed', async function () {
      await start();
      // What no platform sends, and a hostile one might: handed to the flow while the call still rings.
      const { call, callId } = await ring('+79123456789');
      deliver(callLog, recordOf(call, { connectionId: '__proto__' }));
      await skipped.count(1);
      assert.equal(skipped.messages[0].reason, 'no usable connectionId on the message');
      deliver(callLog, recordOf(call, { answeredBy: '102\r\n' }));
      assert.equal((await finished(callId)).USER_PHONE_INNER, '102');
    });
  });

  describe('click-to-call', function () {
    it('a wrong application_token is refused (401) and nothing is dialled; the right one is answered at once, dialled from the user\'s extension, and finished with the portal\'s CALL_ID', async function () {
      await start();
      await ctl.clearRequests();
      const forged = await b24.clickToCall({ userId: 1, phone: '+79123456789', applicationToken: 'forged' });
      assert.equal(forged.answers[0].status, 401);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual((await ctl.requests()).filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/calls')), [], 'nothing dialled');

      const click = await b24.clickToCall({ userId: 1, phone: '+79123456789' });
      assert.equal(click.answers[0].status, 200);
      let dial: { path: string; body: unknown } | undefined;
      await eventually(async () => {
        dial = (await ctl.requests()).find((r) => r.kind === 'rest' && r.method === 'POST' && r.path === '/rest/v1/uc/calls');
        return dial !== undefined;
      }, 5000, 'the dial');
      assert.deepEqual(dial!.body, { from: '101', to: '+79123456789' });
      await done.until((m) => m.some((x) => (x.payload as { CALL_ID?: string } | null)?.CALL_ID === click.callId), 5000, 'dialled');
      const placed = (await ctl.call<SimCall[]>('GET', 'calls')).find((c) => c.fromnum === '101');
      assert.ok(placed);
      await talk(placed, 1100);
      const params = await finished(click.callId);
      assert.deepEqual([params.USER_PHONE_INNER, params.STATUS_CODE, params.DURATION], ['101', '200', 1]);
      assert.equal(registers().length, 0, 'the portal registered the call itself: no register from the flow');
      assert.ok(!logText().includes(b24.accessToken) && !logText().includes(b24.refreshToken), 'the event\'s tokens are not logged');
    });

    it('a user with no extension: the portal is answered, nothing is dialled, the Catch says what to set', async function () {
      await start();
      await ctl.clearRequests();
      const click = await b24.clickToCall({ userId: 3, phone: '+79123456789' });
      assert.equal(click.answers[0].status, 200);
      await errorMatching(errors, /no extension for Bitrix24 user 3: add it to BITRIX24_OPERATORS/);
      assert.deepEqual((await ctl.requests()).filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/calls')), []);
    });
  });

  describe('install', function () {
    it('keeps the tokens and binds the click-to-call handler; refuses a second application, and anything that is not ONAPPINSTALL', async function () {
      await start();
      assert.deepEqual(b24.calls('event.bind')[0].params.handler, `${front.base}/bitrix24/click-to-call`);
      const auth = flowContext<Record<string, unknown>>('ex14-install', 'b24Auth')!;
      assert.equal(auth.accessToken, b24.accessToken);
      const other = new Bitrix24StandIn();
      await other.start();
      try {
        const refused = await other.install(`${front.base}/bitrix24/install`);
        assert.equal(refused.status, 403);
        assert.match(refused.text, /already installed with another application_token/);
      } finally {
        await other.stop();
      }
      const junk = await fetch(`${front.base}/bitrix24/install`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'event=ONCRMDEALADD' });
      assert.equal(junk.status, 400);
      assert.equal(flowContext<Record<string, unknown>>('ex14-install', 'b24Auth')!.accessToken, b24.accessToken, 'the tokens kept are the first ones');
    });

    it('not installed yet: the request is parked with the reason, and goes once installed and retried', async function () {
      await start({ install: false });
      const { call } = { call: await ctl.startCall({ from: '+79123456789', to: '101' }) };
      await errorMatching(errors, /^Bitrix24: the application is not installed yet \(no access token\) — parked/);
      assert.equal(flowContext<unknown[]>('ex14-park', 'b24Parked')!.length, 1);
      await b24.install(`${front.base}/bitrix24/install`);
      helper.getNode('ex14-retry').receive({});
      await eventually(() => registers().length === 1, 5000, 'the parked register');
      assert.equal([...b24.registered.values()][0].params.EXTERNAL_CALL_ID, call.connectionid);
    });
  });

  describe('faults', function () {
    /** Calls from these numbers ring, the access token expires, then they all end at once: their records meet it together. */
    async function endAfterExpiry(froms: string[]): Promise<void> {
      const calls: Array<{ call: SimCall; callId: string }> = [];
      for (const from of froms) calls.push(await ring(from));
      b24.expireAccessToken();
      for (const { call } of calls) sim.answerCall(call.id);
      for (const { call } of calls) sim.hangupCall(call.id);
      await eventually(() => b24.finished.size === froms.length, 5000, 'every finish');
    }

    it('expired_token: one renewal for all the requests that found it expired, then each goes again once', async function () {
      // The portal answers expired_token only once all three finishes have asked: a finish sent
      // after the first answer would rightly wait for the renewal instead (CI once saw 2 of 3).
      await start({ b24: { oauthDelayMs: 300, expiredTogether: 3 }, perSecond: 1000 });
      await endAfterExpiry(['+79123456781', '+79123456782', '+79123456783']);
      assert.equal(b24.refreshes, 1, 'one renewal');
      const attempts = finishes();
      assert.equal(attempts.filter((c) => c.status === 401).length, 3, 'all three found the token expired');
      assert.equal(attempts.length, 6, 'each sent again once');
      assert.deepEqual(errorTexts(errors), [], 'a renewal is no error');
    });

    it('expired_token answered after the renewal it started is through: sent again with the new token, no second renewal', async function () {
      // Two finishes leave with the old token; the first's 401 starts the renewal (300 ms), the
      // second's comes back 1.5 s later, when the token is new already.
      await start({ b24: { oauthDelayMs: 300, expiredAnswerDelaysMs: [0, 1500] }, perSecond: 1000 });
      await endAfterExpiry(['+79123456781', '+79123456782']);
      assert.equal(b24.refreshes, 1, 'one renewal');
      const attempts = finishes();
      assert.deepEqual(attempts.map((c) => c.status), [401, 401, 200, 200]);
      assert.deepEqual(errorTexts(errors), [], 'a renewal is no error');
    });

    it('the renewal refused (invalid_grant): the Catch says so, the record is parked, and goes once the application is installed again', async function () {
      await start();
      const { call, callId } = await ring('+79123456789');
      b24.expireAccessToken();
      b24.revokeRefreshToken();
      await talk(call);
      await errorMatching(errors, /^Bitrix24: token renewal failed: HTTP 400 invalid_grant: Invalid grant; install the application again.*parked/);
      assert.equal(flowContext<unknown[]>('ex14-park', 'b24Parked')!.length, 1);
      helper.getNode('ex14-forget-btn').receive({});
      await eventually(() => flowContext('ex14-install', 'b24Auth') === undefined, 5000, 'forgotten');
      await b24.install(`${front.base}/bitrix24/install`);
      helper.getNode('ex14-retry').receive({});
      await finished(callId);
      const text = JSON.stringify(errors.messages) + logText();
      for (const secret of [b24.clientSecret, b24.refreshToken, b24.accessToken]) assert.ok(!text.includes(secret), 'no secret in an error or a log line');
    });

    it('QUERY_LIMIT_EXCEEDED with Retry-After: the Catch hears it, the request waits that long and goes through', async function () {
      await start();
      const { call, callId } = await ring('+79123456789');
      b24.inject({ status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }, headers: { 'Retry-After': '1' }, count: 1 });
      await talk(call);
      await finished(callId);
      const tries = b24.requests((r) => r.path.endsWith('telephony.externalcall.finish'));
      assert.deepEqual(tries.map((r) => r.status), [503, 200]);
      assert.ok(tries[1].at - tries[0].at >= 950, `waited the second Retry-After asked for (${tries[1].at - tries[0].at} ms)`);
      await errorMatching(errors, /^Bitrix24: telephony.externalcall.finish failed: HTTP 503 QUERY_LIMIT_EXCEEDED: Too many requests; retrying in 1 s/);
      assert.equal(errors.messages[0].error && (errors.messages[0].error as { code?: string }).code, 'CRM_RETRYING');
    });

    it('HTTP 500 again and again: retried with backoff, then parked; Retry parked sends it once the portal is back', async function () {
      await start({ env: { CRM_RETRY_ATTEMPTS: '3' } });
      const { call, callId } = await ring('+79123456789');
      b24.inject({ status: 500, body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' }, count: 3 });
      await talk(call);
      await errorMatching(errors, /gave up after 3 attempts.*parked \(1 waiting/);
      assert.match(errorTexts(errors)[0], /HTTP 500 INTERNAL_SERVER_ERROR.*retrying in/);
      const tries = b24.requests((r) => r.path.endsWith('telephony.externalcall.finish'));
      assert.equal(tries.length, 3);
      // CRM_RETRY_BASE_MS is 50: the pauses are at least 50 ms, then 100 ms.
      assert.ok(tries[1].at - tries[0].at >= 45 && tries[2].at - tries[1].at >= 95, `the pause doubles (${tries[1].at - tries[0].at} ms, ${tries[2].at - tries[1].at} ms)`);
      helper.getNode('ex14-retry').receive({});
      await finished(callId);
      assert.equal(flowContext<unknown[]>('ex14-park', 'b24Parked')!.length, 0);
    });

    it('a token the portal does not know (NO_AUTH_FOUND) is not retried: parked at once, with the portal\'s words', async function () {
      await start();
      b24.inject({ status: 401, body: { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' }, count: 1 });
      await ctl.startCall({ from: '+79123456789', to: '101' });
      await errorMatching(errors, /register failed: HTTP 401 NO_AUTH_FOUND: Wrong authorization data — parked/);
      assert.equal(b24.calls('telephony.externalcall.register').length, 1);
    });

    it('the portal unreachable: retried; the request is not lost', async function () {
      await start({ env: { CRM_RETRY_ATTEMPTS: '2' } });
      const auth = flowContext<Record<string, unknown>>('ex14-install', 'b24Auth')!;
      auth.clientEndpoint = 'http://127.0.0.1:9/rest/';
      await ctl.startCall({ from: '+79123456789', to: '101' });
      await errorMatching(errors, /register failed: no answer \(ECONNREFUSED\).*parked/);
      auth.clientEndpoint = `${b24.url}/rest/`;
      helper.getNode('ex14-retry').receive({});
      await eventually(() => registers().length === 1, 5000, 'register once the portal is back');
    });
  });
});
