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
      // Extensions 101-120, ring groups 200-202, queues 300-301, and mobiles outside.
      for (const n of numbers) assert.match(n, /^(\+79\d{9}|1(0[1-9]|1\d|20)|20[0-2]|30[01])$/, n);
      assert.ok(numbers.some((n) => /^\d{3}$/.test(n)), 'one side is an internal number');
    }
    assert.ok(events.some((e) => e.type === 'dlg_start'));
    assert.ok(events.some((e) => e.type === 'dlg_end'));
  });

  it('traffic makes every kind of call, ring groups and queues among them, answered and not', async function () {
    this.timeout(30_000);
    // A call every millisecond lasts a few milliseconds: thousands of calls in a few seconds.
    const sim = await start({ traffic: { intervalMs: 1 }, dlgStopDelayMs: 0 });
    const byCall = new Map<string, SimEvent[]>();
    let invites = 0;
    sim.on('event', (e) => {
      if (e.type === 'invite') invites++;
      const list = byCall.get(e.data.connectionid) ?? [];
      list.push(e);
      byCall.set(e.data.connectionid, list);
    });
    await eventually(() => invites >= 3000, 25_000, '3000 calls');
    await sim.stop();

    const kinds = new Map<string, number>();
    for (const events of byCall.values()) {
      const types = events.map((e) => e.type);
      const end = types.indexOf('dlg_end');
      if (types[0] !== 'invite' || end === -1) continue;
      const forks = events.filter((e) => e.type === 'fork_start');
      const answered = types.includes('dlg_start');
      const reason = String(events[end]?.data.reason);
      let kind: string;
      if (forks.length === 0) {
        kind = events.some((e) => e.type === 'dlg_call' && e.data.isreferred === 'true') ? 'transferred' : `${String(events[0]?.data.dir)} ${answered ? 'answered' : reason}`;
      } else {
        // A ring group forks to all its phones before dlg_call; a queue to one at a time.
        const group = types.indexOf('dlg_call') > types.lastIndexOf('fork_start') && forks.length > 1;
        assert.equal(types.filter((t) => t === 'dlg_init').length, 1, 'one dialog');
        if (answered) {
          const pickup = events.find((e) => e.type === 'dlg_pickup');
          assert.ok(forks.some((f) => f.data.forkcallednum === pickup?.data.tonum), 'a phone of the group answered');
          kind = `${group ? 'group' : 'queue'} answered`;
        } else if (group) {
          kind = `group ${reason}`;
        } else {
          // After the caller hangs up between two phones, no leg is left to end after dlg_end.
          kind = types[end + 1] === 'connection_delete' ? `queue ${reason} between phones` : `queue ${reason} while ringing`;
        }
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const summary = [...kinds].map(([k, n]) => `${k}: ${n}`).join(', ');
    console.log(`      traffic: ${summary}`);
    for (const kind of [
      'in answered', 'in cancel', 'in timeout', 'out answered', 'local answered', 'transferred',
      'group answered', 'group cancel', 'group timeout', 'queue answered', 'queue cancel while ringing', 'queue cancel between phones',
    ]) {
      assert.ok((kinds.get(kind) ?? 0) > 0, `no "${kind}" call among ${summary}`);
    }
    const total = [...kinds.values()].reduce((a, b) => a + b, 0);
    const forked = [...kinds].filter(([k]) => k.startsWith('group') || k.startsWith('queue')).reduce((a, [, n]) => a + n, 0);
    // 15 of every 100 calls ring a group or a queue; the other kinds keep most of their share.
    assert.ok(forked / total > 0.08 && forked / total < 0.25, summary);
    assert.ok((kinds.get('out answered') ?? 0) / total > 0.12, summary);
  });
});
