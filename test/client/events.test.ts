import assert from 'node:assert/strict';
import type { EraClient } from '../../src/era';
import { makeEvent } from '../../src/era/protocol/frames';
import type { EraEvent } from '../../src/era/types';
import { Collector, ctl, sim, sleep, startCall, subscribed, tokenClient, userClient, waitFor, waitForState, type SimCall, type Simulator } from './helpers';

const ANSWERED = ['callevents.invite', 'callevents.dlg_init', 'callevents.dlg_call', 'callevents.dlg_start'];

describe('client: events', function () {
  let s: Simulator;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.stop();
  });

  for (const envelope of ['model', 'flat', 'method'] as const) {
    it(`decodes the "${envelope}" envelope end to end`, async () => {
      s = await sim({ envelope });
      const c = track(userClient(s.url));
      const got = new Collector();
      c.listen({ events: ['callevents.*'], attachCall: true }, got.push);
      await waitForState(c, 'connected');
      await subscribed(s);
      const call = await startCall(s, { answer: true });
      const start = await got.waitFor('dlg_start', (e) => e.connectionId === call.id && e.type === 'dlg_start');
      assert.deepEqual(got.topics(call.id), ANSWERED);
      assert.equal(start.class, 'callevents');
      assert.equal(start.callId, call.cid);
      assert.equal(typeof start.eventId, 'string');
      assert.equal(start.payload.connectionid, call.id);
      assert.equal(start.call?.state, 'talking');
      assert.equal(c.stats.undecodable, 0);
    });
  }

  it('gives each listener a payload of its own: one that edits its payload in its callback changes nothing the others see', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    const seen: Array<{ who: string; topic: string; connectionId?: string; payload: Record<string, unknown>; fromnum: unknown; tonum: unknown }> = [];
    const editor = (who: string) => (ev: EraEvent) => {
      seen.push({ who, topic: ev.topic, connectionId: ev.connectionId, payload: ev.payload, fromnum: ev.payload.fromnum, tonum: ev.payload.tonum });
      // Edited at once, before the next listener's callback runs.
      ev.payload.fromnum = `edited by ${who}`;
      delete ev.payload.tonum;
    };
    c.listen({ events: ['callevents.invite'] }, editor('a'));
    c.listen({ events: ['callevents.*'] }, editor('b'));
    c.listen({ events: ['callevents.invite'], objects: ['101'] }, editor('c'));
    const alone = new Collector();
    c.listen({ events: ['callevents.dlg_init'], objects: ['+79990001122'] }, alone.push);
    await waitForState(c, 'connected');
    await subscribed(s, 3);
    const call = await startCall(s, { from: '+79990001122', to: '101' });
    const invites = () => seen.filter((x) => x.connectionId === call.id && x.topic === 'callevents.invite');
    await waitFor('the invite in each listener', () => invites().length >= 3);
    assert.deepEqual(invites().map((x) => x.who).sort(), ['a', 'b', 'c']);
    for (const x of invites()) {
      assert.equal(x.fromnum, '+79990001122', `${x.who} got the payload as it came`);
      assert.equal(x.tonum, '101');
      assert.equal(x.payload.fromnum, `edited by ${x.who}`, `${x.who} kept only its own edit`);
    }
    assert.equal(new Set(invites().map((x) => x.payload)).size, 3, 'three objects');
    const init = await alone.waitFor('dlg_init', (e) => e.connectionId === call.id && e.type === 'dlg_init');
    await waitFor('b got dlg_init too', () => seen.some((x) => x.connectionId === call.id && x.topic === 'callevents.dlg_init'));
    assert.equal(init.payload.fromnum, '+79990001122', 'b edited its own copy of dlg_init, not this one');
    assert.equal(init.payload.tonum, '101');
  });

  it('delivers each event once per listener across groups, in arrival order', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    const all = new Collector();
    const callsOnly = new Collector();
    const forOperator = new Collector();
    const forOther = new Collector();
    c.listen({ events: ['callevents.*', 'ccsevents.*'] }, all.push);
    c.listen({ events: ['callevents.dlg_start', 'callevents.dlg_end'] }, callsOnly.push);
    c.listen({ events: ['callevents.*'], objects: ['101'] }, forOperator.push);
    c.listen({ events: ['callevents.*'], objects: ['555'] }, forOther.push);
    await waitForState(c, 'connected');
    await subscribed(s, 3);
    const call = await startCall(s, { answer: true });
    await ctl(s, 'POST', `calls/${encodeURIComponent(call.id)}/hangup`, {});
    await forOperator.waitFor('dlg_end for 101', (e) => e.type === 'dlg_end');
    await all.waitFor('dlg_stop', (e) => e.type === 'dlg_stop');
    await sleep(50);
    const ids = (got: Collector) => got.events.map((e) => e.eventId);
    const callevents = all.events.filter((e) => e.class === 'callevents');
    // The platform sent each call event twice (two matching subscriptions): every listener got it once.
    assert.deepEqual(ids(forOperator), callevents.map((e) => e.eventId));
    assert.deepEqual(callsOnly.topics(), ['callevents.dlg_start', 'callevents.dlg_end']);
    assert.equal(new Set(ids(all)).size, all.events.length);
    assert.equal(forOther.events.length, 0);
    const order = all.topics(call.id).filter((t) => t.startsWith('callevents.'));
    assert.deepEqual(order, [...ANSWERED, 'callevents.dlg_end', 'callevents.dlg_stop']);
  });

  it('drops a repeated event id, and matches objects by party when no subscription is named', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    const all = new Collector();
    const for101 = new Collector();
    c.listen({ events: ['callevents.*'] }, all.push);
    c.listen({ events: ['callevents.*'], objects: ['101'] }, for101.push);
    await waitForState(c, 'connected');
    await subscribed(s, 2);
    const frame = (eventid: string, tonum: string) =>
      ['event', { qid: 1, class: 'callevents', type: 'invite', data: { eventid, connectionid: `x.${eventid}`, cid: 'x', fromnum: '+7', tonum } }];
    for (const f of [frame('e1', '101'), frame('e1', '101'), frame('e2', '202'), frame('e1', '101')]) {
      await ctl(s, 'POST', 'ws/send', { frame: f });
    }
    await all.waitFor('e2', (e) => e.eventId === 'e2');
    await sleep(50);
    assert.deepEqual(all.events.map((e) => e.eventId), ['e1', 'e2']);
    assert.deepEqual(for101.events.map((e) => e.eventId), ['e1']);
    assert.equal(c.stats.duplicates, 4, 'e1 twice more, for each of the two groups');
  });

  it('keeps the call table fed while calls are tracked', async () => {
    s = await sim();
    const c = track(tokenClient(s.url));
    const handle = c.trackCalls();
    await waitForState(c, 'connected');
    await subscribed(s);
    const call = await startCall(s, { answer: true });
    await ctl(s, 'POST', `calls/${encodeURIComponent(call.id)}/dtmf`, { digits: '5' });
    await waitFor('the call in the table', () => c.calls.get(call.id)?.state === 'talking');
    const state = c.calls.get(call.id)!;
    assert.equal(state.callId, call.cid);
    assert.equal(state.from, '+79990001122');
    assert.equal(state.to, '101');
    assert.equal(state.direction, 'in');
    assert.deepEqual(state.legs.sort(), [call.acallid, call.bcallid].sort());
    await c.command({ op: 'hold', call: call.id });
    await waitFor('held', () => c.calls.get(call.id)?.held === true);
    assert.equal(c.calls.get(call.id)!.state, 'held');
    await c.command({ op: 'unhold', call: call.id });
    await waitFor('resumed', () => c.calls.get(call.id)?.state === 'talking');
    await c.command({ op: 'transfer', call: call.id, to: '103' });
    await waitFor('transferred', () => c.calls.get(call.id)?.transfers.includes('103') === true);
    await c.command({ op: 'hangup', call: call.id });
    await waitFor('ended', () => c.calls.get(call.id)?.state === 'ended');
    assert.equal(c.calls.get(call.id)!.endReason, 'bye');
    handle.close();
    await waitForState(c, 'idle');
  });

  it('reports calls that ended or started during an outage, once, as replayed events', async () => {
    s = await sim();
    const c = track(userClient(s.url));
    const got = new Collector();
    const for555 = new Collector();
    c.listen({ events: ['callevents.invite', 'callevents.dlg_end'], attachCall: true }, got.push);
    c.listen({ events: ['callevents.*'], objects: ['555'] }, for555.push);
    await waitForState(c, 'connected');
    await subscribed(s, 2);
    const ending = await startCall(s, { answer: true });
    const staying = await startCall(s, { from: '+79990003344', to: '102', answer: true });
    await got.waitFor('both invites', () => got.events.filter((e) => e.type === 'invite').length === 2);

    const restart = s.restart({ downMs: 300 });
    await sleep(50);
    // While the platform is unreachable: one call ends, another starts (their events are lost).
    s.hangupCall(ending.id);
    const started = s.startCall({ from: '+79990005566', to: '104', answer: true }) as SimCall;
    await restart;
    await waitFor('the replayed events', () => got.events.filter((e) => e.replayed).length === 2, 5000);
    await sleep(200);

    const replayed = got.events.filter((e) => e.replayed);
    const end = replayed.find((e) => e.type === 'dlg_end')!;
    assert.equal(end.topic, 'callevents.dlg_end');
    assert.equal(end.connectionId, ending.id);
    assert.equal(end.callId, ending.cid);
    assert.equal(end.payload.reason, 'unknown');
    assert.match(String(end.eventId), /^replayed-/);
    assert.equal(end.call?.state, 'ended');
    assert.equal(end.call?.endReason, 'unknown');
    const invite = replayed.find((e) => e.type === 'invite')!;
    assert.equal(invite.connectionId, started.id);
    assert.equal(invite.payload.fromnum, '+79990005566');
    assert.equal(invite.call?.state, 'talking');
    assert.equal(replayed.length, 2, 'exactly once, and nothing for the call that went on');
    assert.ok(!got.events.some((e) => e.connectionId === staying.id && e.replayed));
    assert.equal(for555.events.length, 0, 'the objects filter holds for replayed events');
    assert.equal(c.calls.get(ending.id)!.state, 'ended');

    // Should the platform's own dlg_end still come, it is not reported a second time.
    const late = { eventid: 'late-end', eventts: Date.now(), cid: ending.cid, connectionid: ending.id, reason: 'bye' };
    await ctl(s, 'POST', 'ws/send', { frame: ['event', { qid: 99, class: 'callevents', type: 'dlg_end', data: late }] });
    await ctl(s, 'POST', 'ws/send', { frame: ['event', { qid: 100, class: 'callevents', type: 'invite', data: { eventid: 'marker', connectionid: 'm.1' } }] });
    await got.waitFor('the marker after the late dlg_end', (e) => e.eventId === 'marker');
    assert.ok(!got.events.some((e) => e.eventId === 'late-end'));
    assert.equal(c.calls.get(ending.id)!.endReason, 'unknown');
  });

  it('webhook deliveries that pass each other (a dialog event after its call\'s end) feed the table without the "already ended" warning; the socket\'s order still warns', async () => {
    s = await sim();
    const warnings: string[] = [];
    const c = track(userClient(s.url, { logger: { debug: () => undefined, warn: (m) => warnings.push(m) } }));
    const call = (type: string, eventid: string, conn: string) => makeEvent('callevents', type, { eventid, connectionid: conn, eventts: Date.now(), fromnum: '+79990001122', tonum: '101', dialogid: 'd1' });
    c.ingest(call('invite', 'w1', 'webhook-call'));
    c.ingest(call('dlg_end', 'w2', 'webhook-call'));
    c.ingest(call('dlg_init', 'w3', 'webhook-call'));
    assert.equal(c.calls.get('webhook-call')?.state, 'ended');
    assert.equal(warnings.length, 0, `no warning for deliveries out of order: ${warnings.join('; ')}`);
    // The same on the socket, in the order the platform sent it, is news.
    c.listen({ events: ['callevents.*'] }, () => undefined);
    await waitForState(c, 'connected');
    await subscribed(s);
    const live = await startCall(s);
    await waitFor('the call in the table', () => c.calls.get(live.id) !== undefined);
    await ctl(s, 'POST', `calls/${encodeURIComponent(live.id)}/hangup`, {});
    await waitFor('its end', () => c.calls.get(live.id)?.state === 'ended');
    await ctl(s, 'POST', 'ws/send', { frame: ['event', { class: 'callevents', type: 'dlg_init', data: { eventid: 'after-end', connectionid: live.id, eventts: Date.now() } }] });
    await waitFor('the warning', () => warnings.some((w) => w.includes('callevents.dlg_init for a call it had already ended')));
  });

  it('survives a listener that throws', async () => {
    s = await sim();
    const warnings: string[] = [];
    const c = track(userClient(s.url, { logger: { debug: () => undefined, warn: (m) => warnings.push(m) } }));
    const got: EraEvent[] = [];
    c.listen({ events: ['callevents.*'] }, () => {
      throw new Error('boom');
    });
    c.listen({ events: ['callevents.*'] }, (e) => got.push(e));
    await waitForState(c, 'connected');
    await subscribed(s);
    await startCall(s);
    await waitFor('events', () => got.length >= 3);
    assert.deepEqual(warnings, ['An event listener failed: boom']);
  });
});
