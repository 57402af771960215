/**
 * era-call-log on two replicas of one flow — two real Node-RED processes (this package installed
 * in each), one simulator, one Redis: each replica hears every call and builds its record, and
 * the record of a call leaves one replica only, also when one of them learns of the end late
 * (made up after its own outage) while the other heard it live.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../support/sim';
import { RedisServer } from '../support/redis';
import { TcpProxy } from './proxy';
import { Replica, type FlowNode, type Report } from './replica';

const DIST = path.resolve(__dirname, '..', '..', 'dist', 'nodes', 'era-call-log.js');

/**
 * era-server (token mode, cluster on) → era-call-log → a function writing one line per record to
 * the console, as Replica reads them (the record's connectionId where era-events puts its event
 * id); a status node on the call log, for the cluster's health.
 */
function callLogFlow(eraUrl: string, redisUrl: string): FlowNode[] {
  const at = { z: 'tab', x: 100, y: 100 };
  const fn = (id: string, func: string) => ({ id, type: 'function', ...at, func, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['out']] });
  const report = [
    "const seq = (context.get('seq') || 0) + 1;",
    "context.set('seq', seq);",
    "msg.payload = 'CLAIMREPORT ' + JSON.stringify({ s: seq, e: 'record:' + msg.connectionId, t: msg.topic, c: msg.connectionId, p: msg.replayed === true, at: Date.now(), call: msg.call ? msg.call.state : null });",
    'return msg;',
  ].join('\n');
  return [
    { id: 'tab', type: 'tab', label: 'replica' },
    {
      id: 'srv',
      type: 'era-server',
      name: 'era',
      url: eraUrl,
      domain: 'demo.local',
      authMode: 'token',
      verifyTls: true,
      ca: '',
      pingInterval: 1,
      requestTimeout: 2,
      cluster: 'redis',
      redisUrl,
      clusterName: '',
      credentials: { token: 'demo-token' },
    },
    { id: 'log', type: 'era-call-log', ...at, name: 'calls', server: 'srv', direction: 'all', waitRecording: 2, wires: [['report']] },
    fn('report', report),
    { id: 'st', type: 'status', ...at, scope: ['log'], wires: [['status']] },
    fn('status', "msg.payload = 'CLAIMSTATUS ' + JSON.stringify({ fill: msg.status.fill, text: msg.status.text });\nreturn msg;"),
    { id: 'out', type: 'debug', ...at, name: 'report', active: true, tosidebar: false, console: 'true', tostatus: false, complete: 'payload', targetType: 'msg', wires: [] },
  ];
}

describe('cluster: era-call-log on two Node-RED replicas, one Era, one Redis', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let sim: Simulator;
  const proxies: Record<string, TcpProxy> = {};
  const a = new Replica('A');
  const b = new Replica('B');
  const both = [a, b];

  /** Every record of the call, from either replica. */
  const recordsOf = (id: string): Report[] => both.flatMap((r) => r.reports.filter((x) => x.connectionId === id));

  async function reported(ids: string[], ms = 15_000): Promise<void> {
    await a.until(() => ids.every((id) => recordsOf(id).length > 0), ms, `records of ${ids.length} calls (${ids.filter((id) => recordsOf(id).length > 0).length} so far)`);
    // Long enough for a second copy to show, were one to come.
    await sleep(2500);
  }

  before(async function () {
    if (!fs.existsSync(DIST)) throw new Error('dist/ is not built: run npm run build (npm test does)');
    redis = await RedisServer.start();
    sim = await startSimulator({ port: 0, dlgStopDelayMs: 200 });
    for (const r of both) proxies[r.name] = await TcpProxy.start(sim.port);
    await Promise.all(both.map((r) => r.start(callLogFlow(`http://127.0.0.1:${proxies[r.name]!.port}`, redis.url))));
    await Promise.all(both.map((r) => r.showing('cluster ok')));
  });

  afterEach(function () {
    for (const r of both) {
      assert.ok(r.running, `${r.name} is not running:\n${r.lines.slice(-20).join('\n')}`);
      assert.deepEqual(r.lines.filter((l) => /Uncaught Exception|Unhandled|UnhandledPromiseRejection/i.test(l)), [], `${r.name} logged uncaught errors`);
    }
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all(both.map((r) => r.remove()));
    for (const p of Object.values(proxies)) await p.stop();
    await sim?.stop();
    await redis?.stop();
  });

  it('60 calls — answered, missed, recorded — heard by both: one record each, out of one replica', async function () {
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const call = sim.startCall({ from: `+7999${String(i).padStart(7, '0')}`, to: '101', answer: i % 3 !== 1, record: i % 3 === 2 });
      ids.push(call.id);
      sim.hangupCall(call.id, i % 3 === 1 ? 'cancel' : 'bye');
      await sleep(10);
    }
    await reported(ids);
    for (const [i, id] of ids.entries()) {
      const records = recordsOf(id);
      assert.equal(records.length, 1, `call ${id}: ${records.map((r) => `${r.pid} ${r.topic}`).join(', ')}`);
      assert.deepEqual([records[0]!.topic, records[0]!.replayed, records[0]!.callState], [i % 3 === 1 ? 'missed' : 'answered', false, 'ended']);
    }
    const fromA = ids.filter((id) => recordsOf(id)[0]!.pid === a.pid).length;
    process.stdout.write(`      split: ${fromA} records out of A, ${ids.length - fromA} out of B\n`);
  });

  it('a call\'s end heard live by one replica and made up after an outage by the other: one record', async function () {
    const calls = [0, 1, 2].map((i) => sim.startCall({ from: `+7912000000${i}`, to: '102', answer: true }));
    await sleep(300);
    const mark = a.statuses.length;
    await proxies.A!.cut();
    await a.saw('disconnected', mark);
    for (const c of calls) sim.hangupCall(c.id);
    // B hears the ends live; A finds them ended once it is back, and makes up their ends.
    await b.until(() => calls.every((c) => recordsOf(c.id).length > 0), 10_000, 'B\'s records');
    await proxies.A!.restore();
    await a.showing('cluster ok');
    await sleep(3000);
    for (const c of calls) {
      const records = recordsOf(c.id);
      assert.deepEqual(records.map((r) => [r.pid, r.topic, r.replayed]), [[b.pid, 'answered', false]], `call ${c.id}: the live record only`);
    }
  });

  it('both replicas cut off while calls end: one record each, replayed, out of the first one back', async function () {
    const calls = [0, 1, 2].map((i) => sim.startCall({ from: `+7912100000${i}`, to: '103', answer: true }));
    await sleep(300);
    const marks = both.map((r) => r.statuses.length);
    await Promise.all(both.map((r) => proxies[r.name]!.cut()));
    await Promise.all(both.map((r, i) => r.saw('disconnected', marks[i]!)));
    for (const c of calls) sim.hangupCall(c.id);
    await proxies.A!.restore();
    await a.showing('cluster ok');
    await a.until(() => calls.every((c) => recordsOf(c.id).length > 0), 10_000, 'A\'s made-up records');
    await proxies.B!.restore();
    await b.showing('cluster ok');
    await sleep(3000);
    for (const c of calls) {
      assert.deepEqual(recordsOf(c.id).map((r) => [r.pid, r.topic, r.replayed]), [[a.pid, 'answered', true]], `call ${c.id}`);
    }
  });
});
