import assert from 'node:assert/strict';
import type { SimEvent } from '../../src/simulator';
import { eventually, openReady, rest, useSimulators } from './helpers';

describe('simulator: burst and traffic', () => {
  const start = useSimulators();

  it('burst pushes complete calls as fast as it can over one socket', async function () {
    this.timeout(30_000);
    const sim = await start();
    const ws = await openReady(sim);
    await ws.subscribe({ id: 'all', events: ['callevents.*', 'ccsevents.*'], expires: 300 });
    let pushes = 0;
    let acked = 0;
    ws.ws.on('message', (data) => {
      const text = data.toString();
      if (!text.startsWith('["event"')) return;
      pushes++;
      // Acknowledge as a real client would, so the simulator also reads while it writes.
      const qid = /"qid":(\d+)/.exec(text)?.[1];
      if (qid !== undefined && (acked++ & 15) === 0) ws.ws.send(`["event_result",{"qid":${qid},"result":"ok"}]`);
    });
    const t0 = performance.now();
    const result = await sim.burst({ calls: 20_000 });
    assert.equal(result.calls, 20_000);
    assert.equal(result.events, 20_000 * 13, 'an answered call is 13 events');
    await eventually(() => pushes === result.events, 20_000, 'every event received');
    const received = performance.now() - t0;
    console.log(`      burst: ${result.events} events emitted in ${result.ms} ms (${result.eventsPerSecond} events/s); all received over one socket in ${Math.round(received)} ms (${Math.round((result.events * 1000) / received)} events/s)`);
  });

  it('POST /_sim/burst runs a burst and reports it; unanswered calls end "cancel"', async () => {
    const sim = await start();
    const ends: SimEvent[] = [];
    sim.on('event', (e) => {
      if (e.type === 'dlg_end') ends.push(e);
    });
    const res = await rest(sim, 'POST', '/_sim/burst', { body: { calls: 50, answer: false } });
    assert.equal(res.status, 200);
    const body = res.body as { calls: number; events: number; ms: number; eventsPerSecond: number };
    assert.equal(body.calls, 50);
    assert.equal(body.events, 50 * 11, "an unanswered call is 11 events");
    assert.equal(ends.length, 50);
    assert.ok(ends.every((e) => e.data.reason === 'cancel'));
    assert.equal(sim.listCalls().filter((c) => c.state !== 'ended').length, 0);
    assert.equal((await rest(sim, 'POST', '/_sim/burst', { body: { calls: -1 } })).status, 400);
    assert.equal((await rest(sim, 'POST', '/_sim/burst', { body: {} })).status, 400);
  });

  it('traffic makes realistic calls at a steady rate', async () => {
    const sim = await start({ traffic: { intervalMs: 40 }, dlgStopDelayMs: 50 });
    const events: SimEvent[] = [];
    sim.on('event', (e) => events.push(e));
    await eventually(() => events.filter((e) => e.type === 'dlg_stop').length >= 5, 5000, 'five finished calls');
    const invites = events.filter((e) => e.type === 'invite');
    assert.ok(invites.length >= 5);
    for (const invite of invites) {
      const numbers = [String(invite.data.fromnum), String(invite.data.tonum)];
      for (const n of numbers) assert.match(n, /^(\+79\d{9}|1(0[1-9]|1\d|20))$/, n);
      assert.ok(numbers.some((n) => /^\d{3}$/.test(n)), 'one side is an internal extension');
    }
    assert.ok(events.some((e) => e.type === 'dlg_start'));
    assert.ok(events.some((e) => e.type === 'dlg_end'));
  });
});
