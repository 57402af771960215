/**
 * era-webhook served the way Node-RED serves HTTP nodes (webhook-stack.ts mounts the runtime's
 * apps as red.js does), in the set-ups users run: a default install (the editor's admin app and
 * its JSON parser first on the same root), httpNodeRoot "/api" behind httpNodeAuth, and a
 * body-reading httpNodeMiddleware. Every answer is checked to come within a second of the
 * request's last byte (webhook-post.ts).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_NODES, eventually, helper, Inbox, serverNode, startRed, StatusLog, stopRed, TOKEN_CREDENTIALS, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';
import { callData, event, post, rawPost, stalledPost } from './webhook-post';
import { express, logged, RedStack, type StackSettings } from './webhook-stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const HTTP_IN = require('@node-red/nodes/core/network/21-httpin.js');

const PATH = '/era/events';
const SECRET = 'w3bh00k-secret';
const PASSWORD = 'Pa55:w0rd/ä';

/** "Платформа" and "Иванов" in windows-1251. */
const CP1251 = { platform: Buffer.from([0xcf, 0xeb, 0xe0, 0xf2, 0xf4, 0xee, 0xf0, 0xec, 0xe0]), ivanov: Buffer.from([0xc8, 0xe2, 0xe0, 0xed, 0xee, 0xe2]) };

describe('era-webhook on Node-RED\'s HTTP stack', function () {
  this.timeout(30_000);
  let stack: RedStack;
  let statuses: StatusLog;

  before(async function () {
    stack = await RedStack.start();
  });

  after(async function () {
    await stack.close();
  });

  beforeEach(async function () {
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    stack.unmount();
  });

  /** `before`: node modules loaded ahead of the package's (one that adds an editor endpoint, say). */
  async function load(settings: StackSettings, flow: FlowNode[], credentials: Record<string, unknown> = {}, before: unknown[] = []): Promise<void> {
    stack.configure(settings);
    await helper.load([stack.mount, ...before, ...ALL_NODES, HTTP_IN], flow, credentials);
  }

  function webhook(props: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: 'wh', type: 'era-webhook', path: PATH, events: 'callevents.*', reconcile: 0, register: false, publicUrl: '', wires: [['out']], ...props },
      { id: 'out', type: 'helper' },
    ];
  }

  const url = (query = ''): string => `${stack.base}${PATH}${query}`;
  const delivery = (n: number): Record<string, unknown> => event('invite', callData(n, `e-${n}`));

  /** The body of a delivery of call 1 in windows-1251, with Cyrillic in two fields. */
  function cp1251Delivery(): Buffer {
    const data = callData(1, 'e-1251');
    const head = JSON.stringify(event('invite', { ...data, fromusername: '@', domain: '#' }));
    const [before, middle, after] = head.split(/"@"|"#"/) as [string, string, string];
    return Buffer.concat([Buffer.from(`${before}"`), CP1251.ivanov, Buffer.from(`"${middle}"`), CP1251.platform, Buffer.from(`"${after}`)]);
  }

  describe('a default install: the admin app\'s JSON parser on the same root', function () {
    it('a JSON delivery is answered and emitted (the admin app never reads it); text/plain holding JSON too', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      assert.equal((await post(url(), delivery(1))).status, 200);
      assert.equal((await post(url(), JSON.stringify(delivery(2)), { 'content-type': 'text/plain; charset=utf-8' })).status, 200);
      assert.equal((await post(url(), delivery(3), { 'content-type': 'application/json; charset=UTF-8' })).status, 200);
      await out.count(3);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-1', 'e-2', 'e-3']);
    });

    it('charset=windows-1251: the Cyrillic fields decoded; a charset it cannot decode is a 415 and nothing is emitted', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      assert.equal((await post(url(), cp1251Delivery(), { 'content-type': 'application/json; charset=windows-1251' })).status, 200);
      await out.count(1);
      const payload = out.messages[0]!.payload as Record<string, unknown>;
      assert.deepEqual([payload.fromusername, payload.domain], ['Иванов', 'Платформа']);

      const unknown = await post(url(), delivery(2), { 'content-type': 'application/json; charset=x-martian' });
      assert.equal(unknown.status, 415);
      assert.match(JSON.parse(unknown.text).errormsg, /a charset it cannot decode \("x-martian"\)/);
      const wrong = await post(url(), cp1251Delivery(), { 'content-type': 'application/json; charset=utf-8' });
      assert.equal(wrong.status, 400, 'windows-1251 bytes sent as UTF-8');
      assert.match(JSON.parse(wrong.text).errormsg, /not valid utf-8/);
      assert.equal((await post(url(), delivery(3))).status, 200, 'still works');
      await out.count(2);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-1251', 'e-3'], 'nothing of the refused ones');
    });

    it('a delivery whose body stops coming: 408 and the socket closed within a second, nothing emitted; the next one works', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      const body = Buffer.from(JSON.stringify(delivery(1)));
      const stalled = await stalledPost(url(), { 'Content-Type': 'application/json' }, body.subarray(0, 20), body.length);
      assert.equal(stalled.status, 408);
      assert.ok(stalled.answeredAfterMs >= 0 && stalled.answeredAfterMs < 1000, `answered ${stalled.answeredAfterMs} ms after the last byte`);
      assert.ok(stalled.closedAfterMs >= 0 && stalled.closedAfterMs < 1500, `socket closed ${stalled.closedAfterMs} ms after the last byte`);
      assert.equal((await post(url(), delivery(2))).status, 200);
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-2']);
      assert.equal(logged('wh', 30).filter((w) => w.includes('HTTP 408')).length, 1, 'warned once');
    });

    it('the admin API still reads its own JSON: the guard acts on the webhook\'s path only', async function () {
      let seen: unknown;
      await load({}, webhook());
      // A route of the runtime's admin app (as the editor's are), behind the same parser.
      stack.admin!.post('/era-test/echo', (req, res) => {
        seen = req.body;
        res.json({ ok: true });
      });
      assert.equal((await post(`${stack.origin}/era-test/echo`, { hello: 'admin' })).status, 200);
      assert.deepEqual(seen, { hello: 'admin' });
    });

    it('a path the admin app answers (/flows, /AUTH/token, a node\'s editor endpoint): red, one error naming it, nothing installed; the editor still reads its JSON', async function () {
      // A node module that adds an editor endpoint, as nodes do on RED.httpAdmin.
      const endpoint = (RED: { httpAdmin: { post(path: string, handler: (req: unknown, res: { json(b: unknown): void }) => void): void } }): void =>
        RED.httpAdmin.post('/era-test/endpoint', (_req, res) => res.json({ ok: true }));
      const flow = [
        ...webhook(),
        ...[['flows', '/flows'], ['token', '/AUTH/token/'], ['endpoint', '/era-test/endpoint'], ['deep', '/library/flows/x']].map(([id, path]) => ({ id: id!, type: 'era-webhook', path, events: 'callevents.*', reconcile: 0, wires: [[]] })),
      ];
      await load({}, flow, { wh: { secret: SECRET } }, [endpoint]);
      for (const [id, words] of [['flows', /the path \/flows is answered by Node-RED's editor \(its \/flows\)/], ['token', /the path \/AUTH\/token is answered by Node-RED's editor \(its \/auth\)/], ['endpoint', /answered by Node-RED's admin API \(POST \/era-test\/endpoint, a node's editor endpoint\)/], ['deep', /its \/library/]] as const) {
        assert.ok(statuses.has(id, 'red', 'dot'), `${id}: red`);
        assert.equal(logged(id, 20).length, 1, `${id}: one error`);
        assert.match(logged(id, 20)[0]!, words);
      }
      // The editor's own routes, behind the admin app's JSON parser: each gets its body.
      const seen: unknown[] = [];
      for (const path of ['/flows', '/auth/token']) stack.admin!.post(path, (req, res) => {
        seen.push(req.body);
        res.json({ ok: true });
      });
      assert.equal((await post(`${stack.origin}/flows`, { flows: [] })).status, 200);
      assert.equal((await post(`${stack.origin}/auth/token`, { grant_type: 'password' })).status, 200);
      assert.deepEqual(seen, [{ flows: [] }, { grant_type: 'password' }]);
      const out = new Inbox('out');
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(1))).status, 200, 'the webhook beside them works');
      await out.count(1);
    });

    it('the editor on its own root (/admin): its paths there are refused, the same names on the HTTP nodes\' root are not', async function () {
      const flow = [
        { id: 'mine', type: 'era-webhook', path: '/flows', events: 'callevents.*', reconcile: 0, wires: [['out']] },
        { id: 'theirs', type: 'era-webhook', path: '/admin/settings', events: 'callevents.*', reconcile: 0, wires: [[]] },
        { id: 'out', type: 'helper' },
      ];
      await load({ httpAdminRoot: '/admin' }, flow, { mine: { secret: SECRET }, theirs: { secret: SECRET } });
      assert.ok(!statuses.has('mine', 'red', 'dot'));
      assert.match(logged('theirs', 20)[0]!, /the path \/admin\/settings is answered by Node-RED's editor \(its \/settings under \/admin\)/);
      const out = new Inbox('out');
      assert.equal((await post(`${stack.origin}/flows?secret=${SECRET}`, delivery(1))).status, 200);
      await out.count(1);
    });

    it('a request target in absolute form (http://host/era/events, as through a proxy) is guarded like its path: a stalled body 408, windows-1251 decoded', async function () {
      await load({}, webhook(), { wh: { secret: SECRET } });
      const out = new Inbox('out');
      const target = `${url()}?secret=${SECRET}`;
      const body = Buffer.from(JSON.stringify(delivery(1)));
      const stalled = await rawPost(url(), target, { 'Content-Type': 'application/json', 'Content-Length': String(body.length + 20) }, [body], 3000);
      assert.equal(stalled.status, 408, stalled.text);
      const cp1251 = cp1251Delivery();
      const decoded = await rawPost(url(), `${stack.origin}/ERA/Events/?secret=${SECRET}`, { 'Content-Type': 'application/json; charset=windows-1251', 'Content-Length': String(cp1251.length) }, [cp1251]);
      assert.equal(decoded.status, 200, decoded.text);
      await out.count(1);
      assert.deepEqual([out.messages[0]!.eventId, (out.messages[0]!.payload as { fromusername: string }).fromusername], ['e-1251', 'Иванов']);
    });

    it('a pause of 700 ms between two bytes of a body is no end: answered 200 and emitted', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      const body = JSON.stringify(delivery(1));
      const answer = await rawPost(url(), PATH, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, [body.slice(0, 30), 700, body.slice(30)]);
      assert.equal(answer.status, 200, answer.text);
      await out.count(1);
      assert.equal(out.messages[0]!.eventId, 'e-1');
    });

    it('a delivery nested 200,000 deep: 400 before anything is emitted (no stack overflow after a 200); the next one works', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      // Written as text: JSON.stringify would overflow the test's own stack.
      const deep = JSON.stringify(event('invite', { ...callData(1, 'e-deep'), extra: '@' })).replace('"@"', `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
      for (const contentType of ['application/json', 'text/plain']) {
        const refused = await post(url(), deep, { 'content-type': contentType });
        assert.equal(refused.status, 400, contentType);
        assert.match(JSON.parse(refused.text).errormsg, /nested more than 64 levels deep/);
      }
      const nested = { ...callData(2, 'e-2'), extra: JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`) as unknown };
      assert.equal((await post(url(), event('invite', nested))).status, 200, '40 levels are fine');
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-2']);
    });

    it('without a secret: a yellow ring naming it and one warning; a forged delivery is still emitted', async function () {
      await load({}, webhook());
      const out = new Inbox('out');
      assert.deepEqual(statuses.of('wh').at(-1), { fill: 'yellow', shape: 'ring', text: 'era-webhook.status.noSecret · era-webhook.status.manual: <Node-RED>/era/events' });
      assert.deepEqual(logged('wh', 30), ['era-webhook: no secret is set: anyone who can reach /era/events can post events (set one, and give it to the platform as ?secret= or the X-Era-Secret header)']);
      assert.equal((await post(url(), event('dlg_end', { ...callData(1, 'forged'), reason: 'bye' }))).status, 200);
      await out.count(1);
    });

    it('with a secret: a forged delivery (a wrong one) is a 401, nothing emitted; the status is green', async function () {
      await load({}, webhook(), { wh: { secret: SECRET } });
      const out = new Inbox('out');
      assert.equal((await post(url('?secret=guess'), event('dlg_end', { ...callData(1, 'forged'), reason: 'bye' }))).status, 401);
      assert.equal((await post(url(), delivery(2), { 'x-era-secret': SECRET })).status, 200);
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-2']);
      assert.deepEqual(statuses.of('wh').at(-1), { fill: 'green', shape: 'dot', text: 'era-webhook.status.manual: <Node-RED>/era/events?secret=…' });
      assert.ok(!logged('wh', 30).some((w) => w.includes('no secret is set')));
    });
  });

  describe('httpNodeRoot "/api" behind httpNodeAuth', function () {
    const settings: StackSettings = { httpNodeRoot: '/api', httpNodeAuth: { user: 'platform', pass: PASSWORD } };
    const basic = (user: string, pass: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

    it('served under /api; Node-RED\'s own authentication in front: 401 without it, emitted with it', async function () {
      await load(settings, webhook(), { wh: { secret: SECRET } });
      const out = new Inbox('out');
      assert.ok(url().endsWith('/api/era/events'));
      assert.equal((await post(`${stack.origin}${PATH}`, delivery(1), basic('platform', PASSWORD))).status, 404, 'not under the root');
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(2))).status, 401, 'no credentials');
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(3), basic('platform', 'wrong'))).status, 401);
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(4), basic('platform', PASSWORD))).status, 200);
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-4']);
    });

    it('a delivery that stops mid-body behind the authentication: 408 within a second', async function () {
      await load(settings, webhook());
      const body = Buffer.from(JSON.stringify(delivery(1)));
      const stalled = await stalledPost(url(), { 'Content-Type': 'application/json', ...basic('platform', PASSWORD) }, body.subarray(0, 30), body.length);
      assert.equal(stalled.status, 408);
      assert.ok(stalled.answeredAfterMs >= 0 && stalled.answeredAfterMs < 1000, `answered after ${stalled.answeredAfterMs} ms`);
      assert.ok(stalled.closedAfterMs >= 0 && stalled.closedAfterMs < 1500, `closed after ${stalled.closedAfterMs} ms`);
    });

    it('registration: the platform is given the public user and password in the URL; they pass Node-RED\'s authentication; the password is never shown', async function () {
      let sim: Simulator | undefined;
      try {
        ({ sim } = await simulator());
        const flow = [...webhook({ server: 'srv', register: true, publicUrl: `${stack.origin}/`, reconcile: 0 }), serverNode(sim, { authMode: 'token' })];
        await load(settings, flow, { ...TOKEN_CREDENTIALS, wh: { secret: SECRET, publicUser: 'platform', publicPassword: PASSWORD } });
        await eventually(() => sim!.webhookRegistrations().length === 1, 5000, 'registered');
        const registered = new URL(sim.webhookRegistrations()[0]!.url);
        assert.equal(`${registered.origin}${registered.pathname}`, url());
        assert.equal(decodeURIComponent(registered.username), 'platform');
        assert.equal(decodeURIComponent(registered.password), PASSWORD);
        assert.equal(registered.searchParams.get('secret'), SECRET);

        // What a platform does with such a URL: Basic credentials from its user information.
        const out = new Inbox('out');
        const target = `${registered.origin}${registered.pathname}${registered.search}`;
        assert.equal((await post(target, delivery(1), basic(decodeURIComponent(registered.username), decodeURIComponent(registered.password)))).status, 200);
        await out.count(1);

        await eventually(() => statuses.has('wh', 'green', 'dot'), 5000, 'registered status');
        assert.equal(statuses.of('wh').at(-1)?.text, `era-webhook.status.registered: http://platform:…@${registered.host}/api/era/events?secret=…`);
        const shown = [...statuses.of('wh').map((s) => String(s.text)), ...logged('wh', 20), ...logged('wh', 30), ...helper.log().args.map((a) => JSON.stringify(a[0]))];
        for (const form of [PASSWORD, encodeURIComponent(PASSWORD), registered.password]) assert.ok(shown.every((line) => !line.includes(form)), `never shown: ${form}`);
        assert.ok(!JSON.stringify(out.messages[0]).includes(registered.password), 'nor in the message');
      } finally {
        await helper.setFlows([], 'full');
        await sim?.stop();
      }
    });
  });

  it('registered behind httpNodeAuth with a password holding % and reserved characters: the simulator\'s own deliveries pass (Basic authentication from the URL) and are emitted', async function () {
    const password = 'ab%41c:d/e@f?g#h ä';
    let sim: Simulator | undefined;
    try {
      let ctl: SimControl;
      ({ sim, ctl } = await simulator());
      const settings: StackSettings = { httpNodeRoot: '/api', httpNodeAuth: { user: 'platform', pass: password } };
      const flow = [...webhook({ server: 'srv', register: true, publicUrl: stack.origin, reconcile: 0 }), serverNode(sim, { authMode: 'token' })];
      await load(settings, flow, { ...TOKEN_CREDENTIALS, wh: { secret: SECRET, publicUser: 'platform', publicPassword: password } });
      await eventually(() => sim!.webhookRegistrations().length === 1, 5000, 'registered');
      const out = new Inbox('out');
      const call = await ctl.startCall({ answer: true });
      await ctl.hangup(call.id);
      await out.until((m) => m.some((x) => x.topic === 'callevents.dlg_end'), 5000, "the call's end, delivered by the simulator");
      assert.deepEqual([sim.webhookStats.failed, out.messages.every((m) => m.connectionId === call.connectionid)], [0, true]);
      assert.deepEqual(out.messages.slice(0, 1).map((m) => m.topic), ['callevents.invite']);
    } finally {
      await helper.setFlows([], 'full');
      await sim?.stop();
    }
  });

  describe('a body-reading httpNodeMiddleware in front', function () {
    it('a body its parser read as an object, as a string or as a Buffer is used as it is', async function () {
      for (const [parser, label] of [[express.json(), 'object'], [express.text({ type: '*/*' }), 'string'], [express.raw({ type: '*/*' }), 'Buffer']] as const) {
        let seen: unknown;
        const spy = (req: { body?: unknown }, _res: unknown, next: () => void): void => {
          seen = req.body;
          next();
        };
        await load({ httpNodeMiddleware: [parser, spy as never] }, webhook());
        const out = new Inbox('out');
        assert.equal((await post(url(), delivery(1))).status, 200, label);
        await out.count(1);
        assert.equal(out.messages[0]!.eventId, 'e-1', label);
        const kind = Buffer.isBuffer(seen) ? 'Buffer' : typeof seen === 'string' ? 'string' : typeof seen === 'object' ? 'object' : typeof seen;
        assert.equal(kind, label, 'the middleware read it');
        await helper.unload();
      }
    });

    it('a raw parser in front and windows-1251: decoded here; a JSON parser in front refuses the charset: its 415, nothing emitted', async function () {
      await load({ httpNodeMiddleware: express.raw({ type: '*/*' }) }, webhook());
      let out = new Inbox('out');
      assert.equal((await post(url(), cp1251Delivery(), { 'content-type': 'application/json; charset=windows-1251' })).status, 200);
      await out.count(1);
      assert.equal((out.messages[0]!.payload as { fromusername: string }).fromusername, 'Иванов');
      await helper.unload();

      await load({ httpNodeMiddleware: express.json() }, webhook());
      out = new Inbox('out');
      const refused = await post(url(), cp1251Delivery(), { 'content-type': 'application/json; charset=windows-1251' });
      assert.equal(refused.status, 415);
      assert.match(JSON.parse(refused.text).errormsg, /a middleware in front of the endpoint failed \(HTTP 415\)/);
      assert.ok(logged('wh', 30).some((w) => /HTTP 415: httpNodeMiddleware failed: "unsupported charset/.test(w)), 'its words in the log');
      assert.equal((await post(url(), delivery(2))).status, 200);
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-2']);
    });

    it('a stalled body while the middleware\'s parser (no timeout of its own) reads it: 408 within a second, then it works', async function () {
      await load({ httpNodeMiddleware: express.json() }, webhook());
      const out = new Inbox('out');
      const body = Buffer.from(JSON.stringify(delivery(1)));
      const stalled = await stalledPost(url(), { 'Content-Type': 'application/json' }, body.subarray(0, 25), body.length);
      assert.equal(stalled.status, 408);
      assert.ok(stalled.answeredAfterMs >= 0 && stalled.answeredAfterMs < 1000, `answered after ${stalled.answeredAfterMs} ms`);
      assert.ok(stalled.closedAfterMs >= 0 && stalled.closedAfterMs < 1500, `closed after ${stalled.closedAfterMs} ms`);
      assert.equal((await post(url(), delivery(2))).status, 200);
      await out.count(1);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-2']);
    });
  });

  describe('an http in node on the same path', function () {
    const httpIn = (url: string): FlowNode[] => [
      { id: 'in', type: 'http in', url, method: 'post', upload: false, swaggerDoc: '', wires: [['resp']] },
      { id: 'resp', type: 'http response', statusCode: '202', headers: {}, wires: [] },
    ];

    it('deployed first: the era-webhook refuses to start, naming it; the http in answers', async function () {
      await load({}, [...httpIn(PATH), ...webhook()]);
      assert.ok(statuses.has('wh', 'red', 'dot'));
      assert.equal(logged('wh', 20).length, 1);
      assert.match(logged('wh', 20)[0]!, /the path \/era\/events is already served by another route \(POST \/era\/events, an http in node\?\)/);
      assert.equal((await post(url(), delivery(1))).status, 202);
    });

    it('deployed after: found when the flows start (red, one error naming its path); the era-webhook keeps the path, and keeps it when the http in is removed', async function () {
      await load({}, webhook(), { wh: { secret: SECRET } });
      const out = new Inbox('out');
      await helper.setFlows([...webhook(), ...httpIn('/ERA/events')], 'nodes', { wh: { secret: SECRET } });
      assert.deepEqual(statuses.of('wh').at(-1), { fill: 'red', shape: 'dot', text: 'era-webhook.status.conflict: POST /ERA/events' });
      assert.deepEqual(logged('wh', 20), ['era-webhook: the path /era/events is also served by POST /ERA/events (an http in node?), which receives nothing while this node serves it: give one of them another path']);
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(1))).status, 200, 'the era-webhook, deployed first, answers');

      // The http in's close removes every POST route of its path, this node's too: it comes back.
      await helper.setFlows(webhook(), 'nodes', { wh: { secret: SECRET } });
      assert.equal((await post(url(`?secret=${SECRET}`), delivery(2))).status, 200);
      await out.count(2);
      assert.deepEqual(out.messages.map((m) => m.eventId), ['e-1', 'e-2']);
      assert.deepEqual(statuses.of('wh').at(-1), { fill: 'green', shape: 'dot', text: 'era-webhook.status.manual: <Node-RED>/era/events?secret=…' }, 'the conflict is over');
      assert.equal(logged('wh', 20).length, 1, 'one error in all');
    });

    it('a route whose pattern matches the path (/era/:kind) counts too', async function () {
      await load({}, [...httpIn('/era/:kind'), ...webhook()]);
      assert.match(logged('wh', 20)[0]!, /already served by another route \(POST \/era\/:kind/);
      await helper.setFlows(webhook({ path: '/hooks/era' }), 'full');
      await helper.setFlows([...webhook({ path: '/hooks/era' }), ...httpIn('/hooks/:kind')], 'nodes');
      assert.deepEqual(statuses.of('wh').at(-1), { fill: 'red', shape: 'dot', text: 'era-webhook.status.conflict: POST /hooks/:kind' });
    });
  });

  it('httpNodeRoot false: a red status, nothing served', async function () {
    await load({ httpNodeRoot: false }, webhook());
    assert.ok(statuses.has('wh', 'red', 'dot'));
    assert.match(logged('wh', 20)[0]!, /httpNodeRoot is false/);
  });

  it('Cyrillic or a pasted line break in path, public URL, public user or password: a clear red status that never repeats the password; nothing registered; the rest works', async function () {
    let sim: Simulator | undefined;
    try {
      ({ sim } = await simulator());
      const registering = { server: 'srv', register: true, publicUrl: stack.origin };
      const cases: Array<[string, Record<string, unknown>, Record<string, string>, RegExp]> = [
        ['cyr-path', { path: '/события' }, {}, /path "\/события" must be like \/era\/events/],
        ['nl-path', { path: '/era\n/events' }, {}, /path "\/era\\n\/events" must be like/],
        ['nl-url', { ...registering, publicUrl: 'https://nodered.example.ru\n/x' }, {}, /public URL "https:\/\/nodered.example.ru\\n\/x" holds a line break/],
        ['pw-url', { ...registering, publicUrl: `https://platform:${encodeURIComponent(PASSWORD)}@nodered.example.ru` }, {}, /the public URL must not hold a user name or password/],
        ['nl-user', registering, { publicUser: 'platform\n', publicPassword: PASSWORD }, /public user "platform\\n" holds a line break/],
        ['colon-user', registering, { publicUser: 'plat:form' }, /public user "plat:form" must not hold ":"/],
        ['nl-password', registering, { publicUser: 'platform', publicPassword: `${PASSWORD}\r\n` }, /^era-webhook: the public password holds a line break or another control character$/],
        ['lone-password', registering, { publicPassword: PASSWORD }, /the public password needs a public user/],
      ];
      const flow: FlowNode[] = [
        ...cases.map(([id, props], i) => ({ id, type: 'era-webhook', path: `/p${i}`, events: 'callevents.*', reconcile: 0, ...props, wires: [[]] })),
        ...webhook(),
        serverNode(sim, { authMode: 'token' }),
      ];
      await load({}, flow, { ...TOKEN_CREDENTIALS, ...Object.fromEntries(cases.map(([id, , credentials]) => [id, { secret: SECRET, ...credentials }])) });
      for (const [id, , , words] of cases) {
        assert.ok(statuses.has(id, 'red', 'dot'), `${id}: red`);
        assert.equal(logged(id, 20).length, 1, `${id}: one error`);
        assert.match(logged(id, 20)[0]!, words, id);
      }
      const out = new Inbox('out');
      assert.equal((await post(url(), delivery(1))).status, 200, 'the good node beside them works');
      await out.count(1);
      for (let i = 0; i < cases.length; i++) assert.equal((await post(`${stack.base}/p${i}?secret=${SECRET}`, delivery(2))).status, 404, 'the bad ones serve nothing');
      await sleep(200);
      assert.equal(sim.requests().filter((r) => r.path.startsWith('/rest/v1/service/webhooks')).length, 0, 'nothing registered');
      const everything = JSON.stringify([helper.log().args, statuses.events]);
      for (const form of [PASSWORD, encodeURIComponent(PASSWORD)]) assert.ok(!everything.includes(form), 'the password is never repeated');
    } finally {
      await helper.setFlows([], 'full');
      await sim?.stop();
    }
  });

  it('Cyrillic in the public URL (an IDN host) and the public user is usable: the platform gets their ASCII forms', async function () {
    let sim: Simulator | undefined;
    try {
      ({ sim } = await simulator());
      const flow = [...webhook({ server: 'srv', register: true, publicUrl: 'https://узел.пример.рф/нод', reconcile: 0 }), serverNode(sim, { authMode: 'token' })];
      await load({}, flow, { ...TOKEN_CREDENTIALS, wh: { secret: SECRET, publicUser: 'оператор', publicPassword: 'пароль-1' } });
      await eventually(() => sim!.webhookRegistrations().length === 1, 5000, 'registered');
      const registered = new URL(sim.webhookRegistrations()[0]!.url);
      assert.equal(registered.host, 'xn--e1adn3a.xn--e1afmkfd.xn--p1ai');
      assert.equal(registered.pathname, `/${encodeURIComponent('нод')}/era/events`);
      assert.equal(decodeURIComponent(registered.username), 'оператор');
      assert.equal(decodeURIComponent(registered.password), 'пароль-1');
    } finally {
      await helper.setFlows([], 'full');
      await sim?.stop();
    }
  });
});
