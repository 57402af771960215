/**
 * A flow saved by the package's first release (test/fixtures/old-flows/first-release.json:
 * every node type of that release, each with only the properties it had then — no maxCalls,
 * cluster or tls on the server, no maxWaits on era-wait) still works: the properties added
 * since are absent from it, and each node takes today's default for them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { callRequests, errorOf } from '../support/flows';
import { eventually, helper, Inbox, load, startRed, StatusLog, stopRed, type FlowNode } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

type Msg = Record<string, any>;

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'old-flows', 'first-release.json');
const SERVER = 'fr-server';
/** The first release's node types: the runtime of that time listed these in package.json. */
const FIRST_RELEASE_TYPES = [
  'era-server', 'era-events', 'era-dial', 'era-transfer', 'era-conference', 'era-hold', 'era-dtmf',
  'era-hangup', 'era-answer', 'era-recording', 'era-calls', 'era-request', 'era-call', 'era-wait',
];

/** The saved flow pointed at the simulator, its debug nodes turned into helper nodes, and a Catch node. */
function savedFlow(sim: Simulator): FlowNode[] {
  const saved = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as FlowNode[];
  const flow = saved.map((n): FlowNode => {
    if (n.type === 'era-server') return { ...n, url: sim.url };
    if (n.type === 'debug') return { id: n.id, type: 'helper', z: n.z, wires: [] };
    return n;
  });
  const tab = saved.find((n) => n.type === 'tab')?.id;
  return [...flow, { id: 'catcher', type: 'catch', z: tab, scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper', z: tab }];
}

describe('a flow saved by the first release', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;
  let caught: Inbox;
  /** What reached the debug node after `id` (its output `port`). */
  const outOf = (id: string, port = 0) => new Inbox(`${id}-out${port}`, () => caught.messages.map((m) => `${errorOf(m).code}: ${errorOf(m).message}`).join('; '));
  const send = (id: string, msg: Msg) => helper.getNode(id).receive(msg);

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    await startRed();
    statuses = new StatusLog();
    await load(savedFlow(sim), { [SERVER]: { login: 'operator', password: 'operator' } });
    caught = new Inbox('caught');
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await sim.stop();
  });

  it('holds every node type of that release with only the properties of that time', function () {
    const saved = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as FlowNode[];
    const types = new Set(saved.filter((n) => n.type.startsWith('era-')).map((n) => n.type));
    assert.deepEqual([...types].sort(), [...FIRST_RELEASE_TYPES].sort());
    const server = saved.find((n) => n.type === 'era-server') as FlowNode;
    for (const later of ['maxCalls', 'cluster', 'redisUrl', 'clusterName', 'tls']) assert.ok(!(later in server), `the server has no ${later}`);
    assert.ok(!('maxWaits' in (saved.find((n) => n.type === 'era-wait') as FlowNode)), 'era-wait has no maxWaits');
  });

  it('starts every node, connects the server and delivers events with msg.call', async function () {
    for (const n of savedFlow(sim).filter((x) => x.type.startsWith('era-'))) assert.ok(helper.getNode(n.id), `${n.type} ${n.id} started`);
    await eventually(() => statuses.has('fr-events', 'green', 'dot'), 5000, 'era-events shows connected');
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');

    const events = outOf('fr-events');
    const call = await ctl.startCall({ from: '+79991230000', to: '101' });
    await events.until((m) => m.some((x) => x.topic === 'callevents.dlg_call'), 5000, 'dlg_call');
    const ring = events.messages.find((m) => m.topic === 'callevents.dlg_call') as Msg;
    assert.equal(ring.connectionId, call.connectionid);
    assert.equal(ring.call.connectionId, call.connectionid, 'attachCall as saved (true)');
    assert.equal(ring.call.state, 'ringing');
    assert.equal(caught.messages.length, 0);
  });

  it('acts on a call with every action node, as the platform sees it', async function () {
    await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'subscribed');

    const dialled = outOf('fr-dial');
    send('fr-dial', { payload: '+79990001122' });
    await dialled.count(1);
    const id = String((dialled.messages[0] as Msg).connectionId);
    assert.equal((await ctl.getCall(id)).tonum, '+79990001122');

    // era-wait holds the message until the call is answered (its maxWaits, absent, is the default).
    const answered = outOf('fr-wait', 0);
    send('fr-wait', { connectionId: id });
    const answer = outOf('fr-answer');
    send('fr-answer', { connectionId: id });
    await answer.count(1);
    await answered.count(1);
    assert.equal((answered.messages[0] as Msg).call.state, 'talking');

    const state = outOf('fr-call');
    send('fr-call', { connectionId: id });
    await state.count(1);
    assert.equal((state.messages[0] as Msg).call.connectionId, id);

    await ctl.clearRequests();
    const steps: Array<[node: string, msg: Msg]> = [
      ['fr-dtmf', { connectionId: id, payload: '12#' }],
      ['fr-hold', { connectionId: id }],
      ['fr-transfer', { connectionId: id, payload: '102' }],
      ['fr-conference', { connectionId: id }],
      ['fr-calls', { connectionId: id }],
      ['fr-request', {}],
      ['fr-hangup', { connectionId: id }],
    ];
    for (const [node, msg] of steps) {
      const out = outOf(node);
      send(node, msg);
      await out.count(1, 5000);
      assert.equal((out.messages[0] as Msg).statusCode, 200, node);
    }
    const sent = (await callRequests(ctl)).map((r) => `${r.method} ${r.path}`);
    const forCall = `/rest/v1/uc/calls/${encodeURIComponent(id)}`;
    assert.deepEqual(sent, [
      `SEND_DTMF ${forCall}`,
      `NOTIFY ${forCall}`,
      `REFER ${forCall}`,
      `SWITCHCONF ${forCall}`,
      `GET ${forCall}`,
      'GET /rest/v1/uc/calls',
      `DELETE ${forCall}`,
    ]);
    assert.equal((await ctl.getCall(id)).state, 'ended');
    assert.equal(caught.messages.length, 0, 'no node reported an error');
  });

  it('gives the link of a recording', async function () {
    const call = await ctl.startCall({ record: true, answer: true });
    await ctl.hangup(call.id);
    const key = String((await ctl.getCall(call.id)).recordingKey ?? '');
    assert.ok(key, 'the simulator recorded the call');
    const link = outOf('fr-recording');
    send('fr-recording', { payload: { key } });
    await link.count(1, 5000);
    const url = String((link.messages[0] as Msg).payload);
    assert.ok(url.startsWith(`${sim.url}/temp/`), url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
  });
});
