/**
 * examples/15-amocrm-call-log.json in Node-RED, against the simulator (calls rung, answered,
 * transferred and ended there: ringing pops the card, era-call-log's record logs the call) and
 * an amoCRM stand-in written from the vendor's pages (standins/amocrm.ts).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRed, stopRed } from '../support/red';
import { forgetNodeApp } from '../support/http-nodes';
import { simulator, type SimCall, type SimControl, type Simulator } from '../support/sim';
import { AmoCrmStandIn } from './standins/amocrm';
import { deliver, errorMatching, errorTexts, eventually, flowContext, helper, Inbox, loadExample, logText, RECORDS, recordOf, setEnv } from './support';

const FILE = '15-amocrm-call-log.json';
const USERS = { 101: 1111, 102: 2222 };

describe('CRM: amoCRM / Kommo (examples/15)', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let amo: AmoCrmStandIn;
  let restoreEnv: () => void;
  let callLog: string[];
  let done: Inbox;
  let skipped: Inbox;
  let errors: Inbox;
  let records: Inbox;

  afterEach(async function () {
    await stopRed();
    forgetNodeApp();
    restoreEnv();
    await amo.stop();
    await sim.stop();
  });

  async function start(env: Record<string, string> = {}): Promise<void> {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    amo = await new AmoCrmStandIn().start();
    restoreEnv = setEnv({ AMOCRM_URL: amo.url, AMOCRM_USERS: JSON.stringify(USERS), CRM_RETRY_BASE_MS: '50', ...env });
    await startRed();
    callLog = await loadExample(FILE, {
      simUrl: sim.url,
      helpers: ['ex15-done', 'ex15-skipped', 'ex15-errors-debug'],
      credentials: { 'ex15-http': { user: '', password: amo.token } },
    });
    done = new Inbox('ex15-done');
    skipped = new Inbox('ex15-skipped');
    errors = new Inbox('ex15-errors-debug');
    records = new Inbox(RECORDS);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the flow subscribed to events');
  }

  async function logged(n: number): Promise<Array<Record<string, unknown>>> {
    await eventually(() => amo.calls.length + amo.unmatched.length >= n, 5000, `${n} calls logged`);
    return [...amo.calls, ...amo.unmatched];
  }

  /** A call from `from` that nobody answered (inbound: missed). */
  async function ended(from: string, to = '101', extra: Record<string, unknown> = {}, reason = 'cancel'): Promise<SimCall> {
    const call = await ctl.startCall({ from, to, ...extra });
    await ctl.hangup(call.id, reason);
    return call;
  }

  /** An outbound call from 102 to `to`, ended as `reason` without an answer. */
  const outbound = (to: string, reason: string) => ended('102', to, { dir: 'out' }, reason);

  const recordsOf = (call: SimCall) => records.messages.filter((m) => m.connectionId === call.connectionid);

  it('a ringing inbound call pops the card to the operator who rings (everybody when the extension is not mapped); not an outbound one', async function () {
    await start();
    await ctl.startCall({ from: '+7 912 345-67-89', to: '101' });
    await ctl.startCall({ from: '102', to: '+79123456780', dir: 'out' });
    await ctl.startCall({ from: '+79123456781', to: '103' });
    await eventually(() => amo.pops.length === 2, 5000, 'two screen pops');
    assert.deepEqual(amo.pops, [
      { type: 'phone_call', phone_number: '9123456789', users: [1111] },
      { type: 'phone_call', phone_number: '9123456781' },
    ]);
    const [first] = amo.apiRequests();
    assert.equal(first.headers.authorization, `Bearer ${amo.token}`);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(amo.pops.length, 2, 'no pop for the outbound call');
  });

  it('an answered call goes into the card: direction, uniq, duration, source, phone (last 10 digits), call_status 4, the operator as responsible', async function () {
    await start();
    const call = await ctl.startCall({ from: '+7 912 345-67-89', to: '101', answer: true });
    await sleep(1100);
    await ctl.hangup(call.id);
    const [sent] = await logged(1);
    assert.deepEqual(sent, {
      direction: 'inbound',
      uniq: call.connectionid,
      duration: 1,
      source: 'Era',
      phone: '9123456789',
      call_status: 4,
      call_result: 'Answered by 101, 1 s',
      created_at: Math.floor(Number(call.invitets) / 1000),
      responsible_user_id: 1111,
      created_by: 1111,
      entity_id: 21,
    });
    await done.until((m) => m.some((x) => (x.amo as { then?: string } | undefined)?.then === 'logged'), 5000, 'logged');
    assert.deepEqual(errorTexts(errors), []);
    assert.equal(recordsOf(call).length, 1);
  });

  it('outcome and endReason → call_status, as the README table says; an outbound call is outbound, its caller responsible', async function () {
    await start();
    const cases: Array<[() => Promise<SimCall>, number, string]> = [
      [() => ended('+79123456789'), 6, 'Missed: nobody answered (cancel)'],
      [() => outbound('+79123456789', 'busy'), 7, 'Not answered (busy)'],
      [() => outbound('+79123456789', 'timeout'), 6, 'Not answered (timeout)'],
      [() => ended('+79123456789', '101', {}, 'error'), 3, 'Failed (error)'],
    ];
    for (const [i, [play, status, result]] of cases.entries()) {
      await play();
      const sent = (await logged(i + 1))[i];
      assert.deepEqual([sent.call_status, sent.call_result, sent.duration], [status, result, 0], result);
    }
    // A failure the platform reports with a busy completion (connection_failure): the simulator plays none.
    const failed = await ctl.startCall({ from: '+79123456789', to: '101' });
    deliver(callLog, recordOf(failed, { outcome: 'failed', endReason: 'busy' }));
    const busy = (await logged(cases.length + 1))[cases.length];
    assert.deepEqual([busy.call_status, busy.call_result], [7, 'Failed (busy)']);
    const out = await ctl.startCall({ from: '102', to: '89123456789', dir: 'out', answer: true });
    await ctl.hangup(out.id);
    const sent = (await logged(cases.length + 2))[cases.length + 1];
    assert.deepEqual([sent.direction, sent.phone, sent.responsible_user_id, sent.call_status], ['outbound', '9123456789', 2222, 4]);
  });

  it('a ring group answered by its 2nd phone: that operator is responsible; a transferred call is logged once, its first answerer responsible', async function () {
    await start();
    const call = await ctl.startCall({ from: '+79123456789', to: '200', group: ['101', '102'] });
    await eventually(() => amo.pops.length === 1, 5000, 'the screen pop');
    assert.deepEqual(amo.pops[0], { type: 'phone_call', phone_number: '9123456789' }, 'the group\'s number is nobody\'s: the pop goes to everybody');
    await ctl.call('POST', `calls/${encodeURIComponent(call.id)}/answer`, { by: '102' });
    await ctl.hangup(call.id);
    const [first] = await logged(1);
    assert.deepEqual([first.responsible_user_id, first.call_result], [2222, 'Answered by 102, 0 s']);

    const transferred = await ctl.startCall({ from: '+79123456789', to: '101', answer: true });
    const refer = await fetch(`${sim.url}/rest/v1/uc/calls/${encodeURIComponent(transferred.id)}`, {
      method: 'REFER',
      headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
      body: JSON.stringify({ to: '102' }),
    });
    assert.equal(refer.status, 200);
    await ctl.hangup(transferred.id);
    const [, second] = await logged(2);
    assert.deepEqual([second.uniq, second.responsible_user_id], [transferred.connectionid, 1111]);
    await sleep(200);
    assert.equal(amo.calls.filter((c) => c.uniq === transferred.connectionid).length, 1);
    assert.deepEqual((recordsOf(transferred)[0]!.payload as { transfers: string[] }).transfers, ['102']);
  });

  it('a call that ended during an outage is logged once (its record replayed), the same record again not at all; a ring replayed after an outage pops nothing', async function () {
    await start();
    const facts = new Inbox('ex15-facts');
    const call = await ctl.startCall({ from: '+79123456789', to: '101' });
    await eventually(() => amo.pops.length === 1, 5000, 'the screen pop');
    const down = sim.restart({ downMs: 400 });
    await sleep(50);
    sim.hangupCall(call.id, 'cancel');
    // Rings while the connection is down: its start is made up after the reconnect.
    const unseen = sim.startCall({ from: '+79123456780', to: '102' });
    await down;
    await logged(1);
    assert.equal(recordsOf(call)[0]!.replayed, true);
    deliver(callLog, recordOf(call, { outcome: 'missed', endReason: 'unknown' }));
    await skipped.count(1);
    assert.match(String(skipped.messages[0].reason), /^already sent to amoCRM$/);
    await facts.until((m) => m.some((x) => x.topic === 'callevents.invite' && x.connectionId === unseen.connectionid && x.replayed === true), 5000, 'the made-up ring');
    sim.hangupCall(unseen.id, 'cancel');
    await logged(2);
    assert.equal(amo.pops.length, 1, 'no pop for the ring made up after the outage');
    assert.equal(amo.calls.length + amo.unmatched.length, 2);
  });

  describe('numbers', function () {
    it('+7 912 345-67-89, 89123456789 and 9123456789 are all 9123456789 (the contact\'s card); an extension, no number, anonymous: nothing sent, and why', async function () {
      await start();
      for (const from of ['+7 912 345-67-89', '89123456789', '9123456789']) await ended(from);
      const sent = await logged(3);
      assert.deepEqual(sent.map((c) => [c.phone, c.entity_id]), [['9123456789', 21], ['9123456789', 21], ['9123456789', 21]]);
      for (const [i, from] of ['101', 'anonymous', 'Anonymous'].entries()) {
        const call = await ctl.startCall({ from, to: '101' });
        await skipped.count(2 * i + 1);
        await ctl.hangup(call.id, 'cancel');
        await skipped.count(2 * i + 2);
      }
      // No number at all: the simulator refuses to play it.
      const call = await ctl.startCall({ from: '+79123456789', to: '101' });
      deliver(callLog, recordOf(call, { from: '' }));
      await skipped.count(7);
      assert.deepEqual(skipped.messages.map((m) => m.reason), [
        'no screen pop: internal number 101',
        'not logged: internal number 101',
        'no screen pop: no caller number (anonymous)',
        'not logged: no caller number (anonymous)',
        'no screen pop: no caller number (anonymous)',
        'not logged: no caller number (anonymous)',
        'not logged: no caller number (anonymous)',
      ]);
      assert.equal(amo.calls.length, 3);
    });

    it('a number no card has: amoCRM does not add the call, and the flow says so', async function () {
      await start();
      await ended('+79990001122');
      await skipped.count(1);
      assert.match(String(skipped.messages[0].reason), /amoCRM has no contact or company with the number 9990001122: the call was not added/);
      assert.equal(amo.unmatched.length, 1);
    });
  });

  describe('faults', function () {
    it('401 (the long-lived token revoked): the Catch says so without the token, the record is parked, and goes once the token works again', async function () {
      await start();
      const good = amo.token;
      amo.token = 'another-token';
      await ended('+79123456789');
      await errorMatching(errors, /^amoCRM: POST \/api\/v4\/calls failed: HTTP 401: Invalid user name or password; the long-lived token was refused: generate a new one and put it in the "amoCRM API" node — parked \(2 waiting/);
      assert.ok(errors.messages.every((m) => (m.error as { code?: string }).code === 'CRM_PARKED'), 'the screen pop and the call, both parked');
      assert.ok(!(JSON.stringify(errors.messages) + logText()).includes(good), 'the token is in no error and no log line');
      amo.token = good;
      helper.getNode('ex15-retry').receive({});
      await eventually(() => amo.calls.length === 1 && amo.pops.length === 1, 5000, 'the parked pop and call sent');
      assert.equal(flowContext<unknown[]>('ex15-park', 'amoParked')!.length, 0);
    });

    it('429 with Retry-After: the Catch hears it, the request waits that long and goes through', async function () {
      await start();
      amo.inject({ status: 429, body: { title: 'Too Many Requests', status: 429 }, headers: { 'Retry-After': '1' }, count: 1, matches: (r) => r.path === '/api/v4/calls' });
      await ended('+79123456789');
      await logged(1);
      const tries = amo.requests('/api/v4/calls');
      assert.deepEqual(tries.map((r) => r.status), [429, 200]);
      assert.ok(tries[1].at - tries[0].at >= 950, `waited the second Retry-After asked for (${tries[1].at - tries[0].at} ms)`);
      await errorMatching(errors, /^amoCRM: POST \/api\/v4\/calls failed: HTTP 429: Too Many Requests; retrying in 1 s/);
    });

    it('500: the Catch hears it, the record is sent again after a pause and logged once', async function () {
      await start();
      amo.inject({ status: 500, body: 'Internal Server Error', count: 2, matches: (r) => r.path === '/api/v4/calls' });
      await ended('+79123456789');
      await logged(1);
      assert.deepEqual(amo.requests('/api/v4/calls').map((r) => r.status), [500, 500, 200]);
      assert.equal(errorTexts(errors).length, 1, 'one report per record, not one per attempt');
      assert.match(errorTexts(errors)[0], /HTTP 500: Internal Server Error; retrying in/);
    });

    it('20 records at once leave at most 7 a second: amoCRM never refuses one', async function () {
      await start();
      // Outbound: no screen pops, only the 20 calls.
      for (let i = 0; i < 20; i++) sim.hangupCall(sim.startCall({ from: '102', to: '+79123456789', dir: 'out' }).id, 'cancel');
      await eventually(() => amo.calls.length === 20, 10000, '20 calls logged');
      assert.equal(amo.rateLimited, 0);
      const times = amo.apiRequests().map((r) => r.at);
      const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
      assert.ok(busiest <= 7, `at most 7 in any second (saw ${busiest})`);
    });
  });
});
