/**
 * The example flows in examples/: each one is checked for what makes it importable (one shared
 * server node, only core nodes plus ours, the properties the nodes read), loaded into a real
 * Node-RED runtime against the simulator (every node known and started), and the CRM patterns
 * are run end to end: a call started through the simulator's control API must produce the
 * screen pop, the call record, the recording, the transfer, ... at a helper node wired in place
 * of each debug node.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../src/simulator/cli';
import { ALL_NODES, eventually, helper, Inbox, startRed, StatusLog, stopRed, type FlowNode } from './support/red';
import { simulator, type SimControl, type SimRequest, type Simulator } from './support/sim';
import { captureNodeApp, forgetNodeApp, startNodeFront, type NodeFront } from './support/http-nodes';

const EXAMPLES = path.join(__dirname, '..', 'examples');
const FILES = fs
  .readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const SERVER_ID = 'era-example-server';
const CREDENTIALS = { [SERVER_ID]: { login: 'operator', password: 'operator' } };

/** Our node types, and the properties each may carry in a flow (docs/ARCHITECTURE.md). */
const COMMON = ['id', 'type', 'z', 'x', 'y', 'wires', 'name', 'server'];
const typed = (...fields: string[]) => fields.flatMap((f) => [f, `${f}Type`]);
const OUR_PROPERTIES: Record<string, string[]> = {
  'era-server': ['id', 'type', 'name', 'url', 'domain', 'authMode', 'verifyTls', 'ca', 'pingInterval', 'requestTimeout'],
  'era-events': ['events', 'objects', 'attachCall', 'split', 'outputs'],
  'era-dial': ['mode', ...typed('from', 'to', 'ivr', 'extra')],
  'era-transfer': ['mode', ...typed('call', 'to', 'replaces', 'leg', 'extra')],
  'era-conference': ['mode', ...typed('call', 'conference', 'extra')],
  'era-hold': ['action', ...typed('call', 'leg', 'extra')],
  'era-dtmf': typed('call', 'leg', 'digits', 'extra'),
  'era-hangup': typed('call'),
  'era-answer': typed('call', 'leg', 'extra'),
  'era-recording': ['output', 'directory', ...typed('key', 'filename')],
  'era-calls': ['mode', 'interval', ...typed('call')],
  'era-request': ['kind', ...typed('method', 'path', 'body')],
  'era-call': typed('call'),
  'era-wait': typed('call', 'until', 'timeout'),
  'era-webhook': ['path', 'events', 'reconcile', 'register', 'publicUrl'],
  'era-call-log': ['direction', 'waitRecording'],
  'era-stats': ['interval', 'window', 'serviceLevel'],
};
const TYPED_INPUT_TYPES = new Set(['msg', 'flow', 'global', 'str', 'num', 'bool', 'json', 'env', 'jsonata', 'date', 'bin']);

/** The core nodes the examples may use, and the module that defines each. */
const CORE_MODULES: Record<string, string> = {
  comment: 'common/90-comment',
  inject: 'common/20-inject',
  debug: 'common/21-debug',
  catch: 'common/25-catch',
  status: 'common/25-status',
  switch: 'function/10-switch',
  change: 'function/15-change',
  function: 'function/10-function',
  template: 'function/80-template',
  delay: 'function/89-delay',
  'http in': 'network/21-httpin',
  'http response': 'network/21-httpin',
  'http request': 'network/21-httprequest',
  json: 'parsers/70-JSON',
  split: 'sequence/17-split',
  join: 'sequence/17-split',
  file: 'storage/10-file',
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const CORE_NODES = [...new Set(Object.values(CORE_MODULES))].map((m) => require(`@node-red/nodes/core/${m}.js`));

/**
 * FlowFuse Dashboard 2's widgets (a devDependency: the wallboard and operator-panel examples use
 * them, and say to install it from the palette), loaded as Node-RED loads the package.
 */
const DASHBOARD = path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json'));
const DASHBOARD_MODULES: Record<string, string> = (require('@flowfuse/node-red-dashboard/package.json') as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DASHBOARD_NODES = Object.values(DASHBOARD_MODULES).map((m) => require(path.join(DASHBOARD, m)));
/** The Dashboard 2 config nodes the dashboard examples share, as they share the server node. */
const SHARED_IDS = new Set([SERVER_ID, 'era-example-ui-base', 'era-example-ui-theme']);

function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[];
}


describe('examples', function () {
  it('are Node-RED flow files, one per non-config node at least, each starting with a Comment on how to run it', function () {
    assert.ok(FILES.length >= 4, 'at least the four CRM examples');
    const seen = new Set<string>();
    const ids = new Map<string, string>();
    const simPort = (parseArgs([]) as { options: { port: number } }).options.port;
    for (const file of FILES) {
      assert.match(file, /^\d\d-[a-z0-9-]+\.json$/, `${file}: named like 01-what-it-shows.json`);
      const flow = readExample(file);
      assert.ok(Array.isArray(flow) && flow.length > 1, `${file}: a flow is a JSON array of nodes`);

      const first = flow[0];
      assert.equal(first.type, 'comment', `${file}: starts with a Comment`);
      const info = String(first.info ?? '');
      assert.ok(String(first.name ?? '').length > 10, `${file}: the Comment's name says what the flow shows`);
      for (const needed of ['npx era-simulator', '`operator`', 'Deploy']) {
        assert.ok(info.includes(needed), `${file}: the Comment tells how to run it (${needed})`);
      }

      const servers = flow.filter((n) => n.type === 'era-server');
      assert.equal(servers.length, 1, `${file}: exactly one era-server`);
      const server = servers[0];
      assert.deepEqual(
        { id: server.id, url: server.url, domain: server.domain, authMode: server.authMode },
        { id: SERVER_ID, url: `http://127.0.0.1:${simPort}`, domain: 'demo.local', authMode: 'user' },
        `${file}: the shared server node points at \`npx era-simulator\` (its default port is ${simPort})`,
      );
      assert.equal(server.z, undefined, `${file}: the config node is global`);

      const inFile = new Set<string>();
      for (const node of flow) {
        assert.ok(!('credentials' in node), `${file}: ${node.id} carries no credentials`);
        assert.ok(!inFile.has(node.id), `${file}: node id ${node.id} is unique`);
        inFile.add(node.id);
        if (!SHARED_IDS.has(node.id)) {
          assert.ok(!ids.has(node.id), `${file}: node id ${node.id} is also used in ${ids.get(node.id)}`);
          ids.set(node.id, file);
        }
        const ours = OUR_PROPERTIES[node.type];
        assert.ok(ours || CORE_MODULES[node.type] || DASHBOARD_MODULES[node.type], `${file}: ${node.id} has type ${node.type}, neither ours nor a core node nor a Dashboard 2 widget`);
        if (!ours) continue;
        seen.add(node.type);
        if (node.type === 'era-server') continue;
        assert.equal(node.server, SERVER_ID, `${file}: ${node.id} uses the shared server`);
        for (const key of Object.keys(node)) {
          assert.ok(COMMON.includes(key) || ours.includes(key), `${file}: ${node.id} (${node.type}) has a property ${key} the node does not read`);
          if (key.endsWith('Type') && ours.includes(key)) {
            assert.ok(TYPED_INPUT_TYPES.has(String(node[key])), `${file}: ${node.id}.${key} = ${String(node[key])}`);
          }
        }
      }
      for (const node of flow) {
        for (const port of (node.wires ?? []) as string[][]) {
          for (const target of port) assert.ok(inFile.has(target), `${file}: ${node.id} is wired to ${target}, which is not in the flow`);
        }
        const scope = node.type === 'catch' ? (node.scope as string[] | null) : null;
        for (const target of scope ?? []) assert.ok(inFile.has(target), `${file}: catch ${node.id} watches ${target}, which is not in the flow`);
      }
    }
    const missing = Object.keys(OUR_PROPERTIES).filter((t) => t !== 'era-server' && !seen.has(t));
    assert.deepEqual(missing, [], 'every non-config node has an example');
  });

  describe('in Node-RED, against the simulator', function () {
    let sim: Simulator;
    let ctl: SimControl;
    let front: NodeFront;
    let base: string;
    let tmp: string;
    let statuses: StatusLog;

    before(async function () {
      front = await startNodeFront();
      base = front.base;
    });

    after(async function () {
      await front.close();
    });

    beforeEach(async function () {
      ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'era-examples-'));
      statuses = new StatusLog();
      await startRed();
    });

    afterEach(async function () {
      statuses.stop();
      await stopRed();
      forgetNodeApp();
      await sim.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    /**
     * Loads an example as a user would run it, with the server node pointed at the simulator
     * and the credentials typed in; `helpers` lists nodes (debug, file) replaced by helper
     * nodes so a test sees what reaches them; `patch` changes properties (short timeouts).
     */
    async function loadExample(file: string, helpers: string[] = [], patch: Record<string, Record<string, unknown>> = {}): Promise<FlowNode[]> {
      const flow = readExample(file).map((n): FlowNode => {
        let node: FlowNode = { ...n };
        if (node.type === 'era-server') node.url = sim.url;
        if (node.type === 'http request' && typeof node.url === 'string') node.url = node.url.replace('http://127.0.0.1:1880', base);
        if (node.type === 'file') node.filename = path.join(tmp, String(node.filename));
        if (node.type === 'era-recording' && node.output === 'file') node.directory = path.join(tmp, 'recordings');
        if (helpers.includes(node.id)) node = { id: node.id, type: 'helper', z: node.z, wires: node.wires ?? [] };
        return { ...node, ...patch[node.id] };
      });
      const tabs = [...new Set(flow.map((n) => n.z).filter((z): z is string => typeof z === 'string'))];
      const full = [...tabs.map((id) => ({ id, type: 'tab', label: id })), ...flow];
      const dashboard = flow.some((n) => DASHBOARD_MODULES[n.type] !== undefined) ? DASHBOARD_NODES : [];
      await helper.load([...ALL_NODES, ...CORE_NODES, ...dashboard, captureNodeApp], full, CREDENTIALS);
      return flow;
    }

    async function subscribed(): Promise<void> {
      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the flow subscribed to events');
    }

    async function restCalls(method?: string): Promise<SimRequest[]> {
      return (await ctl.requests()).filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/') && (!method || r.method === method));
    }

    function flowContext(id: string, key: string): unknown {
      return (helper.getNode(id) as unknown as { context(): { flow: { get(k: string): unknown } } }).context().flow.get(key);
    }

    for (const file of FILES) {
      it(`${file}: every node type is known and every node starts`, async function () {
        const flow = await loadExample(file);
        for (const node of flow) {
          assert.ok(helper.getNode(node.id), `${file}: node ${node.id} (${node.type}) did not start`);
        }
        // Socket users connect; nothing logs an error while the flow starts.
        const listeners = flow.filter((n) => n.type === 'era-events' || n.type === 'era-wait');
        await eventually(() => listeners.every((n) => statuses.has(n.id, 'green', 'dot')), 5000, 'the event nodes to connect');
        const errors = helper
          .log()
          .args.filter((a) => (a[0] as { level?: number })?.level !== undefined && ((a[0] as { level: number }).level <= 20))
          .map((a) => (a[0] as { msg?: unknown }).msg);
        assert.deepEqual(errors, [], `${file}: errors logged`);
      });
    }

    it('01: an incoming call pops the caller\'s CRM card to the operator; outgoing calls do not', async function () {
      await loadExample('01-incoming-call-screen-pop.json', ['ex01-out']);
      const pops = new Inbox('ex01-out');
      await subscribed();
      await ctl.startCall({ from: '101', to: '+79995550000', dir: 'out' });
      const known = await ctl.startCall({ from: '+79990001123', to: '101' });
      const unknown = await ctl.startCall({ from: '+79990001120', to: '102' });
      await pops.count(2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(pops.messages.length, 2, 'one pop per incoming call, none for the outgoing one');
      const [first, second] = pops.messages;
      assert.equal(first.topic, 'screen-pop/101');
      assert.deepEqual({ ...(first.payload as object), at: undefined }, {
        operator: '101',
        caller: '+79990001123',
        name: 'John Smith',
        company: 'Acme Ltd',
        crmUrl: 'https://crm.example.com/contacts?phone=%2B79990001123',
        connectionId: known.connectionid,
        at: undefined,
      });
      assert.match(String((first.payload as { at: string }).at), /^\d{4}-\d\d-\d\dT/);
      assert.equal(first.connectionId, known.connectionid);
      assert.equal(second.topic, 'screen-pop/102');
      assert.equal((second.payload as { name: string }).name, 'Unknown caller');
      assert.equal((second.payload as { connectionId: string }).connectionId, unknown.connectionid);
    });

    it('02: POST /era-example/call places the call and answers its connectionId; a bad request is a 400', async function () {
      await loadExample('02-click-to-call.json');
      const res = await fetch(`${base}/era-example/call`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ from: '101', to: '+79991234567' }),
      });
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { connectionId: string };
      const placed = await ctl.getCall(answer.connectionId);
      assert.deepEqual([placed.fromnum, placed.tonum], ['101', '+79991234567']);
      const posts = await restCalls('POST');
      assert.equal(posts.length, 1);
      assert.deepEqual([posts[0].path, (posts[0].body as { to: string }).to], ['/rest/v1/uc/calls', '+79991234567']);

      const bad = await fetch(`${base}/era-example/call`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ from: '101' }),
      });
      assert.equal(bad.status, 400);
      const error = (await bad.json()) as { error: string; message: string };
      assert.equal(error.error, 'ERA_INVALID_INPUT');
      assert.ok(error.message.length > 0);
      assert.equal((await restCalls('POST')).length, 1, 'nothing sent for the bad request');

      helper.getNode('ex02-button').receive({});
      await eventually(async () => (await restCalls('POST')).length === 2, 5000, 'the inject button to place a call');
    });

    it('03: each finished call becomes one call record from era-call-log, as a DB-shaped message and a JSON line in the file', async function () {
      await loadExample('03-call-log.json', ['ex03-db']);
      const rows = new Inbox('ex03-db');
      await subscribed();
      const call = await ctl.startCall({ from: '+79990001122', to: '200', group: ['101', '102'] });
      await ctl.call('POST', `calls/${encodeURIComponent(call.id)}/answer`, { by: '102' });
      await ctl.hangup(call.id);
      const missed = await ctl.startCall({ from: '+79990003344', to: '101', record: true });
      await ctl.hangup(missed.id, 'cancel');
      const recorded = await ctl.startCall({ from: '+79990005566', to: '103', answer: true, record: true });
      await ctl.hangup(recorded.id);
      await rows.count(3);
      const rowOf = (id: string) => rows.messages.find((m) => (m.payload as Record<string, unknown>).connection_id === id)!;
      const msg = rowOf(call.connectionid);
      const row = msg.payload as Record<string, unknown>;
      assert.deepEqual(
        [row.call_id, row.direction, row.from_number, row.to_number, row.answered_by, row.outcome, row.end_reason, row.transfers, row.recording_key, row.replayed],
        [call.cid, 'in', '+79990001122', '102', '102', 'answered', 'bye', '', null, false],
      );
      for (const t of ['started_at', 'answered_at', 'ended_at']) assert.match(String(row[t]), /^\d{4}-\d\d-\d\dT/, t);
      for (const t of ['ring_seconds', 'talk_seconds', 'hold_seconds']) assert.equal(typeof row[t], 'number', t);
      assert.match(String(msg.topic), /^INSERT INTO call_log \(connection_id, .*\) VALUES \(\$connection_id, /);
      assert.equal((msg.params as Record<string, unknown>).$connection_id, call.connectionid);
      const m = rowOf(missed.connectionid).payload as Record<string, unknown>;
      assert.deepEqual([m.outcome, m.answered_by, m.answered_at, m.talk_seconds, m.end_reason], ['missed', null, null, 0, 'cancel']);
      const r = rowOf(recorded.connectionid).payload as Record<string, unknown>;
      assert.equal(r.recording_key, (await ctl.getCall(recorded.id)).recordingKey);

      const log = path.join(tmp, 'era-call-log.jsonl');
      await eventually(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim().split('\n').length === 3, 5000, 'the call log file');
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.find((l) => l.connection_id === call.connectionid), JSON.parse(JSON.stringify(row)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(rows.messages.length, 3, 'one record per call');
    });

    it('04: once a recorded call ends, its recording arrives as a temporary link and as a saved file', async function () {
      await loadExample('04-recording-after-call.json', ['ex04-url-debug', 'ex04-file-debug']);
      const links = new Inbox('ex04-url-debug');
      const saved = new Inbox('ex04-file-debug');
      await subscribed();
      const call = await ctl.startCall({ from: '+79990001122', to: '101', answer: true, record: true });
      await ctl.hangup(call.id);
      await links.count(1);
      await saved.count(1);
      assert.match(String(links.messages[0].payload), /^http:\/\/127\.0\.0\.1:\d+\/temp\/[a-z0-9]{27}\.mp3$/);
      const file = String(saved.messages[0].payload);
      assert.equal(path.dirname(file), path.join(tmp, 'recordings'));
      assert.equal(fs.readFileSync(file).subarray(0, 3).toString('latin1'), 'ID3');
    });

    describe('05: ring an operator, transfer to the queue when nobody answers', function () {
      const SHORT = { 'ex05-wait': { timeout: '0.5' } };
      const OUTPUTS = ['ex05-answered', 'ex05-queued', 'ex05-gone'];

      it('not answered in time: transferred (REFER) to 500', async function () {
        await loadExample('05-ring-operator-then-queue.json', OUTPUTS, SHORT);
        const queued = new Inbox('ex05-queued');
        await subscribed();
        const call = await ctl.startCall({ from: '+79990001122', to: '101' });
        await queued.count(1);
        const refers = await restCalls('REFER');
        assert.equal(refers.length, 1);
        assert.equal(refers[0].path, `/rest/v1/uc/calls/${encodeURIComponent(call.connectionid)}`);
        assert.equal((refers[0].body as { to: string }).to, '500');
        assert.equal((await ctl.getCall(call.id)).tonum, '500');
      });

      it('answered in time: the first output, no transfer', async function () {
        await loadExample('05-ring-operator-then-queue.json', OUTPUTS, { 'ex05-wait': { timeout: '5' } });
        const answered = new Inbox('ex05-answered');
        await subscribed();
        const call = await ctl.startCall({ from: '+79990001122', to: '101' });
        await new Promise((r) => setTimeout(r, 100));
        await ctl.answer(call.id);
        await answered.count(1);
        assert.equal((answered.messages[0].call as { state: string }).state, 'talking');
        assert.deepEqual(await restCalls('REFER'), []);
      });

      it('the caller hangs up first: nothing to transfer', async function () {
        await loadExample('05-ring-operator-then-queue.json', OUTPUTS, SHORT);
        const gone = new Inbox('ex05-gone');
        await subscribed();
        const call = await ctl.startCall({ from: '+79990001122', to: '101' });
        await new Promise((r) => setTimeout(r, 100));
        await ctl.hangup(call.id, 'cancel');
        await gone.count(1);
        assert.deepEqual(await restCalls('REFER'), []);
      });
    });

    it('06: the buttons answer, hold, resume and hang up the call that rang last', async function () {
      await loadExample('06-answer-hold-hang-up.json', ['ex06-debug', 'ex06-errors']);
      const results = new Inbox('ex06-debug');
      await subscribed();
      const call = await ctl.startCall({ from: '+79990001122', to: '101' });
      await eventually(() => flowContext('ex06-ringing-set', 'eraCall') === call.connectionid, 5000, 'the call remembered');
      const steps: Array<[string, string]> = [
        ['ex06-btn-answer', 'talk'],
        ['ex06-btn-hold', 'hold'],
        ['ex06-btn-resume', 'talk'],
        ['ex06-btn-hangup', 'ended'],
      ];
      for (const [i, [button, state]] of steps.entries()) {
        helper.getNode(button).receive({});
        await results.count(i + 1);
        assert.equal(results.messages[i].statusCode, 200, button);
        assert.equal((await ctl.getCall(call.id)).state, state, button);
      }
    });

    it('07: the button sends 1234# into the answered call; the caller\'s keys arrive', async function () {
      await loadExample('07-dtmf.json', ['ex07-sent', 'ex07-key']);
      const sent = new Inbox('ex07-sent');
      const keys = new Inbox('ex07-key');
      await subscribed();
      const call = await ctl.startCall({ from: '+79990001122', to: '101', answer: true });
      await eventually(() => flowContext('ex07-answered-set', 'eraCall') === call.connectionid, 5000, 'the call remembered');
      helper.getNode('ex07-btn').receive({});
      await sent.count(1);
      const dtmf = await restCalls('SEND_DTMF');
      assert.equal((dtmf[0].body as { dtmf: string }).dtmf, '1234#');
      await ctl.call('POST', `calls/${encodeURIComponent(call.id)}/dtmf`, { digits: '42' });
      await keys.until((m) => m.some((k) => (k.payload as { dtmf: string }).dtmf === '42'), 5000, 'the keys 4 and 2');
    });

    it('08: make a conference of one answered call and bring the other one in', async function () {
      await loadExample('08-conference.json', ['ex08-debug']);
      const results = new Inbox('ex08-debug');
      await subscribed();
      const a = await ctl.startCall({ from: '+79990001122', to: '101', answer: true });
      await eventually(() => flowContext('ex08-set', 'eraCall') === a.connectionid, 5000, 'the first call remembered');
      const b = await ctl.startCall({ from: '+79990003344', to: '102', answer: true });
      await eventually(() => flowContext('ex08-set', 'eraCall') === b.connectionid, 5000, 'the second call remembered');
      helper.getNode('ex08-btn-switch').receive({});
      await results.count(1);
      const conference = flowContext('ex08-set', 'eraConference');
      assert.ok(conference, 'the conference remembered');
      helper.getNode('ex08-btn-join').receive({});
      await results.count(2);
      assert.equal((await ctl.getCall(a.id)).conference, conference);
      assert.equal((await ctl.getCall(b.id)).conference, conference);
    });

    it('09: consult 102, then hand the caller over (REFERREPLACES)', async function () {
      await loadExample('09-attended-transfer.json', ['ex09-debug']);
      const results = new Inbox('ex09-debug');
      await subscribed();
      const call = await ctl.startCall({ from: '+79990001122', to: '101', answer: true });
      await eventually(() => flowContext('ex09-answered-set', 'eraCall') === call.connectionid, 5000, 'the call remembered');
      helper.getNode('ex09-btn-consult').receive({});
      await results.count(1);
      const consult = String(results.messages[0].connectionId);
      assert.deepEqual(
        [(await ctl.getCall(consult)).fromnum, (await ctl.getCall(consult)).tonum],
        ['101', '102'],
      );
      await ctl.answer(consult);
      helper.getNode('ex09-btn-transfer').receive({});
      await results.count(2);
      const refer = await restCalls('REFERREPLACES');
      assert.equal(refer.length, 1);
      assert.equal((refer[0].body as { replaces: string }).replaces, consult);
      assert.equal((await ctl.getCall(call.id)).tonum, '102');
    });

    it('10: lists the calls, ends them all, and polls what changed', async function () {
      await loadExample('10-list-and-poll-calls.json', ['ex10-debug', 'ex10-ended', 'ex10-poll-debug'], { 'ex10-poll': { interval: 0.2 } });
      const lists = new Inbox('ex10-debug');
      const ended = new Inbox('ex10-ended');
      const polled = new Inbox('ex10-poll-debug');
      const a = await ctl.startCall({ from: '+79990001122', to: '101', answer: true });
      const b = await ctl.startCall({ from: '+79990003344', to: '102' });
      helper.getNode('ex10-btn-list').receive({});
      await lists.count(1);
      assert.deepEqual((lists.messages[0].payload as Array<{ id: string }>).map((c) => c.id).sort(), [a.id, b.id].sort());
      await polled.until((m) => m.filter((x) => x.topic === 'callevents.invite').length >= 2, 5000, 'the poll to see both calls');
      helper.getNode('ex10-btn-end').receive({});
      await ended.count(2);
      assert.equal((await ctl.getCall(a.id)).state, 'ended');
      assert.equal((await ctl.getCall(b.id)).state, 'ended');
      await polled.until((m) => m.filter((x) => x.topic === 'callevents.dlg_end').length >= 2, 5000, 'the poll to see both calls end');
    });

    it('11: GET /era-example/calls/<id> answers the call\'s state, 404 for an unknown call', async function () {
      await loadExample('11-call-state-endpoint.json');
      const call = await ctl.startCall({ from: '+79990001122', to: '101', answer: true });
      const res = await fetch(`${base}/era-example/calls/${encodeURIComponent(call.connectionid)}`);
      assert.equal(res.status, 200);
      const state = (await res.json()) as Record<string, unknown>;
      assert.deepEqual([state.connectionId, state.from, state.to, state.state], [call.connectionid, '+79990001122', '101', 'talking']);
      const missing = await fetch(`${base}/era-example/calls/no-such-call.1`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: string }).error, 'ERA_NOT_FOUND');
    });

    it('12: a REST request and a WebSocket request', async function () {
      await loadExample('12-any-request.json', ['ex12-debug']);
      const answers = new Inbox('ex12-debug');
      helper.getNode('ex12-btn-rest').receive({});
      await answers.count(1);
      assert.equal(answers.messages[0].statusCode, 200);
      assert.deepEqual(answers.messages[0].payload, []);
      helper.getNode('ex12-btn-ws').receive({});
      await answers.count(2);
      assert.equal((answers.messages[1].payload as { login?: string }).login, 'operator');
    });

    it('13: webhooks become CRM call log entries, one per call, even when the end\'s delivery is lost', async function () {
      await loadExample('13-webhook-call-log.json', ['ex13-crm'], { 'ex13-webhook': { reconcile: 1 } });
      const entries = new Inbox('ex13-crm');
      // What the Comment's curl does: the simulator sends its events to this Node-RED.
      const res = await fetch(`${sim.url}/rest/v1/service/webhooks`, {
        method: 'POST',
        headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${base}/era/events`, classes: ['callevents'], expires: 3600 }),
      });
      assert.equal(res.status, 200);

      const missed = await ctl.startCall({ from: '+79990001122', to: '101' });
      await ctl.hangup(missed.id, 'cancel');
      await entries.count(1);
      assert.deepEqual({ ...(entries.messages[0].payload as object), started_at: undefined }, {
        type: 'call',
        external_id: missed.connectionid,
        phone: '+79990001122',
        operator: '101',
        direction: 'incoming',
        status: 'missed',
        started_at: undefined,
        duration_s: 0,
        end_reason: 'cancel',
        source: 'webhook',
      });
      assert.match(String((entries.messages[0].payload as { started_at: string }).started_at), /^\d{4}-\d\d-\d\dT/);
      assert.equal(entries.messages[0].topic, `crm/call-log/${missed.connectionid}`);
      await eventually(() => sim.webhookStats.answered === 5, 5000, 'the missed call\'s five deliveries');

      // Every 5th delivery lost: an answered call's 5th event is its dlg_end. Its entry comes
      // from the reconciliation (every second here, every minute in the example).
      sim.setFaults({ webhookDrop: 0.2 });
      const answered = await ctl.startCall({ from: '+79990003344', to: '102', answer: true });
      await ctl.hangup(answered.id);
      await entries.count(2, 5000);
      const entry = entries.messages[1].payload as Record<string, unknown>;
      assert.deepEqual([entry.external_id, entry.status, entry.source], [answered.connectionid, 'answered', 'reconciled']);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(entries.messages.length, 2, 'one entry per call');
    });

    describe('17: the wallboard as its function hands each figure to its widget', function () {
      // The stats node is a helper here, so that each snapshot is one the test wrote.
      const WIDGETS = ['ex17-stats', 'ex17-platform', 'ex17-ringing', 'ex17-gauge', 'ex17-sl-text', 'ex17-operators'];
      type Snapshot = Record<string, unknown>;
      const window = (serviceLevel: number | null) => ({
        minutes: 60, inbound: serviceLevel === null ? 0 : 2, outbound: 1, answered: 1, missed: serviceLevel === null ? 0 : 1,
        unanswered: 0, failed: 0, serviceLevel, averageRingSeconds: 3, averageTalkSeconds: 40,
      });
      const snapshot = (over: Snapshot = {}): Snapshot => ({
        at: Date.now(), connected: true, connection: 'connected', live: { ringing: 2, talking: 1, held: 0, total: 3 },
        longestRingingSeconds: 7, window: window(50), operators: { '101': { state: 'talking', calls: 1, talkSeconds: 40 } }, ...over,
      });

      /** Sends the snapshots one by one; what each widget got for each. */
      async function board(...snapshots: Snapshot[]): Promise<Record<string, Array<Record<string, unknown>>>> {
        await loadExample('17-wallboard.json', WIDGETS);
        const stats = helper.getNode('ex17-stats') as unknown as { send(msg: Record<string, unknown>): void };
        const inboxes = WIDGETS.slice(1).map((id) => [id, new Inbox(id)] as const);
        for (const [i, payload] of snapshots.entries()) {
          stats.send({ topic: 'era-stats', payload });
          for (const [, inbox] of inboxes) await inbox.count(i + 1);
        }
        return Object.fromEntries(inboxes.map(([id, inbox]) => [id, inbox.messages]));
      }
      const operatorState = (msg: Record<string, unknown>) => (msg.payload as Array<{ state: unknown }>)[0].state;

      it('a service level on the gauge; none left in the window: the gauge hides, its text says why', async function () {
        const got = await board(snapshot(), snapshot({ window: window(null) }));
        assert.deepEqual([got['ex17-gauge'][0].payload, got['ex17-gauge'][0].visible], [50, true]);
        assert.equal(got['ex17-sl-text'][0].payload, '50 % of inbound calls answered in time');
        assert.equal(got['ex17-gauge'][1].visible, false, 'the gauge hides rather than keep 50');
        assert.equal(got['ex17-gauge'][1].payload, undefined, 'and gets no value to show');
        assert.equal(got['ex17-sl-text'][1].payload, 'no inbound call in the last 60 min');
      });

      it('the platform away (connected false), or connected with the table not in step (live null): away, and dashes', async function () {
        const got = await board(
          snapshot(),
          snapshot({ connected: false, connection: 'disconnected', live: null, longestRingingSeconds: null, operators: { '101': { state: null, calls: 1, talkSeconds: 40 } } }),
          snapshot({ live: null, longestRingingSeconds: null }),
          snapshot({ connected: false, connection: 'connecting', live: { ringing: 2, talking: 1, held: 0, total: 3 } }),
        );
        assert.deepEqual(got['ex17-platform'].map((m) => m.payload), ['connected', 'away (disconnected)', 'away (figures not in sync yet)', 'away (connecting)']);
        assert.deepEqual(got['ex17-ringing'].map((m) => m.payload), [2, '—', '—', '—'], 'no live figure unless connected and in step');
        assert.deepEqual(got['ex17-operators'].map(operatorState), ['talking', '—', '—', '—'], 'nor an operator\'s state');
      });

      it('a snapshot that names no connection but has live figures shows them', async function () {
        const got = await board(snapshot({ connected: undefined, connection: undefined }));
        assert.deepEqual([got['ex17-platform'][0].payload, got['ex17-ringing'][0].payload], ['connected', 2]);
      });
    });
  });
});
