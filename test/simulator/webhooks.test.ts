/**
 * The simulator's webhooks (era-platform.md §8a), through raw clients: registrations over REST
 * with the integration token only, their lifetime, and the deliveries a plain HTTP server
 * receives — one event per POST, in order, at most once — with the delivery faults.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator, WebhookDelivery } from '../../src/simulator';
import { delay, eventually, login, rest, useSimulators } from './helpers';

const HOOKS = '/rest/v1/service/webhooks';
const TOKEN = 'demo-token';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
  at: number;
}

/** A plain HTTP server standing for Node-RED: it records each request and answers `status`. */
class Receiver {
  readonly got: Received[] = [];
  status = 200;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.got.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], authorization: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(this.status).end();
    });
  });

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path = '/era/events'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** The delivered events (JSON bodies), as `class.type`. */
  topics(): string[] {
    return this.got.map((g) => JSON.parse(g.body) as { class: string; type: string }).map((e) => `${e.class}.${e.type}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function register(sim: Simulator, body: Record<string, unknown>): Promise<{ id: string; url: string; classes: string[]; expires: number }> {
  const res = await rest(sim, 'POST', HOOKS, { token: TOKEN, body });
  assert.equal(res.status, 200, res.text);
  return res.body as { id: string; url: string; classes: string[]; expires: number };
}

/** One answered call, start to end (dlg_stop at once): 6 callevents, 13 events. */
function oneCall(sim: Simulator): string {
  const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
  sim.hangupCall(call.id);
  return call.id;
}

describe('simulator: webhooks', () => {
  const start = useSimulators();
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await Receiver.start();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('are created, read, renewed and deleted with the integration token; a user session gets 403', async () => {
    const sim = await start();
    const session = await login(sim);
    const refused = await rest(sim, 'POST', HOOKS, { token: session, body: { url: receiver.url(), classes: ['callevents'] } });
    assert.equal(refused.status, 403);
    assert.match(JSON.stringify(refused.body), /token/);
    assert.equal(sim.webhookRegistrations().length, 0, 'nothing registered for the user session');

    const before = Date.now();
    const created = await register(sim, { url: receiver.url(), classes: ['callevents'], expires: 600 });
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual([created.url, created.classes, created.expires], [receiver.url(), ['callevents'], 600]);
    const { expiresAt } = created as unknown as { expiresAt: number };
    assert.ok(expiresAt >= before + 600_000 && expiresAt <= Date.now() + 600_000, 'expiresAt is 600 s ahead');
    assert.equal((await rest(sim, 'GET', `${HOOKS}/${created.id}`, { token: session })).status, 403, 'reading needs the token too');
    const read = await rest(sim, 'GET', `${HOOKS}/${created.id}`, { token: TOKEN });
    assert.equal((read.body as { url: string }).url, receiver.url());

    const renewed = await rest(sim, 'PUT', `${HOOKS}/${created.id}`, { token: TOKEN, body: { classes: ['callevents', 'ccsevents'], expires: 900 } });
    assert.equal(renewed.status, 200);
    assert.deepEqual((renewed.body as { classes: string[]; expires: number }).classes, ['callevents', 'ccsevents']);
    assert.equal((renewed.body as { expires: number }).expires, 900);

    assert.equal((await rest(sim, 'DELETE', `${HOOKS}/${created.id}`, { token: TOKEN })).status, 200);
    assert.equal((await rest(sim, 'GET', `${HOOKS}/${created.id}`, { token: TOKEN })).status, 404);
    assert.equal((await rest(sim, 'PUT', `${HOOKS}/${created.id}`, { token: TOKEN, body: {} })).status, 404, 'a deleted webhook cannot be renewed');
    assert.equal((await rest(sim, 'DELETE', `${HOOKS}/${created.id}`, { token: TOKEN })).status, 404);
  });

  it('refuses malformed registrations with a 400 and registers nothing', async () => {
    const sim = await start();
    for (const body of [{ classes: ['callevents'] }, { url: 'not a url', classes: ['callevents'] }, { url: 'ftp://x/y', classes: ['callevents'] }, { url: receiver.url() }, { url: receiver.url(), classes: [] }, { url: receiver.url(), classes: ['callevents'], expires: -1 }]) {
      const res = await rest(sim, 'POST', HOOKS, { token: TOKEN, body });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((await rest(sim, 'GET', HOOKS, { token: TOKEN })).status, 405, 'the collection only creates');
    assert.equal(sim.webhookRegistrations().length, 0);
  });

  it('delivers each event of a subscribed class as one JSON POST {class, type, data, eventts}, in order, once per URL', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    await register(sim, { url: receiver.url('/era/events?secret=s3cret'), classes: ['callevents'] });
    // A second webhook for the same URL: the platform still sends each event once to it.
    await register(sim, { url: receiver.url('/era/events?secret=s3cret'), classes: ['callevents'] });
    const events: string[] = [];
    sim.on('event', (e) => {
      if (e.class === 'callevents') events.push(e.data.eventid);
    });
    const id = oneCall(sim);
    await eventually(() => receiver.got.length >= 6, 5000, 'six deliveries');
    await delay(100);
    assert.equal(receiver.got.length, 6, 'callevents only, each once');
    assert.deepEqual(receiver.topics(), ['invite', 'dlg_init', 'dlg_call', 'dlg_start', 'dlg_end', 'dlg_stop'].map((t) => `callevents.${t}`));
    for (const got of receiver.got) {
      assert.equal(got.method, 'POST');
      assert.equal(got.url, '/era/events?secret=s3cret');
      assert.match(String(got.contentType), /^application\/json/);
      const body = JSON.parse(got.body) as { class: string; type: string; data: Record<string, unknown>; eventts: number };
      assert.deepEqual(Object.keys(body), ['class', 'type', 'data', 'eventts']);
      assert.equal(body.data.connectionid, id);
      assert.equal(body.eventts, body.data.eventts);
    }
    assert.deepEqual(receiver.got.map((g) => (JSON.parse(g.body) as { data: { eventid: string } }).data.eventid), events, 'in the order they happened');
    assert.equal(sim.webhookStats.answered, 6);
  });

  it('a URL with user information is delivered with it as Basic authentication (percent-decoded), one without it with none', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const [user, password] = ['оператор', 'ab%41c:d/e@f?g#h ä'];
    const withUser = new URL(receiver.url('/with'));
    withUser.username = encodeURIComponent(user);
    withUser.password = encodeURIComponent(password);
    await register(sim, { url: withUser.href, classes: ['callevents'] });
    await register(sim, { url: receiver.url('/without'), classes: ['callevents'] });
    oneCall(sim);
    await eventually(() => receiver.got.length >= 12, 5000, 'six deliveries to each URL');
    const basic = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    assert.deepEqual([...new Set(receiver.got.filter((g) => g.url === '/with').map((g) => g.authorization))], [basic]);
    assert.deepEqual([...new Set(receiver.got.filter((g) => g.url === '/without').map((g) => g.authorization))], [undefined]);
  });

  it('an unrenewed webhook expires and stops delivering; a renewed one goes on', async () => {
    const sim = await start({ maxWebhookExpires: 5, dlgStopDelayMs: 0 });
    const kept = await register(sim, { url: receiver.url('/kept'), classes: ['callevents'], expires: 3600 });
    assert.equal(kept.expires, 5, 'a longer lifetime is granted the maximum');
    const lapsing = await register(sim, { url: receiver.url('/lapsing'), classes: ['callevents'], expires: 1 });
    await delay(1200);
    assert.equal((await rest(sim, 'GET', `${HOOKS}/${lapsing.id}`, { token: TOKEN })).status, 404, 'gone after its second');
    assert.equal((await rest(sim, 'PUT', `${HOOKS}/${lapsing.id}`, { token: TOKEN, body: {} })).status, 404, 'too late to renew');
    const renewed = await rest(sim, 'PUT', `${HOOKS}/${kept.id}`, { token: TOKEN, body: {} });
    assert.equal(renewed.status, 200);
    assert.equal((renewed.body as { expires: number }).expires, 5, 'the lifetime granted last, again');
    oneCall(sim);
    await eventually(() => receiver.got.length >= 6, 5000, 'deliveries to the renewed webhook');
    await delay(100);
    assert.ok(receiver.got.every((g) => g.url === '/kept'), 'nothing to the lapsed one');
  });

  it('faults: drop exactly the share asked for, duplicate some, delay some, send junk instead of an event', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    await register(sim, { url: receiver.url(), classes: ['callevents'] });
    const outcomes: WebhookDelivery[] = [];
    sim.on('webhook', (d) => outcomes.push(d));

    sim.setFaults({ webhookDrop: 0.2 });
    for (let i = 0; i < 5; i++) oneCall(sim);
    await eventually(() => receiver.got.length >= 24, 5000, '24 of 30 deliveries');
    await delay(100);
    assert.equal(receiver.got.length, 24, 'every 5th delivery dropped');
    assert.equal(outcomes.filter((o) => o.outcome === 'dropped').length, 6);

    sim.setFaults({ webhookDrop: null, webhookDuplicate: 0.5 });
    receiver.got.length = 0;
    oneCall(sim);
    await eventually(() => receiver.got.length >= 9, 5000, '6 deliveries and 3 copies');
    await delay(100);
    assert.equal(receiver.got.length, 9);
    assert.equal(new Set(receiver.got.map((g) => g.body)).size, 6, 'the copies are the same bodies');

    sim.setFaults({ webhookDuplicate: null, webhookDelay: { share: 1, ms: 300 } });
    receiver.got.length = 0;
    const sentAt = Date.now();
    oneCall(sim);
    await eventually(() => receiver.got.length >= 6, 5000, 'delayed deliveries');
    assert.ok(receiver.got.every((g) => g.at - sentAt >= 250), 'each held back');

    sim.setFaults({ webhookDelay: null, webhookJunk: { count: 1 } });
    receiver.got.length = 0;
    oneCall(sim);
    await eventually(() => receiver.got.length >= 6, 5000, 'six deliveries');
    assert.throws(() => JSON.parse(receiver.got[0]!.body), 'the first body is junk');
    assert.doesNotThrow(() => JSON.parse(receiver.got[1]!.body));
    assert.deepEqual(sim.faults, {}, 'the junk fault is used up');

    const stats = (await rest(sim, 'GET', '/_sim/webhooks')).body as { deliveries: Record<string, number> };
    assert.deepEqual(
      { dropped: stats.deliveries.dropped, duplicated: stats.deliveries.duplicated, delayed: stats.deliveries.delayed, junk: stats.deliveries.junk },
      { dropped: 6, duplicated: 3, delayed: 6, junk: 1 },
    );
  });

  it('refuses malformed delivery faults with a 400, changing nothing', async () => {
    const sim = await start();
    for (const faults of [{ webhookDrop: 0 }, { webhookDrop: 1.5 }, { webhookDuplicate: 'half' }, { webhookDelay: { share: 0.5 } }, { webhookDelay: { share: 0.5, ms: 0 } }, { webhookJunk: {} }, { webhookCreateError: { count: 1, status: 200 } }]) {
      assert.equal((await rest(sim, 'POST', '/_sim/faults', { body: faults })).status, 400, JSON.stringify(faults));
    }
    assert.deepEqual(sim.faults, {});
  });

  it('webhookCreateError and webhookRenewError refuse with the status and the platform\'s words', async () => {
    const sim = await start();
    sim.setFaults({ webhookCreateError: { count: 1, errormsg: 'channel is not of type subscr' } });
    const refused = await rest(sim, 'POST', HOOKS, { token: TOKEN, body: { url: receiver.url(), classes: ['callevents'] } });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /channel is not of type subscr/);
    assert.equal(sim.webhookRegistrations().length, 0);
    const created = await register(sim, { url: receiver.url(), classes: ['callevents'] });

    sim.setFaults({ webhookRenewError: { count: 1, status: 500 } });
    const renewal = await rest(sim, 'PUT', `${HOOKS}/${created.id}`, { token: TOKEN, body: {} });
    assert.equal(renewal.status, 500);
    assert.match(renewal.text, /renewal refused/);
    assert.equal((await rest(sim, 'PUT', `${HOOKS}/${created.id}`, { token: TOKEN, body: {} })).status, 200, 'used up');
  });

  it('GET /_sim/webhooks lists registrations; DELETE forgets them, as a platform that lost them (renewals get 404)', async () => {
    const sim = await start();
    const created = await register(sim, { url: receiver.url(), classes: ['callevents'] });
    const listed = (await rest(sim, 'GET', '/_sim/webhooks')).body as { registrations: Array<{ id: string }> };
    assert.deepEqual(listed.registrations.map((r) => r.id), [created.id]);
    assert.equal((await rest(sim, 'DELETE', '/_sim/webhooks')).status, 200);
    assert.equal((await rest(sim, 'PUT', `${HOOKS}/${created.id}`, { token: TOKEN, body: {} })).status, 404);
    oneCall(sim);
    await delay(200);
    assert.equal(receiver.got.length, 0);
  });

  it('a receiver that is down or answers an error is counted, not retried, and the simulator goes on', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    await register(sim, { url: 'http://127.0.0.1:1/nobody', classes: ['callevents'] });
    await register(sim, { url: receiver.url(), classes: ['callevents'] });
    receiver.status = 500;
    oneCall(sim);
    await eventually(() => sim.webhookStats.failed >= 6 && sim.webhookStats.refused >= 6, 5000, 'failed and refused deliveries');
    await delay(100);
    assert.equal(receiver.got.length, 6, 'no retry after a 500');
    receiver.status = 200;
    oneCall(sim);
    await eventually(() => receiver.got.length >= 12, 5000, 'deliveries again');
    assert.equal(sim.webhookStats.answered, 6);
  });
});
