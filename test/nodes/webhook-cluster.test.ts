/**
 * era-webhook on two real Node-RED processes (the cluster tests' replicas, with an era-webhook
 * where their flow has era-events) sharing one Redis and one simulator: deliveries sent to both
 * come out of one, and a reconciliation round runs on one of them, whose made-up events never
 * repeat what the other emitted live. The test plays the load balancer: it sends each of the
 * platform's events to A, to B, to both or to neither. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimEvent } from '../../src/simulator';
import { Replica, replicaFlow, type FlowNode } from '../cluster/replica';
import { RedisServer } from '../support/redis';
import { startSimulator, type Simulator } from '../support/sim';
import { event, post } from './webhook-post';

const DIST = path.resolve(__dirname, '..', '..', 'dist', 'nodes', 'era-webhook.js');
const SECRET = 'cluster-secret';
const RECONCILE_S = 1;

/**
 * A replica's flow with an era-webhook (id `ev`, so the flow's report and status nodes follow it)
 * instead of era-events, and a second one without reconciliation (`/era/plain`) reporting too.
 */
function webhookReplicaFlow(eraUrl: string, redisUrl: string, clusterName: string): FlowNode[] {
  return replicaFlow({ eraUrl, redisUrl, clusterName }).flatMap((n) => {
    if (n.id !== 'ev') return [n];
    const webhook = { type: 'era-webhook', z: n.z, x: n.x, y: n.y, server: 'srv', events: 'callevents.*', register: false, publicUrl: '', wires: n.wires, credentials: { secret: SECRET } };
    return [
      { ...webhook, id: 'ev', name: 'events', path: '/era/events', reconcile: RECONCILE_S },
      { ...webhook, id: 'plain', name: 'plain', path: '/era/plain', reconcile: 0 },
    ];
  });
}

describe('era-webhook on two Node-RED replicas, one Redis', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let sim: Simulator;
  const a = new Replica('webhook-A');
  const b = new Replica('webhook-B');
  const both = [a, b];
  const urls = new Map<Replica, string>();

  before(async function () {
    if (!fs.existsSync(DIST)) throw new Error('dist/ is not built: run npm run build (npm test does)');
    redis = await RedisServer.start();
    sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
    const flow = webhookReplicaFlow(sim.url, redis.url, `webhook-${randomUUID()}`);
    await Promise.all(both.map((r) => r.start(flow)));
    for (const r of both) {
      const port = r.lines.map((l) => /Server now running at http:\/\/127\.0\.0\.1:(\d+)\//.exec(l)?.[1]).find((p) => p !== undefined);
      urls.set(r, `http://127.0.0.1:${port}/era/events?secret=${SECRET}`);
    }
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
    await sim?.stop();
    await redis?.stop();
  });

  /** The simulator's events of the calls it runs, by connection id. */
  function recordEvents(): Map<string, SimEvent[]> {
    const byCall = new Map<string, SimEvent[]>();
    sim.on('event', (e: SimEvent) => {
      if (e.class !== 'callevents') return;
      const id = String(e.data.connectionid);
      byCall.set(id, [...(byCall.get(id) ?? []), e]);
    });
    return byCall;
  }

  async function deliver(to: Replica[], e: SimEvent, path = '/era/events'): Promise<void> {
    const answers = await Promise.all(to.map((r) => post(urls.get(r)!.replace('/era/events', path), event(e.type, e.data))));
    for (const answer of answers) assert.equal(answer.status, 200);
  }

  const reports = () => [...a.reports, ...b.reports];

  it('the platform\'s events delivered to both replicas come out of one, each once, with msg.call', async function () {
    const events = recordEvents();
    const call = sim.startCall({ from: '+79990001122', to: '101' });
    sim.answerCall(call.id);
    const live = [...events.get(call.connectionid)!];
    // The end is delivered while the platform still lists the call: a reconciliation round in
    // between would otherwise rightly make the end up (the platform no longer knows the call).
    const start = live.find((e) => e.type === 'dlg_start')!;
    const end = { ...start.data, eventid: randomUUID(), eventts: Date.now(), reason: 'bye' };
    for (const e of live) await deliver(both, e);
    await deliver(both, { class: 'callevents', type: 'dlg_end', data: end } as SimEvent);
    sim.hangupCall(call.id);
    const ids = [...live.map((e) => String(e.data.eventid)), end.eventid];
    await a.until(() => ids.every((id) => reports().some((r) => r.eventId === id)), 10_000, 'every event out');
    await sleep(300);
    const out = reports().filter((r) => r.connectionId === call.connectionid);
    assert.deepEqual(out.map((r) => r.eventId).sort(), [...ids].sort(), 'each event once across both replicas');
    assert.ok(out.every((r) => r.callState !== null && !r.replayed));
  });

  it('a call\'s later dialog (a transfer): its dlg_end comes out too, whether one replica heard both dialogs or each replica one', async function () {
    const events = recordEvents();
    const call = sim.startCall({ from: '+79990003344', to: '101' });
    sim.answerCall(call.id);
    const live = [...events.get(call.connectionid)!];
    const start = live.find((e) => e.type === 'dlg_start')!;
    const dialog = (type: string, dialogid: string, extra: Record<string, unknown> = {}): SimEvent =>
      ({ class: 'callevents', type, data: { ...start.data, eventid: randomUUID(), eventts: Date.now(), dialogid, ...extra } }) as SimEvent;
    const end1 = dialog('dlg_end', String(start.data.dialogid), { reason: 'bye' });
    const [start2, end2] = [dialog('dlg_start', 'd2', { tonum: '102' }), dialog('dlg_end', 'd2', { reason: 'bye' })];
    // Both replicas hear everything (with reconciliation): the call ended with the first dialog's end.
    for (const e of [...live, end1]) await deliver(both, e);
    sim.hangupCall(call.id);
    for (const e of [start2, end2]) await deliver(both, e);
    // Each replica one dialog (no reconciliation), as a load balancer may split them: A the first, B the second.
    const other = { cid: randomUUID(), invitets: Date.now() };
    const call2 = { ...other, connectionid: `${other.cid}.${other.invitets}` };
    const split = {
      invite: { class: 'callevents', type: 'invite', data: { ...start.data, ...call2, eventid: randomUUID(), dialogid: undefined } } as SimEvent,
      start1: dialog('dlg_start', 'p1', call2),
      end1: dialog('dlg_end', 'p1', { ...call2, reason: 'bye' }),
      start2: dialog('dlg_start', 'p2', { ...call2, tonum: '102' }),
      end2: dialog('dlg_end', 'p2', { ...call2, reason: 'bye' }),
    };
    for (const e of [split.invite, split.start1, split.end1]) await deliver([a], e, '/era/plain');
    for (const e of [split.start2, split.end2]) await deliver([b], e, '/era/plain');
    const ids = [...live, end1, start2, end2, ...Object.values(split)].map((e) => String(e.data.eventid));
    await a.until(() => ids.every((id) => reports().some((r) => r.eventId === id)), 10_000, 'every event out');
    await sleep(300);
    const out = reports().filter((r) => ids.includes(String(r.eventId)));
    assert.deepEqual(out.map((r) => r.eventId).sort(), [...ids].sort(), 'each event once across both replicas');
  });

  it('reconciliation: a round on one replica; what the other emitted live is not made up again; a lost end is made up once', async function () {
    const events = recordEvents();
    const first = (id: string, type: string): SimEvent => events.get(id)!.find((e) => e.type === type)!;
    const from = Date.now();
    // X: its start reaches A only, its end B only. Y: its start reaches both, its end neither.
    // Z: its start reaches neither, its end A.
    // Rounds fall on whole seconds: the calls start just after one, so that no round lists them
    // between their start (or end) and the delivery that tells of it. A round that did would make
    // up what the delivery was about to say — reconciliation cannot tell a delivery on its way.
    await sleep(1000 - (Date.now() % 1000) + 100);
    const [x, y, z] = ['+79990000001', '+79990000002', '+79990000003'].map((n) => sim.startCall({ from: n, to: '101' }));
    await deliver([a], first(x!.connectionid, 'invite'));
    await deliver(both, first(y!.connectionid, 'invite'));
    await sleep(RECONCILE_S * 2500);
    for (const c of [x!, y!, z!]) sim.hangupCall(c.id);
    await deliver([b], first(x!.connectionid, 'dlg_end'));
    await deliver([a], first(z!.connectionid, 'dlg_end'));
    await sleep(RECONCILE_S * 3500);

    const of = (c: { connectionid: string }, topic: string) => reports().filter((r) => r.connectionId === c.connectionid && r.topic === topic);
    for (const c of [x!, y!, z!]) {
      assert.equal(of(c, 'callevents.invite').length, 1, `${c.fromnum}: one invite (${JSON.stringify(of(c, 'callevents.invite'))})`);
      assert.equal(of(c, 'callevents.dlg_end').length, 1, `${c.fromnum}: one end (${JSON.stringify(of(c, 'callevents.dlg_end'))})`);
    }
    assert.deepEqual([of(x!, 'callevents.invite')[0]!.replayed, of(x!, 'callevents.dlg_end')[0]!.replayed], [false, false], 'X: both live');
    assert.equal(of(y!, 'callevents.dlg_end')[0]!.replayed, true, 'Y: its end made up');
    assert.equal(of(y!, 'callevents.dlg_end')[0]!.callState, 'ended');
    assert.equal(of(z!, 'callevents.invite')[0]!.replayed, true, 'Z: its start made up');

    // One list of calls per round, whichever replica ran it.
    const rounds = new Map<number, number>();
    for (const r of sim.requests()) {
      if (r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls' && r.ts >= from) {
        const round = Math.floor(r.ts / (RECONCILE_S * 1000));
        rounds.set(round, (rounds.get(round) ?? 0) + 1);
      }
    }
    assert.ok(rounds.size >= 4, `reconciled in several rounds (${rounds.size})`);
    assert.deepEqual([...rounds.values()].filter((n) => n > 1), [], 'never twice in one round');
  });
});
