/**
 * Claims and gap fill agree on how far back they reach. A replica cut off from the platform
 * makes up, on its return, the starts and ends of calls it missed; another replica emitted them
 * live. Event claims last minutes, claims of a call's start and end longer than gap fill looks
 * back (GAP_FILL_HORIZON_MS), and gap fill reports nothing older: so a made-up event always
 * meets the live one's claim, and none comes out twice. Shown with short settings, a real
 * Redis and the simulator: replica A only claims what it heard live; replica B is GapFill with
 * its call table, its claims and a claim queue, as the client puts them together.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { RedisClaims } from '../../src/cluster/redis-claims';
import type { ClusterSettings } from '../../src/cluster/settings';
import { EraClient } from '../../src/era';
import { callFromPlatform, CallTable } from '../../src/era/calls/table';
import { ClaimQueue, claimKeys } from '../../src/era/events/claims';
import { GapFill } from '../../src/era/events/gapfill';
import type { EraEvent } from '../../src/era/types';
import { startSimulator, type Simulator } from '../../src/simulator';
import type { SimEvent } from '../../src/simulator/types';
import { RedisServer } from '../support/redis';

/** Short settings: event claims 200 ms, a call's start and end 2 s, gap fill looks back 1.5 s. */
const TTL = { eventMs: 200, callMs: 2000 };
const HORIZON_MS = 1500;

function eraEvent(e: SimEvent): EraEvent {
  const data = e.data as Record<string, unknown>;
  return {
    topic: `${e.class}.${e.type}`,
    class: e.class,
    type: e.type,
    payload: data,
    eventId: String(data.eventid),
    connectionId: String(data.connectionid),
    callId: String(data.cid),
    replayed: undefined,
    call: undefined,
  };
}

describe('cluster: claims of a call\'s start and end outlast gap fill\'s horizon', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let sim: Simulator;
  let settings: ClusterSettings;
  const opened: Array<{ close(): void }> = [];

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
    settings = { name: `t-${randomUUID()}`, redis: { host: '127.0.0.1', port: redis.port, tls: false }, shownUrl: redis.url };
  });

  afterEach(async () => {
    for (const o of opened.splice(0)) o.close();
    await sim.stop();
  });

  /** One replica's claims, with the short settings, once Redis answers. */
  async function replicaClaims(): Promise<RedisClaims> {
    const claims = new RedisClaims({ settings, ttl: TTL, logger: { log: () => undefined, warn: () => undefined }, health: () => undefined });
    opened.push(claims);
    const deadline = Date.now() + 5000;
    while (claims.health !== 'ok') {
      assert.ok(Date.now() < deadline, `Redis never answered: ${claims.health}`);
      await sleep(20);
    }
    return claims;
  }

  it('Redis keeps an event\'s claim for the event time, a call\'s start and end (also poll mode\'s) for the call time', async () => {
    const a = await replicaClaims();
    const b = await replicaClaims();
    const inspect = createClient({ socket: { host: '127.0.0.1', port: redis.port } });
    await inspect.connect();
    try {
      const ttl = async (key: string) => Number(await inspect.sendCommand(['PTTL', `${settings.name}:${key}`]));
      const end: EraEvent = { topic: 'callevents.dlg_end', class: 'callevents', type: 'dlg_end', payload: {}, eventId: 'e-live', connectionId: 'c1', callId: undefined, replayed: undefined, call: undefined };
      assert.equal(await a.claim(claimKeys(end)), true);
      assert.equal(await a.claim(['poll:c1:invite']), true);
      assert.equal(await a.claim(['poll:c1:1:talk']), true);
      assert.ok((await ttl('e-live')) <= TTL.eventMs, 'the event id: event time');
      assert.ok((await ttl('poll:c1:1:talk')) <= TTL.eventMs, 'a change of state: event time');
      assert.ok((await ttl('call:c1:end')) > TTL.eventMs, 'the call\'s end: call time');
      assert.ok((await ttl('poll:c1:invite')) > TTL.eventMs, 'the call\'s start in poll mode: call time');
      await sleep(TTL.eventMs * 2);
      assert.equal(await ttl('e-live'), -2, 'the event\'s claim is gone');
      assert.equal(await b.claim(['replayed-c1-dlg_end', 'call:c1:end']), false, 'a made-up end still meets the live one');
      assert.equal(await b.claim(['poll:c1:invite']), false);
    } finally {
      inspect.destroy();
    }
  });

  it('a replica back after longer than an event\'s claim lasts emits nothing another emitted live; beyond the horizon it makes nothing up', async () => {
    const live: SimEvent[] = [];
    sim.on('event', (e: SimEvent) => live.push(e));
    const heard = (type: string, id: string) => eraEvent(live.find((e) => e.type === type && (e.data as Record<string, unknown>).connectionid === id)!);

    // Replica A heard everything live and claimed it.
    const a = await replicaClaims();
    // Replica B: its claims, a claim queue, a call table and gap fill over REST, as in EraClient.
    const bClaims = await replicaClaims();
    const queue = new ClaimQueue(bClaims, { warnOnce: () => undefined });
    opened.push(queue);
    const client = new EraClient({ url: sim.url, authMode: 'token', token: 'demo-token' });
    opened.push({ close: () => void client.close() });
    const table = new CallTable(1000, 60_000);
    const emitted: EraEvent[] = [];
    const gapFill = new GapFill({
      send: (req) => client.rest(req.method, req.path, req.body, { query: req.query }),
      table,
      replay: (ev, listed) => {
        table.apply(ev);
        const endsCall = table.change === 'ended';
        if (listed !== undefined) table.align(listed);
        queue.submitEvent(ev, endsCall, () => emitted.push(ev));
      },
      maxCalls: 1000,
      retryMinMs: 50,
      retryMaxMs: 100,
      horizonMs: HORIZON_MS,
      debug: () => undefined,
      warnOnce: (msg) => assert.fail(msg),
    });
    opened.push({ close: () => gapFill.reset() });
    const knownToB = async (id: string) => table.restore(callFromPlatform((await client.rest('GET', `/rest/v1/uc/calls/${encodeURIComponent(id)}`)).body));
    const settled = async () => {
      // Claims answer in their own time: the queue empties once they did.
      await sleep(300);
      return emitted.map((e) => `${e.type} ${e.connectionId}`);
    };

    // A short outage, longer than an event's claim lasts: X ends, Z starts, A emits both live;
    // V ends too, but A missed it as well.
    const x = sim.startCall({ from: '+79990000001', to: '101' });
    const v = sim.startCall({ from: '+79990000002', to: '102' });
    await knownToB(x.id);
    await knownToB(v.id);
    gapFill.outage();
    sim.hangupCall(x.id);
    sim.hangupCall(v.id);
    const z = sim.startCall({ from: '+79990000003', to: '103' });
    assert.equal(await a.claim(claimKeys(heard('dlg_end', x.id))), true);
    assert.equal(await a.claim(claimKeys(heard('invite', z.id))), true);
    await sleep(TTL.eventMs * 2);
    await gapFill.start();
    assert.deepEqual(await settled(), [`dlg_end ${v.id}`], 'only what nobody emitted: the ends and starts A emitted lost their claims');
    assert.equal(table.peek(x.id)?.state, 'ended', 'B\'s table knows X ended');
    assert.ok(table.peek(z.id) !== undefined, 'B\'s table knows Z');

    // An outage longer than the horizon (and than the claims of calls): Y ends, W started before.
    const y = sim.startCall({ from: '+79990000004', to: '104' });
    await knownToB(y.id);
    const w = sim.startCall({ from: '+79990000005', to: '105' });
    assert.equal(await a.claim(claimKeys(heard('invite', w.id))), true);
    gapFill.outage();
    sim.hangupCall(y.id);
    assert.equal(await a.claim(claimKeys(heard('dlg_end', y.id))), true);
    await sleep(TTL.callMs + 300);
    await gapFill.start();
    assert.deepEqual(await settled(), [`dlg_end ${v.id}`], 'nothing made up from beyond the horizon');
    assert.equal(table.peek(y.id)?.state, 'ended', 'B\'s table knows Y ended');
    assert.equal(table.peek(w.id)?.state, 'ringing', 'B\'s table knows W, as listed');
    // The claims alone could no longer have told: the horizon is what kept these from coming out twice.
    assert.equal(await bClaims.claim([`replayed-${y.id}-dlg_end`, `call:${y.id}:end`]), true);
    assert.equal(await bClaims.claim([`replayed-${w.id}-invite`, `call:${w.id}:invite`]), true);
  });
});
