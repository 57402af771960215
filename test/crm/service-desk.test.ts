/**
 * examples/16-service-desk-callbacks.json in Node-RED: calls played by the simulator, their
 * records from the flow's era-call-log, against a Zammad stand-in written from Zammad's REST
 * reference (standins/zammad.ts).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRed, stopRed } from '../support/red';
import { forgetNodeApp } from '../support/http-nodes';
import { simulator, type SimCall, type SimControl, type Simulator } from '../support/sim';
import { ZammadStandIn } from './standins/zammad';
import { deliver, errorMatching, errorTexts, eventually, flowContext, helper, Inbox, loadExample, logText, RECORDS, recordOf, redeploy, setEnv } from './support';

const FILE = '16-service-desk-callbacks.json';

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
  let records: Inbox;
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
    records = new Inbox(RECORDS);
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the flow subscribed to events');
  }

  /** A call from `from` to 101 that rang `ringMs` and was not answered; resolves once its record is out. */
  async function missed(from: string, ringMs = 0, reason = 'cancel'): Promise<SimCall> {
    const call = await ctl.startCall({ from, to: '101' });
    if (ringMs > 0) await sleep(ringMs);
    await ctl.hangup(call.id, reason);
    await recorded(call);
    return call;
  }

  /** A call from `from` to 101, answered at once, a conversation of `talkMs`; resolves once its record is out. */
  async function answered(from: string, talkMs = 0): Promise<SimCall> {
    const call: SimCall = await ctl.startCall({ from, to: '101', answer: true });
    if (talkMs > 0) await sleep(talkMs);
    await ctl.hangup(call.id);
    await recorded(call);
    return call;
  }

  function recorded(call: SimCall): Promise<void> {
    return records.until((m) => m.some((x) => x.connectionId === call.connectionid), 5000, `the record of ${call.connectionid}`);
  }

  const caller = (number: string) => flowContext<Record<string, CallerState>>('ex16-missed', 'deskCallers')?.[number];

  it('a missed call becomes a callback ticket: title, group, customer, a phone article with the details', async function () {
    await start();
    const call = await missed('+79123456789', 1100);
    await eventually(() => desk.tickets.size === 1, 5000, 'a ticket');
    const ticket = desk.tickets.get(1)!;
    assert.deepEqual([ticket.title, ticket.group, ticket.customer, ticket.state], ['Call back +79123456789', 'Callbacks', 'callbacks@example.com', 'new']);
    assert.equal(ticket.articles.length, 1);
    const article = ticket.articles[0];
    assert.deepEqual([article.subject, article.type, article.internal], ['Missed call', 'phone', false]);
    assert.equal(article.body, `Missed call from +79123456789 to 101 at ${new Date(Number(call.invitets)).toISOString()}, rang 1 s (connection ${call.connectionid}).`);
    assert.equal(desk.requests('/api/v1/tickets')[0].headers.authorization, `Token token=${desk.token}`);
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'the ticket kept with the caller');
    await done.until((m) => m.some((x) => (x.desk as { then?: string } | undefined)?.then === 'created' && (x.payload as { id?: number }).id === 1), 5000, 'the created ticket');
    assert.deepEqual(errorTexts(errors), []);
  });

  it('once per caller per hour (here 3 s, DESK_GUARD_MINUTES 0.05): a second missed call within it asks nothing; after it, a note on the open ticket', async function () {
    await start({ DESK_GUARD_MINUTES: '0.05' });
    await missed('+79123456789');
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'the first ticket');
    await missed('89123456789');
    await skipped.count(1);
    assert.equal(skipped.messages[0].reason, 'a callback for +79123456789 was asked less than 0.05 minutes before');
    await sleep(3100);
    await missed('9123456789');
    await eventually(() => desk.tickets.get(1)!.articles.length === 2, 5000, 'a note on the open ticket');
    assert.equal(desk.tickets.size, 1, 'still one ticket');
    assert.deepEqual([desk.tickets.get(1)!.articles[1].subject, desk.tickets.get(1)!.articles[1].type], ['Missed call again', 'phone']);
  });

  it('the caller gets through: the ticket is closed with an internal note, and the guard is lifted', async function () {
    await start();
    await missed('+79123456789');
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const reached = await answered('8 (912) 345-67-89', 1100);
    await eventually(() => desk.tickets.get(1)!.state === 'closed', 5000, 'closed');
    const note = desk.tickets.get(1)!.articles[1];
    assert.deepEqual([note.subject, note.type, note.internal], ['Caller got through', 'note', true]);
    assert.equal(note.body, `The caller got through: answered by 101, talked 1 s (connection ${reached.connectionid}).`);
    await eventually(() => caller('+79123456789') === undefined, 5000, 'the caller forgotten');
    await missed('+79123456789');
    await eventually(() => desk.tickets.size === 2, 5000, 'a new ticket for a new missed call');
  });

  it('calling the customer back (an answered outbound call) closes the ticket too', async function () {
    await start();
    await missed('+79123456789');
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const back = await ctl.startCall({ from: '102', to: '+79123456789', dir: 'out', answer: true });
    await ctl.hangup(back.id);
    await eventually(() => desk.tickets.get(1)!.state === 'closed', 5000, 'closed');
    assert.match(String(desk.tickets.get(1)!.articles[1].body), /^Called back: answered by 102, talked 0 s/);
  });

  it('the caller got through while the ticket was still being created: it is closed as soon as it exists', async function () {
    await start();
    desk.inject({ status: 503, body: { error: 'busy' }, headers: { 'Retry-After': '1' }, count: 1 });
    await missed('+79123456789');
    await eventually(() => desk.requests('/api/v1/tickets').length === 1, 5000, 'the first attempt');
    await answered('+79123456789');
    await eventually(() => desk.tickets.get(1)?.state === 'closed', 5000, 'created, then closed');
    assert.equal(desk.tickets.size, 1);
  });

  it('unanswered outbound and failed calls ask for nothing and close nothing', async function () {
    await start();
    await missed('+79123456789');
    await eventually(() => caller('+79123456789')?.tickets.length === 1, 5000, 'a ticket');
    const out = await ctl.startCall({ from: '102', to: '+79123456789', dir: 'out' });
    await ctl.hangup(out.id, 'timeout');
    await recorded(out);
    const failed = await missed('+79990000000', 0, 'error');
    assert.deepEqual([records.messages.find((m) => m.connectionId === out.connectionid)!.topic, records.messages.find((m) => m.connectionId === failed.connectionid)!.topic], ['unanswered', 'failed']);
    await sleep(200);
    assert.equal(desk.tickets.size, 1);
    assert.equal(desk.tickets.get(1)!.state, 'new');
    assert.equal(skipped.messages.length, 0);
  });

  it('the guard is bounded: beyond DESK_MAX_CALLERS the caller whose missed call is oldest is forgotten, and said so', async function () {
    await start({ DESK_MAX_CALLERS: '3' });
    for (const from of ['+79990000001', '+79990000002', '+79990000003', '+79990000004']) {
      await missed(from);
      await eventually(() => caller(from)?.tickets.length === 1, 5000, `ticket for ${from}`);
    }
    const kept = Object.keys(flowContext<Record<string, CallerState>>('ex16-missed', 'deskCallers')!);
    assert.deepEqual(kept, ['+79990000002', '+79990000003', '+79990000004']);
    assert.match(logText(), /Forgot caller \+79990000001 \(ticket 1 stays open\): more than 3 callers kept/);
  });

  describe('numbers', function () {
    it('+7 912 345-67-89, 89123456789 and 9123456789 are one caller; an extension, no number, anonymous: no callback, and why', async function () {
      await start();
      await missed('+7 912 345-67-89');
      await eventually(() => desk.tickets.size === 1, 5000, 'a ticket');
      await missed('89123456789');
      await missed('9123456789');
      for (const from of ['101', 'anonymous', 'Anonymous']) await missed(from);
      // No number at all: the simulator refuses to play it.
      deliver(callLog, recordOf(await ctl.startCall({ from: '+79990000000', to: '101' }), { outcome: 'missed', from: '' }));
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
      await missed('+79123456789');
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
      await missed('+79123456789');
      await eventually(() => desk.tickets.size === 1, 5000, 'the ticket');
      const tries = desk.requests('/api/v1/tickets');
      assert.deepEqual(tries.map((r) => r.status), [429, 500, 201]);
      assert.ok(tries[1].at - tries[0].at >= 950, `waited the second Retry-After asked for (${tries[1].at - tries[0].at} ms)`);
      assert.deepEqual(errorTexts(errors), ['Zammad: POST /api/v1/tickets failed: HTTP 429: Too many requests; retrying in 1 s (up to 5 more times)']);
    });

    it('a value Zammad cannot use (422): parked at once, with Zammad\'s words', async function () {
      await start({ ZAMMAD_GROUP: 'Nowhere' });
      await missed('+79123456789');
      await errorMatching(errors, /HTTP 422: No lookup value found for 'group': "Nowhere" — parked/);
      assert.equal(desk.requests('/api/v1/tickets').length, 1);
    });

    it('a redeploy while a request waits to be retried: it is parked, not lost, and goes when retried', async function () {
      await start();
      desk.inject({ status: 503, body: { error: 'maintenance' }, headers: { 'Retry-After': '30' }, count: 1 });
      await missed('+79123456789');
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
