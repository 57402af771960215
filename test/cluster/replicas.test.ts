/**
 * Two replicas of one flow, one platform, one Redis — all real: two Node-RED processes (this
 * package installed in each), the simulator in this process, Debian's redis-server. Each
 * replica's era-events output is counted from its console; an event reported by no replica is
 * lost, one reported by both was emitted twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import type { SimEvent } from '../../src/simulator';
import { startSimulator, type Simulator } from '../support/sim';
import { RedisServer } from '../support/redis';
import { TcpProxy } from './proxy';
import { Replica, replicaFlow, type Report, type ReplicaFlowOptions } from './replica';
import { REFUSED_PORT } from '../support/ports';

const DIST = path.resolve(__dirname, '..', '..', 'dist', 'cluster', 'redis-claims.js');
/** The cluster's default name: the era-server's domain. */
const CLUSTER = 'demo.local';

type RedisClient = ReturnType<typeof createClient>;

/** The platform's call events (era-events listens to callevents.*), in the order it produced them. */
class Produced {
  readonly events: SimEvent[] = [];
  private readonly listener = (e: SimEvent) => {
    if (e.class === 'callevents') this.events.push(e);
  };

  constructor(private readonly sim: Simulator) {
    sim.on('event', this.listener);
  }

  ids(): Set<string> {
    return new Set(this.events.map((e) => e.data.eventid));
  }

  stop(): void {
    this.sim.off('event', this.listener);
  }
}

/** Every report of `eventId`s in `ids`, across replicas. */
function reportsOf(replicas: Replica[], ids: ReadonlySet<string>): Map<string, Report[]> {
  const by = new Map<string, Report[]>();
  for (const r of replicas) {
    for (const report of r.reports) {
      if (!ids.has(report.eventId)) continue;
      by.set(report.eventId, [...(by.get(report.eventId) ?? []), report]);
    }
  }
  return by;
}

async function eventually(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await sleep(25);
  }
}

/** Waits until every id in `ids` was reported by some replica, then a little longer for late duplicates. */
async function allReported(replicas: Replica[], ids: ReadonlySet<string>, ms = 20_000): Promise<Map<string, Report[]>> {
  await eventually(() => reportsOf(replicas, ids).size === ids.size, ms, () => `${reportsOf(replicas, ids).size} of ${ids.size} events reported`);
  await sleep(300);
  return reportsOf(replicas, ids);
}

function twice(by: Map<string, Report[]>): string[] {
  return [...by].filter(([, r]) => r.length > 1).map(([id, r]) => `${id} (${r.map((x) => x.topic).join(', ')})`);
}

/** Short calls: one started every `everyMs`, answered and hung up a moment later. */
async function calls(sim: Simulator, count: number, everyMs: number): Promise<void> {
  const going: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const call = sim.startCall({ from: `+7999${String(i).padStart(7, '0')}`, to: '101' });
    going.push(
      (async () => {
        await sleep(30);
        sim.answerCall(call.id);
        await sleep(60);
        sim.hangupCall(call.id);
      })(),
    );
    await sleep(everyMs);
  }
  await Promise.all(going);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe('cluster: two Node-RED replicas, one Era, one Redis', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let sim: Simulator;
  let inspect: RedisClient;
  const proxies: Record<string, TcpProxy> = {};
  const a = new Replica('A');
  const b = new Replica('B');
  const both = [a, b];

  const flow = (r: Replica, extra: Partial<ReplicaFlowOptions> = {}) =>
    replicaFlow({ eraUrl: `http://127.0.0.1:${proxies[r.name]!.port}`, redisUrl: redis.url, ...extra });

  /** Deploys `flows` (one per replica) and waits until each replica's era-events shows `texts`. */
  async function deploy(flows: [ReturnType<typeof replicaFlow>, ReturnType<typeof replicaFlow>], texts: [string, string]): Promise<void> {
    const marks = both.map((r) => r.statuses.length);
    await Promise.all(both.map((r, i) => r.deploy(flows[i]!)));
    await Promise.all(
      both.map((r, i) =>
        r.until(
          () => r.statuses.length > marks[i]! && (r.status?.text ?? '').includes(texts[i]!),
          15_000,
          `status "${texts[i]}" after the deploy (last: ${JSON.stringify(r.status)})`,
        ),
      ),
    );
  }

  before(async function () {
    if (!fs.existsSync(DIST)) throw new Error('dist/ is not built: run npm run build (npm test does)');
    redis = await RedisServer.start();
    sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
    inspect = createClient({ url: redis.url });
    inspect.on('error', () => undefined);
    await inspect.connect();
    for (const r of both) proxies[r.name] = await TcpProxy.start(sim.port);
    await Promise.all(both.map((r) => r.start(flow(r))));
    await Promise.all(both.map((r) => r.showing('cluster ok')));
  });

  afterEach(function () {
    // Nothing crashes Node-RED: every replica still runs (a killed one was started again), and none logged an uncaught error.
    for (const r of both) {
      assert.ok(r.running, `${r.name} is not running:\n${r.lines.slice(-20).join('\n')}`);
      const crashes = r.lines.filter((l) => /Uncaught Exception|Unhandled|UnhandledPromiseRejection/i.test(l));
      assert.deepEqual(crashes, [], `${r.name} logged uncaught errors`);
    }
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all(both.map((r) => r.remove()));
    for (const p of Object.values(proxies)) await p.stop();
    await inspect?.close().catch(() => undefined);
    await sim?.stop();
    await redis?.stop();
  });

  it('500 calls through both replicas: every call event reaches exactly one replica\'s output', async () => {
    const produced = new Produced(sim);
    await sim.burst({ calls: 500 });
    produced.stop();
    const ids = produced.ids();
    assert.equal(ids.size, 500 * 6, 'invite, dlg_init, dlg_call, dlg_start, dlg_end, dlg_stop per call');
    const by = await allReported(both, ids);
    assert.deepEqual(twice(by), [], 'no event emitted twice');
    assert.equal(by.size, ids.size, 'none lost');
    const fromA = [...by.values()].filter((r) => r[0]!.pid === a.pid).length;
    process.stdout.write(`      split: ${fromA} events out of A, ${ids.size - fromA} out of B\n`);
  });

  it('a replica SIGKILLed mid-traffic and started again: lost only events it had claimed at the instant of the kill', async function () {
    this.timeout(60_000);
    // When was each event claimed? Redis's MONITOR stamps every command as it runs it.
    const claimedAt = new Map<string, number>();
    const monitor = inspect.duplicate();
    monitor.on('error', () => undefined);
    await monitor.connect();
    await monitor.MONITOR((line: string) => {
      const m = /^(\d+\.\d+) \[\d+ [^\]]*\] "EVAL(?:SHA)?" "(?:[^"\\]|\\.)*" "\d+" "([^"]+)"/.exec(line);
      if (m && !claimedAt.has(m[2]!)) claimedAt.set(m[2]!, Number(m[1]) * 1000);
    });
    const produced = new Produced(sim);
    const victim = a.pid;
    const traffic = calls(sim, 220, 20);
    await sleep(1200);
    await a.kill();
    await a.start(flow(a));
    await a.showing('cluster ok');
    await traffic;
    // On a slow machine the restart can outlast the traffic: calls after it show the replica takes part again.
    await calls(sim, 40, 20);
    produced.stop();
    const ids = produced.ids();
    const reported = () => reportsOf(both, ids).size;
    // Settled: no new report for a while.
    let last = -1;
    await eventually(
      () => {
        const now = reported();
        const settled = now === last;
        last = now;
        return settled;
      },
      15_000,
      () => `${reported()} of ${ids.size} reported`,
    );
    await sleep(500);
    await monitor.close().catch(() => undefined);
    const by = reportsOf(both, ids);
    assert.deepEqual(twice(by), [], 'no event emitted twice');
    const lost = [...ids].filter((id) => !by.has(id));
    const owners = await Promise.all(lost.map((id) => inspect.get(`${CLUSTER}:${id}`)));
    const described = lost.map((id, i) => `${produced.events.find((e) => e.data.eventid === id)!.type} ${id} claimed by ${owners[i]}`);
    process.stdout.write(`      lost ${lost.length} of ${ids.size} events; each one lost was claimed by the killed process (pid ${victim})\n`);
    for (const line of described) process.stdout.write(`        ${line}\n`);
    for (let i = 0; i < lost.length; i++) {
      assert.ok(String(owners[i]).includes(`:${victim}:`), `lost ${described[i]}: not claimed by the killed process ${victim}`);
    }
    // The restarted replica takes part again.
    assert.ok([...by.values()].some((r) => r[0]!.pid === a.pid), 'the restarted replica emitted events');
    // The moment an event can be lost in: from Redis running its claim to era-events' message leaving the node.
    const windows = [...by.values()]
      .map((r) => r[0]!.at - (claimedAt.get(`${CLUSTER}:${r[0]!.eventId}`) ?? NaN))
      .filter((ms) => Number.isFinite(ms))
      .sort((x, y) => x - y);
    assert.ok(windows.length > ids.size / 2, 'MONITOR saw the claims');
    const ms = (v: number) => `${Math.max(0, v).toFixed(1)} ms`;
    process.stdout.write(
      `      claim won → message out of era-events (the flow's clock counts whole ms): p50 ${ms(percentile(windows, 50))}, p99 ${ms(percentile(windows, 99))}, max ${ms(windows[windows.length - 1]!)} (${windows.length} events)\n`,
    );
  });

  it('Redis slow (every chunk held 200 ms each way): events still flow once each, in order per call', async function () {
    const slow = await TcpProxy.start(redis.port, { delayMs: 200 });
    try {
      const url = `redis://127.0.0.1:${slow.port}/0`;
      await deploy([flow(a, { redisUrl: url }), flow(b, { redisUrl: url })], ['cluster ok', 'cluster ok']);
      const marks = both.map((r) => r.statuses.length);
      const produced = new Produced(sim);
      await calls(sim, 30, 40);
      produced.stop();
      const by = await allReported(both, produced.ids());
      assert.deepEqual(twice(by), [], 'no event emitted twice');
      // Per replica and call, the order the platform produced them in.
      const order = new Map(produced.events.map((e, i) => [e.data.eventid, i]));
      for (const r of both) {
        const mine = r.reports.filter((x) => order.has(x.eventId)).sort((x, y) => x.pid - y.pid || x.seq - y.seq);
        const byCall = new Map<string, number[]>();
        for (const x of mine) byCall.set(x.connectionId!, [...(byCall.get(x.connectionId!) ?? []), order.get(x.eventId)!]);
        for (const [call, seen] of byCall) {
          assert.deepEqual(seen, [...seen].sort((x, y) => x - y), `${r.name}: events of call ${call} out of order`);
        }
      }
      for (const [i, r] of both.entries()) {
        assert.ok(!r.statuses.slice(marks[i]).some((s) => (s.text ?? '').includes('unreachable')), `${r.name}: claims answered within the bound`);
      }
    } finally {
      await deploy([flow(a), flow(b)], ['cluster ok', 'cluster ok']);
      await slow.stop();
    }
  });

  it('Redis restarted mid-traffic: each replica says so once, emits meanwhile, and claims again once it is back', async function () {
    const logs = both.map((r) => r.lines.length);
    const produced = new Produced(sim);
    const traffic = calls(sim, 60, 40);
    await sleep(500);
    await redis.stop();
    await Promise.all(both.map((r) => r.showing('cluster unreachable')));
    await sleep(500);
    await redis.launch();
    await Promise.all(both.map((r) => r.showing('cluster ok')));
    await traffic;
    produced.stop();
    const during = await allReported(both, produced.ids());
    assert.equal(during.size, produced.ids().size, 'every event out at least once while Redis was down');
    for (const [i, r] of both.entries()) {
      const lines = r.lines.slice(logs[i]);
      assert.equal(lines.filter((l) => /Cluster: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable/.test(l)).length, 1, `${r.name} said it once`);
      assert.equal(lines.filter((l) => /answers again: events are claimed again/.test(l)).length, 1, `${r.name} said it is back`);
    }
    const after = new Produced(sim);
    await calls(sim, 20, 20);
    after.stop();
    const by = await allReported(both, after.ids());
    assert.deepEqual(twice(by), [], 'claimed again: no event emitted twice');
  });

  it('both replicas lose the platform at different times: gap fill on both, each made-up event once, no call ended twice', async function () {
    this.timeout(60_000);
    const produced = new Produced(sim);
    const started: string[] = [];
    const start = (n: number) => {
      for (let i = 0; i < n; i++) {
        const call = sim.startCall({ from: `+7912${String(started.length).padStart(7, '0')}`, to: '102', answer: true });
        started.push(call.id);
      }
    };
    start(12);
    await allReported(both, produced.ids());
    const marks = both.map((r) => r.reports.length);
    // A alone is cut off: B hears three calls end and three start.
    let mark = a.statuses.length;
    await proxies.A!.cut();
    await a.saw('disconnected', mark);
    for (const id of started.slice(0, 3)) sim.hangupCall(id);
    start(3);
    await sleep(200);
    // Both cut off: nobody hears three calls end and three start.
    mark = b.statuses.length;
    await proxies.B!.cut();
    await b.saw('disconnected', mark);
    for (const id of started.slice(3, 6)) sim.hangupCall(id);
    start(3);
    // A is back and makes up what it missed; then B alone is cut off, and A hears the rest.
    await proxies.A!.restore();
    await a.showing('cluster ok');
    await a.until(() => a.reports.slice(marks[0]).filter((r) => r.replayed).length >= 6, 10_000, 'A\'s made-up events');
    for (const id of started.slice(6, 9)) sim.hangupCall(id);
    start(3);
    await sleep(200);
    await proxies.B!.restore();
    await b.showing('cluster ok');
    // B's gap fill: everything it makes up was already emitted, live by A or made up by A.
    await sleep(2500);
    for (const id of started) if (sim.getCall(id).state !== 'ended') sim.hangupCall(id);
    await sleep(1000);
    produced.stop();

    const all = both.flatMap((r, i) => r.reports.slice(marks[i]));
    const live = all.filter((r) => !r.replayed);
    const madeUp = all.filter((r) => r.replayed);
    const once = (list: Report[]) => twice(reportsOf(both, new Set(list.map((r) => r.eventId))));
    assert.deepEqual(once(live), [], 'no live event emitted twice');
    assert.deepEqual(once(madeUp), [], 'no made-up event emitted twice');
    assert.ok(madeUp.length >= 6, `made-up events were emitted (${madeUp.length})`);
    // Each call: one end and, for calls that started during the test, one start, live or made up.
    for (const id of started) {
      const ends = all.filter((r) => r.connectionId === id && r.topic === 'callevents.dlg_end');
      assert.equal(ends.length, 1, `call ${id} reported ended ${ends.length} times: ${JSON.stringify(ends)}`);
    }
    for (const id of started.slice(12)) {
      const invites = all.filter((r) => r.connectionId === id && r.topic === 'callevents.invite');
      assert.equal(invites.length, 1, `call ${id} reported started ${invites.length} times`);
    }
    // The calls that ended and started while both were away were made up (once), by the first back.
    for (const id of [...started.slice(3, 6), ...started.slice(15, 18)]) {
      const madeUpForCall = madeUp.filter((r) => r.connectionId === id);
      assert.equal(madeUpForCall.length, 1, `call ${id}: one made-up event`);
      assert.equal(madeUpForCall[0]!.pid, a.pid, `call ${id}: made up by A, back first`);
    }
  });

  it('two clusters with different names on one Redis do not see each other\'s claims', async () => {
    try {
      await deploy([flow(a, { clusterName: 'alpha' }), flow(b, { clusterName: 'beta' })], ['cluster ok', 'cluster ok']);
      const produced = new Produced(sim);
      await calls(sim, 10, 20);
      produced.stop();
      const ids = produced.ids();
      const by = await allReported(both, ids);
      await eventually(() => [...reportsOf(both, ids).values()].every((r) => r.length === 2), 10_000, () => 'every event out of both');
      for (const [id, reports] of reportsOf(both, ids)) {
        assert.deepEqual(reports.map((r) => r.pid).sort(), [a.pid, b.pid].sort(), `${id} out of each cluster once`);
      }
      const [alpha, beta] = await Promise.all([inspect.get(`alpha:${[...ids][0]}`), inspect.get(`beta:${[...ids][0]}`)]);
      assert.ok(String(alpha).includes(`:${a.pid}:`), `alpha's claim is A's: ${alpha}`);
      assert.ok(String(beta).includes(`:${b.pid}:`), `beta's claim is B's: ${beta}`);
      assert.ok(by.size === ids.size);
    } finally {
      await deploy([flow(a), flow(b)], ['cluster ok', 'cluster ok']);
    }
  });

  it('a redisUrl that is not a URL, or that points nowhere: a clear status and log line, and events still flow', async () => {
    const nowhere = `redis://127.0.0.1:${REFUSED_PORT}/0`;
    const logs = both.map((r) => r.lines.length);
    try {
      await deploy([flow(a, { redisUrl: 'not a url' }), flow(b, { redisUrl: nowhere })], ['cluster: bad redisUrl', 'cluster unreachable']);
      assert.equal(a.status?.fill, 'yellow');
      assert.equal(b.status?.fill, 'yellow');
      assert.equal(a.status?.text, 'connected · cluster: bad redisUrl');
      assert.equal(b.status?.text, 'connected · cluster unreachable');
      await sleep(1500); // node-redis keeps trying meanwhile
      const aLines = a.lines.slice(logs[0]);
      const bLines = b.lines.slice(logs[1]);
      assert.equal(aLines.filter((l) => l.includes('Cluster: redisUrl "not a url" is not a URL: write it as redis://host:6379/0')).length, 1, aLines.join('\n'));
      assert.equal(bLines.filter((l) => l.includes(`Cluster: Redis at ${nowhere} is unreachable (connection refused)`)).length, 1, bLines.join('\n'));
      const produced = new Produced(sim);
      await calls(sim, 10, 20);
      produced.stop();
      const ids = produced.ids();
      await allReported(both, ids);
      // Without claims each replica emits every event: at least once, here twice.
      await eventually(() => [...reportsOf(both, ids).values()].every((r) => r.length === 2), 10_000, () => 'every event out of both replicas');
    } finally {
      await deploy([flow(a), flow(b)], ['cluster ok', 'cluster ok']);
    }
  });
});
