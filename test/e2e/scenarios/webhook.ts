/**
 * era-webhook in a real Node-RED: deliveries posted as the platform posts them (one event per
 * request, `{class, type, data, eventts}`), each answered within 1 s and emitted once; refused
 * ones emit nothing; and, where the simulator can reach Node-RED, the simulator's own
 * deliveries of a call.
 */
import assert from 'node:assert/strict';
import type { SimEvent, WebhookDelivery } from '../../../src/simulator';
import type { Case } from '../support/case';
import { REGISTERED_PATH, WEBHOOK_PATH, WEBHOOK_SECRET } from '../support/flow';
import { logUntil, type LogEntry } from '../support/probe';

type Json = Record<string, unknown>;

/** The platform answers within 10 s or counts the delivery as failed; a receiver must answer at once. */
const ANSWER_WITHIN_MS = 1000;

let made = 0;

/** A delivery's body: one call event, with Cyrillic in a value and in a field name. */
function delivery(type = 'dlg_start'): { body: Json; eventId: string; connectionId: string } {
  const n = ++made;
  const invitets = Date.now();
  const cid = `e2e-${process.pid}-${n}`;
  const data = {
    eventid: `${cid}-${type}`,
    eventts: invitets + 5,
    cid,
    connectionid: `${cid}.${invitets}`,
    invitets,
    invitedt: new Date(invitets).toISOString(),
    fromnum: '+79161234567',
    tonum: '101',
    callername: 'Иван Петрович «Рога и копыта» ☎',
    примечание: 'перезвонить',
  };
  return { body: { class: 'callevents', type, data, eventts: data.eventts }, eventId: data.eventid, connectionId: data.connectionid };
}

type SecretIn = 'query' | 'header' | 'wrong' | 'none';

interface Posting {
  contentType?: string;
  secret?: SecretIn;
  /** httpNodeAuth's basic auth (on unless false). */
  auth?: boolean;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** Posts a delivery to the webhook's path; rejects when it is not answered within 1 s. */
async function post(c: Case, body: string, how: Posting = {}): Promise<Answer> {
  const secret = how.secret ?? 'query';
  const query = secret === 'query' ? `?secret=${encodeURIComponent(WEBHOOK_SECRET)}` : secret === 'wrong' ? `?secret=${encodeURIComponent(`${WEBHOOK_SECRET}x`)}` : '';
  const headers: Record<string, string> = { 'Content-Type': how.contentType ?? 'application/json', ...how.headers };
  if (secret === 'header') headers['X-Era-Secret'] = WEBHOOK_SECRET;
  const contentType = headers['Content-Type'];
  try {
    const res = await c.red.node(`${WEBHOOK_PATH}${query}`, { method: 'POST', headers, body, auth: how.auth, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') throw new Error(`a delivery sent as ${contentType} was not answered within ${ANSWER_WITHIN_MS} ms (it hangs)`);
    throw err;
  }
}

const webhookEntries = (log: LogEntry[], eventId: string) => log.filter((e) => e.tag === 'webhook' && e.eventId === eventId);

/**
 * After the deliveries under test, a good one as a fence: once the fence is emitted, whatever
 * the earlier ones emit has been emitted (messages leave a node in order). It is text/plain
 * unless told, so that a test of refusals does not hang on a JSON delivery.
 */
async function thenFence(c: Case, contentType = 'text/plain'): Promise<LogEntry[]> {
  const fence = delivery('dlg_end');
  const answer = await post(c, JSON.stringify(fence.body), { contentType });
  assert.equal(answer.status, 200, `the fence delivery: ${answer.text}`);
  return logUntil(c.red, (log) => webhookEntries(log, fence.eventId).length > 0, 'the fence delivery');
}

interface WebhookSetup {
  /** httpNodeMiddleware answers with X-E2E-Middleware and refuses requests with X-E2E-Gate: closed. */
  middleware?: boolean;
  /** httpNodeAuth is on. */
  basicAuth?: boolean;
}

export function webhookDeliveries(c: Case, setup: WebhookSetup = {}): void {
  describe('era-webhook deliveries (answered within 1 s, emitted once)', function () {
    for (const [contentType, secret] of [
      ['application/json', 'query'],
      ['application/json; charset=utf-8', 'header'],
      ['text/plain', 'query'],
    ] as const) {
      it(`${contentType} (secret in the ${secret}): 200, one message with the Cyrillic fields and msg.call`, async function () {
        const d = delivery();
        const answer = await post(c, JSON.stringify(d.body), { contentType, secret });
        assert.equal(answer.status, 200, answer.text);
        if (setup.middleware) assert.equal(answer.headers.get('x-e2e-middleware'), 'seen', 'the delivery went through httpNodeMiddleware');
        const log = await thenFence(c, contentType);
        const emitted = webhookEntries(log, d.eventId);
        assert.equal(emitted.length, 1, 'emitted once');
        const [msg] = emitted;
        assert.equal(msg?.topic, 'callevents.dlg_start');
        assert.equal(msg?.connectionId, d.connectionId);
        assert.equal(msg?.payload?.callername, 'Иван Петрович «Рога и копыта» ☎');
        assert.equal(msg?.payload?.['примечание'], 'перезвонить');
        assert.equal(msg?.call?.connectionId, d.connectionId);
      });
    }

    it('the same event delivered twice: both answered 200, emitted once', async function () {
      const d = delivery();
      for (let i = 0; i < 2; i++) assert.equal((await post(c, JSON.stringify(d.body), { contentType: 'application/json; charset=utf-8' })).status, 200);
      assert.equal(webhookEntries(await thenFence(c), d.eventId).length, 1);
    });

    it('a wrong or missing secret: 401; a body that is not JSON: 400; nothing emitted, and the next delivery is', async function () {
      const refused = delivery();
      assert.equal((await post(c, JSON.stringify(refused.body), { secret: 'wrong' })).status, 401);
      assert.equal((await post(c, JSON.stringify(refused.body), { secret: 'none' })).status, 401);
      assert.equal((await post(c, '{"class": "callevents", "type": "dlg_start", "data": {', { contentType: 'text/plain' })).status, 400);
      const log = await thenFence(c);
      assert.equal(webhookEntries(log, refused.eventId).length, 0);
    });

    if (setup.basicAuth) {
      it('sits behind httpNodeAuth: without basic auth 401, nothing emitted', async function () {
        const d = delivery();
        assert.equal((await post(c, JSON.stringify(d.body), { auth: false })).status, 401);
        assert.equal(webhookEntries(await thenFence(c), d.eventId).length, 0);
      });
    }

    if (setup.middleware) {
      it('sits behind httpNodeMiddleware: a delivery it refuses (403) emits nothing', async function () {
        const d = delivery();
        const answer = await post(c, JSON.stringify(d.body), { contentType: 'text/plain', headers: { 'X-E2E-Gate': 'closed' } });
        assert.equal(answer.status, 403, answer.text);
        assert.equal(webhookEntries(await thenFence(c), d.eventId).length, 0);
      });
    }
  });
}

/** The simulator registered the webhook (era-webhook's `register`) and delivers a call's events to Node-RED itself. */
export function registeredDeliveries(c: Case): void {
  describe('era-webhook registered on the simulator', function () {
    it("gets a call's events from the simulator: each delivery answered, each event emitted once, in order", async function () {
      this.timeout(60_000);
      const registered = () => c.sim.webhookRegistrations().find((w) => w.url.includes(REGISTERED_PATH));
      for (let i = 0; i < 100 && registered() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(registered(), `registered: ${JSON.stringify(c.sim.webhookRegistrations())}`);
      const produced: SimEvent[] = [];
      const outcomes: WebhookDelivery[] = [];
      const record = (e: SimEvent) => produced.push(e);
      const delivered = (d: WebhookDelivery) => {
        if (d.url.includes(REGISTERED_PATH)) outcomes.push(d);
      };
      c.sim.on('event', record);
      c.sim.on('webhook', delivered);
      try {
        const call = await c.ctl.startCall({ from: '+79169998877', to: '103', answer: true });
        await c.ctl.hangup(call.id);
        const mine = (e: LogEntry) => e.tag === 'registered' && e.connectionId === call.connectionid;
        const events = () => produced.filter((e) => e.class === 'callevents' && e.data.connectionid === call.connectionid);
        const ids = () => new Set(events().map((e) => e.data.eventid));
        // Until the call's last event was delivered, or one of its deliveries was not answered 200, or any delivery got
        // no answer at all (the simulator gives up on one after 10 s and sends one at a time: the call's would wait).
        const settled = () => events().some((e) => e.type === 'dlg_stop') && outcomes.filter((o) => ids().has(o.eventid)).length === ids().size;
        const failing = () => c.sim.webhookStats.failed > 0 || outcomes.some((o) => ids().has(o.eventid) && o.outcome !== 'answered');
        for (let i = 0; i < 300 && !settled() && !failing(); i++) await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(
          outcomes.filter((o) => ids().has(o.eventid)).map((o) => `${o.type}: ${o.outcome}${o.error ? ` (${o.error})` : ''}`),
          events().map((e) => `${e.type}: answered`),
          `the simulator's deliveries of the call (all so far: ${JSON.stringify(c.sim.webhookStats)})`,
        );
        const log = await logUntil(c.red, (l) => l.some((e) => mine(e) && e.topic === 'callevents.dlg_stop'), "the call's dlg_stop");
        assert.deepEqual(log.filter(mine).map((e) => `${e.topic} ${e.eventId}`), events().map((e) => `callevents.${e.type} ${e.data.eventid}`));
      } finally {
        c.sim.off('event', record);
        c.sim.off('webhook', delivered);
      }
    });
  });
}

/** Node-RED restarted (SIGINT, then started again): the webhook it registered is deleted as it stops, and its successor registers one. */
export function registrationAcrossRestart(c: Case): void {
  describe('era-webhook registered, across a restart of Node-RED', function () {
    it('the registration is deleted as Node-RED stops (no orphan left to lapse), and registered again after the start', async function () {
      this.timeout(120_000);
      const mine = () => c.sim.webhookRegistrations().filter((w) => w.url.includes(REGISTERED_PATH));
      for (let i = 0; i < 100 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      const before = mine().map((w) => w.id);
      assert.equal(before.length, 1, `registered before: ${JSON.stringify(mine())}`);
      await c.red.stop();
      assert.deepEqual(mine(), [], 'deleted by the time Node-RED exited');
      assert.ok(c.sim.requests().some((r) => r.method === 'DELETE' && r.path === `/rest/v1/service/webhooks/${before[0]}`));
      await c.restart();
      for (let i = 0; i < 100 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(mine().length, 1, 'one registration again');
      assert.notEqual(mine()[0]!.id, before[0]);
    });
  });
}
