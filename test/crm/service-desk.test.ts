/**
 * examples/16-service-desk-callbacks.json in Node-RED, with records of calls the simulator
 * played, against a Zammad stand-in written from Zammad's REST reference (standins/zammad.ts).
 */
import assert from 'node:assert/strict';
import { startRed, stopRed } from '../support/red';
import { forgetNodeApp } from '../support/http-nodes';
import { simulator, type SimCall, type SimControl, type Simulator } from '../support/sim';
import { ZammadStandIn } from './standins/zammad';
import { type CallRecord, deliver, errorMatching, errorTexts, eventually, flowContext, helper, Inbox, loadExample, logText, recordOf, redeploy, setEnv } from './support';

const FILE = '16-service-desk-callbacks.json';
const MINUTE = 60_000;

interface CallerState {
  tickets: number[];
  creating: number;
  lastMissed?: number;
}

describe('CRM: service desk callbacks on Zammad (examples/16)', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let desk: ZammadStandIn;
  let restoreEnv: () => void;
  let callLog: string[];
  let done: Inbox;
  let skipped: Inbox;
  let errors: Inbox;
  const helpers = ['ex16-done', 'ex16-skipped', 'ex16-errors-debug'];

  afterEach(async function () {
    await stopRed();
    forgetNodeApp();
    restoreEnv();
    await desk.stop();
    await sim.stop();
  });

  async function start(env: Record<string, string> = {}): Promise<void> {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    desk = await new ZammadStandIn().start();
    restoreEnv = setEnv({
      ZAMMAD_URL: desk.url,
      ZAMMAD_TOKEN: desk.token,
      ZAMMAD_CUSTOMER: 'callbacks@example.com',
      ZAMMAD_GROUP: 'Callbacks',
      CRM_RETRY_BASE_MS: '50',
      ...env,
    });
    await startRed();
    callLog = await loadExample(FILE, { simUrl: sim.url, helpers });
    done = new Inbox('ex16-done');
    skipped = new Inbox('ex16-skipped');
    errors = new Inbox('ex16-errors-debug');
  }

  let base = 0;
  /** A call from `from` that nobody answered, `minutes` after the first one of the test. */
  async function missed(from: string, minutes = 0, over: Partial<CallRecord> = {}): Promise<CallRecord> {
    const call = await ctl.startCall({ from, to: '101' });
    await ctl.hangup(call.id, 'cancel');
    base ||= Number(call.invitets);
    return recordOf(call, { outcome: 'missed', endReason: 'cancel', ringSeconds: 12, startedAt: base + minutes * MINUTE, ...over });
  }

  async function answered(from: string, over: Partial<CallRecord> = {}): Promise<CallRecord> {
    const call: SimCall = await ctl.startCall({ from, to: '101', answer: true });
    await ctl.hangup(call.id);
    return recordOf(call, over);
  }

  const caller = (number: string) => flowContext<Record<string, CallerState>>('ex16-missed', 'deskCallers')?.[number];

  beforeEach(function () {
    base = 0;
  });

  it('a missed call becomes a callback ticket: title, group, customer, a phone article with the details', async function () {
    await start();
    const record = await missed('+79123456789');
    deliver(callLog, record);
    await eventually(() => desk.tickets.size === 1, 5000, 'a ticket');
    const ticket = desk.tickets.get(1)!;
    assert.deepEqual([ticket.title, ticket.group, ticket.customer, ticket.state], ['Call back +79123456789', 'Callbacks', 'callbacks@example.com', 'new']);
    assert.equal(ticket.articles.length, 1);
    const article = ticket.articles[0];
    assert.deepEqual([article.subject, article.type, article.internal], ['Missed call', 'phone', false]);
    assert.equal(article.body, `Missed call from +79123456789 to 101 at ${new Date(record.startedAt).toISOString()}, rang 12 s (connection ${record.connectionId}).`);
    assert.equal(desk.requests('/api/v1/tickets')[0].headers.authorization, `Token token=${desk.token}`);
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'the ticket kept with the caller');
    await done.until((m) => m.some((x) => (x.desk as { then?: string } | undefined)?.then === 'created' && (x.payload as { id?: number }).id === 1), 5000, 'the created ticket');
    assert.deepEqual(errorTexts(errors), []);
  });

  it('once per caller per hour: a second missed call within the hour asks nothing; after the hour, a note on the open ticket', async function () {
    await start();
    deliver(callLog, await missed('+79123456789', 0));
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'the first ticket');
    deliver(callLog, await missed('89123456789', 10));
    await skipped.count(1);
    assert.equal(skipped.messages[0].reason, 'a callback for +79123456789 was asked less than 60 minutes before');
    deliver(callLog, await missed('9123456789', 61));
    await eventually(() => desk.tickets.get(1)!.articles.length === 2, 5000, 'a note on the open ticket');
    assert.equal(desk.tickets.size, 1, 'still one ticket');
    assert.deepEqual([desk.tickets.get(1)!.articles[1].subject, desk.tickets.get(1)!.articles[1].type], ['Missed call again', 'phone']);
  });

  it('the caller gets through: the ticket is closed with an internal note, and the guard is lifted', async function () {
    await start();
    deliver(callLog, await missed('+79123456789'));
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const reached = await answered('8 (912) 345-67-89', { talkSeconds: 42 });
    deliver(callLog, reached);
    await eventually(() => desk.tickets.get(1)!.state === 'closed', 5000, 'closed');
    const note = desk.tickets.get(1)!.articles[1];
    assert.deepEqual([note.subject, note.type, note.internal], ['Caller got through', 'note', true]);
    assert.equal(note.body, `The caller got through: answered by 101, talked 42 s (connection ${reached.connectionId}).`);
    await eventually(() => caller('+79123456789') === undefined, 5000, 'the caller forgotten');
    deliver(callLog, await missed('+79123456789', 5));
    await eventually(() => desk.tickets.size === 2, 5000, 'a new ticket for a new missed call');
  });

  it('calling the customer back (an answered outbound call) closes the ticket too', async function () {
    await start();
    deliver(callLog, await missed('+79123456789'));
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const back = await ctl.startCall({ from: '102', to: '+79123456789', dir: 'out', answer: true });
    await ctl.hangup(back.id);
    deliver(callLog, recordOf(back, { answeredBy: '+79123456789', talkSeconds: 30 }));
    await eventually(() => desk.tickets.get(1)!.state === 'closed', 5000, 'closed');
    assert.match(String(desk.tickets.get(1)!.articles[1].body), /^Called back: answered by 102, talked 30 s/);
  });

  it('the caller got through while the ticket was still being created: it is closed as soon as it exists', async function () {
    await start();
    desk.inject({ status: 503, body: { error: 'busy' }, headers: { 'Retry-After': '1' }, count: 1 });
    deliver(callLog, await missed('+79123456789'));
    await eventually(() => desk.requests('/api/v1/tickets').length === 1, 5000, 'the first attempt');
    deliver(callLog, await answered('+79123456789'));
    await eventually(() => desk.tickets.get(1)?.state === 'closed', 5000, 'created, then closed');
    assert.equal(desk.tickets.size, 1);
  });

  it('unanswered outbound and failed calls ask for nothing and close nothing', async function () {
    await start();
    deliver(callLog, await missed('+79123456789'));
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const out = await ctl.startCall({ from: '102', to: '+79123456789', dir: 'out' });
    await ctl.hangup(out.id, 'timeout');
    deliver(callLog, recordOf(out, { outcome: 'unanswered', endReason: 'timeout' }));
    deliver(callLog, await missed('+79990000000', 0, { outcome: 'failed', endReason: 'error' }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(desk.tickets.size, 1);
    assert.equal(desk.tickets.get(1)!.state, 'new');
    assert.equal(skipped.messages.length, 0);
  });

  it('the guard is bounded: beyond DESK_MAX_CALLERS the caller whose missed call is oldest is forgotten, and said so', async function () {
    await start({ DESK_MAX_CALLERS: '3' });
    for (const [i, from] of ['+79990000001', '+79990000002', '+79990000003', '+79990000004'].entries()) {
      deliver(callLog, await missed(from, i));
      await eventually(() => caller(from)?.tickets.length === 1, 5000, `ticket for ${from}`);
    }
    const kept = Object.keys(flowContext<Record<string, CallerState>>('ex16-missed', 'deskCallers')!);
    assert.deepEqual(kept, ['+79990000002', '+79990000003', '+79990000004']);
    assert.match(logText(), /Forgot caller \+79990000001 \(ticket 1 stays open\): more than 3 callers kept/);
  });

  describe('numbers', function () {
    it('+7 912 345-67-89, 89123456789 and 9123456789 are one caller; an extension, no number, anonymous: no callback, and why', async function () {
      await start();
      deliver(callLog, await missed('+7 912 345-67-89', 0));
      await eventually(() => desk.tickets.size === 1, 5000, 'a ticket');
      deliver(callLog, await missed('89123456789', 1));
      deliver(callLog, await missed('9123456789', 2));
      const anyCall = await missed('+79990000000', 3);
      for (const from of ['101', '', 'anonymous', 'Anonymous']) deliver(callLog, { ...anyCall, from });
      await skipped.count(6);
      assert.deepEqual(skipped.messages.map((m) => m.reason), [
        'a callback for +79123456789 was asked less than 60 minutes before',
        'a callback for +79123456789 was asked less than 60 minutes before',
        'internal number 101',
        'no caller number (anonymous): nobody to call back',
        'no caller number (anonymous): nobody to call back',
        'no caller number (anonymous): nobody to call back',
      ]);
      assert.equal(desk.tickets.size, 1);
    });
  });

  describe('faults', function () {
    it('401: the Catch says the token was refused (never showing it); parked, and created once the token works again', async function () {
      await start();
      const good = desk.token;
      desk.token = 'rotated';
      deliver(callLog, await missed('+79123456789'));
      await errorMatching(errors, /^Zammad: POST \/api\/v1\/tickets failed: HTTP 401: Authentication required; the access token was refused: check ZAMMAD_TOKEN — parked \(1 waiting/);
      assert.ok(!(JSON.stringify(errors.messages) + logText()).includes(good), 'the token is in no error and no log line');
      desk.token = good;
      helper.getNode('ex16-retry').receive({});
      await eventually(() => desk.tickets.size === 1, 5000, 'the parked ticket created');
    });

    it('429 with Retry-After and 500: the Catch hears of each record once, the requests wait and go through', async function () {
      await start();
      desk.inject({ status: 429, body: { error: 'Too many requests' }, headers: { 'Retry-After': '1' }, count: 1 });
      desk.inject({ status: 500, body: 'oops', count: 1 });
      deliver(callLog, await missed('+79123456789'));
      await eventually(() => desk.tickets.size === 1, 5000, 'the ticket');
      const tries = desk.requests('/api/v1/tickets');
      assert.deepEqual(tries.map((r) => r.status), [429, 500, 201]);
      assert.ok(tries[1].at - tries[0].at >= 950, `waited the second Retry-After asked for (${tries[1].at - tries[0].at} ms)`);
      assert.deepEqual(errorTexts(errors), ['Zammad: POST /api/v1/tickets failed: HTTP 429: Too many requests; retrying in 1 s (up to 5 more times)']);
    });

    it('a value Zammad cannot use (422): parked at once, with Zammad\'s words', async function () {
      await start({ ZAMMAD_GROUP: 'Nowhere' });
      deliver(callLog, await missed('+79123456789'));
      await errorMatching(errors, /HTTP 422: No lookup value found for 'group': "Nowhere" — parked/);
      assert.equal(desk.requests('/api/v1/tickets').length, 1);
    });

    it('a redeploy while a request waits to be retried: it is parked, not lost, and goes when retried', async function () {
      await start();
      desk.inject({ status: 503, body: { error: 'maintenance' }, headers: { 'Retry-After': '30' }, count: 1 });
      deliver(callLog, await missed('+79123456789'));
      await errorMatching(errors, /retrying in 30 s/);
      await redeploy(FILE, { simUrl: sim.url, helpers });
      errors = new Inbox('ex16-errors-debug');
      await eventually(() => (flowContext<unknown[]>('ex16-park', 'deskParked') ?? []).length === 1, 5000, 'parked at start');
      assert.match(logText(), /1 Zammad request\(s\) interrupted by a redeploy or restart were parked/);
      helper.getNode('ex16-retry').receive({});
      await eventually(() => desk.tickets.size === 1, 5000, 'the ticket');
    });
  });
});
