import assert from 'node:assert/strict';
import type { SimCall, Simulator } from '../../src/simulator';
import { eventData, eventType, isEvent, openReady, rest, useSimulators, type Frame, type WsClient } from './helpers';

/** A caller outside, a ring group or queue number, and its phones. */
const CALLER = '+79161112233';
const PHONES = ['101', '102', '103'];

/** A raw subscriber to every call event and every ccsevent. */
async function subscriber(sim: Simulator, objects?: string[]): Promise<WsClient> {
  const ws = await openReady(sim);
  const reply = await ws.subscribe({ id: 'all', events: ['callevents.*', 'ccsevents.*'], ...(objects && { objects }) });
  assert.equal(reply.result, 'ok');
  return ws;
}

/** The events of one call that arrived until its dlg_stop, in order. */
async function untilStop(ws: WsClient, id: string): Promise<Frame[]> {
  await ws.next((f) => isEvent(f) && eventType(f) === 'callevents.dlg_stop' && eventData(f).connectionid === id);
  return ws.frames.filter((f) => isEvent(f) && eventData(f).connectionid === id);
}

/**
 * One line per event, legs named by their phone (from the fork_start that made each), so that a
 * sequence reads as the call happened: "call_set_state 102 talk".
 */
function story(frames: Frame[]): string[] {
  const phoneOfLeg = new Map<string, string>();
  return frames.map((f) => {
    const type = eventType(f);
    const d = eventData(f);
    if (type === 'callevents.fork_start') phoneOfLeg.set(String(d.forkcallid), String(d.forkcallednum));
    const leg = d.idcall === undefined ? '' : ` ${phoneOfLeg.get(String(d.idcall)) ?? String(d.idcall)}`;
    switch (type) {
      case 'callevents.fork_start':
        return `${type} ${String(d.forkcallednum)}`;
      case 'callevents.dlg_pickup':
      case 'callevents.dlg_start':
        return `${type} ${String(d.tonum)}`;
      case 'callevents.dlg_end':
      case 'callevents.dlg_stop':
        return `${type} ${String(d.reason)}`;
      case 'ccsevents.call_set_state':
        return `${type}${leg} ${String(d.state)}`;
      default:
        return `${type}${leg}`;
    }
  });
}

async function control(sim: Simulator, path: string, body: unknown = {}): Promise<SimCall> {
  const res = await rest(sim, 'POST', `/_sim/calls${path}`, { body });
  assert.equal(res.status, 200, res.text);
  return res.body as SimCall;
}

async function restCall(sim: Simulator, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await rest(sim, 'GET', `/rest/v1/uc/calls/${encodeURIComponent(id)}`, { token: 'demo-token' });
  return { status: res.status, body: res.body as Record<string, unknown> };
}

const RINGING_ALL = [
  'callevents.invite',
  'ccsevents.connection_create',
  'callevents.dlg_init',
  'callevents.fork_start 101',
  'callevents.fork_start 102',
  'callevents.fork_start 103',
  'callevents.dlg_call',
  'ccsevents.call_create 101',
  'ccsevents.call_set_state 101 ring',
  'ccsevents.call_create 102',
  'ccsevents.call_set_state 102 ring',
  'ccsevents.call_create 103',
  'ccsevents.call_set_state 103 ring',
];

describe('simulator: ring groups and queues (§5.4)', () => {
  const start = useSimulators();

  it('a ring group answered by its 2nd phone: one dialog, a fork per phone, dlg_pickup + dlg_start for 102, one dlg_end', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim);
    const call = await control(sim, '', { from: CALLER, to: '500', group: PHONES, record: true });
    assert.deepEqual(call.group, PHONES);
    assert.deepEqual(call.forks?.map((f) => `${f.phone}:${f.state}`), ['101:ring', '102:ring', '103:ring']);
    const answered = await control(sim, `/${call.id}/answer`, { by: '102' });
    assert.equal(answered.tonum, '102');
    assert.deepEqual(answered.forks?.map((f) => `${f.phone}:${f.state}`), ['101:stopped', '102:answered', '103:stopped']);
    await control(sim, `/${call.id}/hangup`);
    const frames = await untilStop(ws, call.id);

    assert.deepEqual(story(frames), [
      ...RINGING_ALL,
      'callevents.dlg_pickup 102',
      'ccsevents.call_set_state 101 end',
      'ccsevents.call_delete 101',
      'ccsevents.call_set_state 103 end',
      'ccsevents.call_delete 103',
      'callevents.dlg_start 102',
      'ccsevents.call_set_state 102 talk',
      'ccsevents.connection_start_record',
      'callevents.rec_info',
      'callevents.dlg_end bye',
      'ccsevents.call_set_state 102 end',
      'ccsevents.call_delete 102',
      'ccsevents.connection_set_record_info',
      'ccsevents.connection_delete',
      'callevents.dlg_stop bye',
    ]);

    const ofType = (type: string): Array<Record<string, unknown>> => frames.filter((f) => eventType(f) === type).map(eventData);
    const forks = ofType('callevents.fork_start');
    const dialog = frames.filter((f) => eventType(f).startsWith('callevents.dlg_')).map(eventData);
    const dialogid = dialog[0]?.dialogid;
    assert.equal(typeof dialogid, 'string');
    assert.ok(dialog.every((d) => d.dialogid === dialogid), 'ONE dialog');
    assert.equal(new Set(forks.map((f) => f.forkcallid)).size, 3, 'each fork has its own Call-Id');
    for (const [i, fork] of forks.entries()) {
      const phone = PHONES[i] as string;
      assert.equal(fork.dialogid, dialogid, 'fork_start names the dialog it belongs to');
      assert.equal(fork.forkcallednum, phone);
      assert.equal(fork.forkrequesturi, `sip:${phone}@demo.local`);
      assert.equal(fork.forkremoteuri, `sip:${phone}@demo.local`);
      assert.equal(fork.localuri, `sip:${CALLER}@demo.local`);
      assert.equal(fork.remoteuri, 'sip:500@demo.local');
      assert.equal(fork.forkdir, 'in');
      assert.match(String(fork.forklocaltag), /^[0-9a-f]{10}$/);
      assert.equal(fork.localtag, forks[0]?.localtag, "the caller's side has one tag");
      assert.equal(fork.tonum, '500', 'before an answer the call is to the group');
      assert.equal(fork.callednum, '500');
      assert.equal(fork.cid, call.cid);
      assert.equal(fork.acallid, call.acallid);
    }
    const leg102 = forks[1]?.forkcallid;
    assert.deepEqual(
      frames.filter((f) => eventData(f).idcall === leg102).map((f) => `${eventType(f)} ${String(eventData(f).state ?? '')}`.trim()),
      ['ccsevents.call_create', 'ccsevents.call_set_state ring', 'ccsevents.call_set_state talk', 'ccsevents.call_set_state end', 'ccsevents.call_delete'],
      "102's leg events name its forkcallid",
    );
    assert.equal(ofType('callevents.dlg_start')[0]?.bcallid, leg102, 'B side of the dialog is the fork that answered');
    assert.equal(ofType('callevents.dlg_pickup')[0]?.bcallid, leg102);
    assert.equal(ofType('callevents.dlg_end')[0]?.tonum, '102');
    assert.equal(sim.getCall(call.id).bcallid, leg102);
  });

  it('a ring group nobody answers: one dlg_end (cancel when the caller gives up, timeout after ringMs), every fork leg ends', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim);
    const call = sim.startCall({ from: CALLER, to: '500', group: PHONES });
    const ended = sim.hangupCall(call.id, 'cancel');
    assert.equal(ended.tonum, '500', 'nobody answered: the call stays to the group');
    assert.deepEqual(ended.forks?.map((f) => f.state), ['stopped', 'stopped', 'stopped']);
    assert.deepEqual(story(await untilStop(ws, call.id)), [
      ...RINGING_ALL,
      'callevents.dlg_end cancel',
      'ccsevents.call_set_state 101 end',
      'ccsevents.call_delete 101',
      'ccsevents.call_set_state 102 end',
      'ccsevents.call_delete 102',
      'ccsevents.call_set_state 103 end',
      'ccsevents.call_delete 103',
      'ccsevents.connection_delete',
      'callevents.dlg_stop cancel',
    ]);

    const timed = sim.startCall({ from: CALLER, to: '500', group: ['101', '102'], ringMs: 30 });
    const types = story(await untilStop(ws, timed.id));
    assert.equal(types.filter((t) => t.startsWith('callevents.dlg_end')).length, 1);
    assert.ok(types.includes('callevents.dlg_end timeout'), types.join('\n'));
    assert.ok(!types.some((t) => t.startsWith('callevents.dlg_start') || t.startsWith('callevents.dlg_pickup')));
    assert.equal(sim.getCall(timed.id).reason, 'timeout');
  });

  it('a queue answered by its 3rd phone: phones in turn, each stopped fork ends its leg only, one dialog', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim);
    const call = await control(sim, '', { from: CALLER, to: '600', queue: PHONES });
    assert.deepEqual(call.queue, PHONES);
    assert.deepEqual(call.forks?.map((f) => f.phone), ['101'], 'a queue rings its first phone only');
    await control(sim, `/${call.id}/next`);
    const second = await control(sim, `/${call.id}/next`);
    assert.deepEqual(second.forks?.map((f) => `${f.phone}:${f.state}`), ['101:stopped', '102:stopped', '103:ring']);
    assert.equal(second.state, 'ring');
    await control(sim, `/${call.id}/answer`, { by: '103' });
    await control(sim, `/${call.id}/hangup`);
    const frames = await untilStop(ws, call.id);
    assert.deepEqual(story(frames), [
      'callevents.invite',
      'ccsevents.connection_create',
      'callevents.dlg_init',
      'callevents.fork_start 101',
      'callevents.dlg_call',
      'ccsevents.call_create 101',
      'ccsevents.call_set_state 101 ring',
      'ccsevents.call_set_state 101 end',
      'ccsevents.call_delete 101',
      'callevents.fork_start 102',
      'ccsevents.call_create 102',
      'ccsevents.call_set_state 102 ring',
      'ccsevents.call_set_state 102 end',
      'ccsevents.call_delete 102',
      'callevents.fork_start 103',
      'ccsevents.call_create 103',
      'ccsevents.call_set_state 103 ring',
      'callevents.dlg_pickup 103',
      'callevents.dlg_start 103',
      'ccsevents.call_set_state 103 talk',
      'callevents.dlg_end bye',
      'ccsevents.call_set_state 103 end',
      'ccsevents.call_delete 103',
      'ccsevents.connection_delete',
      'callevents.dlg_stop bye',
    ]);
    const dialogids = new Set(frames.filter((f) => eventType(f) === 'callevents.fork_start' || eventType(f).startsWith('callevents.dlg_')).map((f) => eventData(f).dialogid));
    assert.equal(dialogids.size, 1, 'ONE dialog for the whole queue');
    assert.equal(sim.getCall(call.id).tonum, '103');
  });

  it('a queue with ringMs moves on by itself and ends timeout after its last phone', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim);
    const call = sim.startCall({ from: CALLER, to: '600', queue: ['101', '102'], ringMs: 20 });
    assert.deepEqual(story(await untilStop(ws, call.id)).filter((t) => t.startsWith('callevents.')), [
      'callevents.invite',
      'callevents.dlg_init',
      'callevents.fork_start 101',
      'callevents.dlg_call',
      'callevents.fork_start 102',
      'callevents.dlg_end timeout',
      'callevents.dlg_stop timeout',
    ]);

    // An answer while a phone rings stops the clock: the call is not moved on or ended under it.
    const answered = sim.startCall({ from: CALLER, to: '600', queue: ['101', '102', '103'], ringMs: 40 });
    await sim.waitForEvent((e) => e.type === 'fork_start' && e.data.connectionid === answered.id && e.data.forkcallednum === '102', 2000);
    sim.answerCall(answered.id, { by: '102' });
    await new Promise((r) => setTimeout(r, 150));
    const now = sim.getCall(answered.id);
    assert.equal(now.state, 'talk');
    assert.deepEqual(now.forks?.map((f) => `${f.phone}:${f.state}`), ['101:stopped', '102:answered']);
  });

  it('a queue whose caller hangs up between two phones: the fork ended, no next fork, one dlg_end cancel', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim);
    const call = sim.startCall({ from: CALLER, to: '600', queue: PHONES });
    const between = await control(sim, `/${call.id}/next`, { ring: false });
    assert.equal(between.state, 'ring', 'the dialog goes on between two phones');
    assert.deepEqual(between.forks?.map((f) => `${f.phone}:${f.state}`), ['101:stopped']);
    assert.equal((await restCall(sim, call.id)).body.state, 'ring');
    // Nothing rings now: no phone can answer, and there is nothing to stop.
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${call.id}/answer`, { body: {} })).status, 409);
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${call.id}/next`, { body: { ring: false } })).status, 409);
    await control(sim, `/${call.id}/hangup`, { reason: 'cancel' });
    assert.deepEqual(story(await untilStop(ws, call.id)), [
      'callevents.invite',
      'ccsevents.connection_create',
      'callevents.dlg_init',
      'callevents.fork_start 101',
      'callevents.dlg_call',
      'ccsevents.call_create 101',
      'ccsevents.call_set_state 101 ring',
      'ccsevents.call_set_state 101 end',
      'ccsevents.call_delete 101',
      'callevents.dlg_end cancel',
      'ccsevents.connection_delete',
      'callevents.dlg_stop cancel',
    ]);

    // `next` after a pause rings the next phone.
    const resumed = sim.startCall({ from: CALLER, to: '600', queue: PHONES });
    sim.nextPhone(resumed.id, { ring: false });
    assert.deepEqual(sim.nextPhone(resumed.id).forks?.map((f) => `${f.phone}:${f.state}`), ['101:stopped', '102:ring']);
  });

  it('REST call objects: callednum and tonum the group until a phone answers, then tonum that phone; ended: 404', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const call = sim.startCall({ from: CALLER, to: '500', group: PHONES });
    const ringing = await restCall(sim, call.id);
    assert.equal(ringing.status, 200);
    assert.deepEqual(
      { callednum: ringing.body.callednum, tonum: ringing.body.tonum, state: ringing.body.state, fromnum: ringing.body.fromnum, dir: ringing.body.dir },
      { callednum: '500', tonum: '500', state: 'ring', fromnum: CALLER, dir: 'in' },
    );
    assert.equal('forks' in ringing.body, false, 'the platform view has no simulator fields');
    sim.answerCall(call.id, { by: '103' });
    const talking = await restCall(sim, call.id);
    assert.deepEqual({ callednum: talking.body.callednum, tonum: talking.body.tonum, state: talking.body.state }, { callednum: '500', tonum: '103', state: 'talk' });
    assert.equal(talking.body.bcallid, sim.getCall(call.id).forks?.[2]?.forkcallid);
    const list = (await rest(sim, 'GET', '/rest/v1/uc/calls', { token: 'demo-token' })).body as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((c) => [c.id, c.tonum, c.callednum]), [[call.id, '103', '500']]);
    sim.hangupCall(call.id);
    assert.equal((await restCall(sim, call.id)).status, 404, 'an ended call is gone from the platform API');
    const after = (await rest(sim, 'GET', `/_sim/calls/${call.id}`)).body as SimCall;
    assert.deepEqual({ state: after.state, tonum: after.tonum, callednum: after.callednum, reason: after.reason }, { state: 'ended', tonum: '103', callednum: '500', reason: 'bye' });
  });

  it('the platform API acts on forked calls: NOTIFY talk on a fork leg answers by its phone, DELETE ends every ringing leg', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const events: string[] = [];
    sim.on('event', (e) => events.push(`${e.type}${e.type === 'call_set_state' ? `:${String(e.data.state)}` : ''}`));
    const call = sim.startCall({ from: CALLER, to: '500', group: PHONES });
    const leg103 = call.forks?.[2]?.forkcallid as string;
    const notify = await rest(sim, 'NOTIFY', `/rest/v1/uc/calls/${call.id}`, { token: 'demo-token', body: { idcall: leg103, event: 'talk' } });
    assert.equal(notify.status, 200, notify.text);
    assert.equal(sim.getCall(call.id).tonum, '103');
    assert.equal(sim.getCall(call.id).bcallid, leg103);
    // The other forks have stopped: their legs are no legs of the call any more.
    const leg101 = call.forks?.[0]?.forkcallid as string;
    assert.equal((await rest(sim, 'SEND_DTMF', `/rest/v1/uc/calls/${call.id}`, { token: 'demo-token', body: { idcall: leg101, dtmf: '1' } })).status, 404);

    const other = sim.startCall({ from: CALLER, to: '500', group: ['101', '102'] });
    events.splice(0);
    assert.equal((await rest(sim, 'DELETE', `/rest/v1/uc/calls/${other.id}`, { token: 'demo-token' })).status, 200);
    assert.deepEqual(events, ['dlg_end', 'call_set_state:end', 'call_delete', 'call_set_state:end', 'call_delete', 'connection_delete', 'dlg_stop']);
  });

  it('a phone outside the group picks up: dlg_pickup by it, every fork stops, it talks on a leg of its own', async () => {
    const sim = await start();
    const events: Array<[string, Record<string, unknown>]> = [];
    const call = sim.startCall({ from: CALLER, to: '500', group: ['101', '102'] });
    sim.on('event', (e) => events.push([e.type, e.data]));
    const picked = sim.pickupCall(call.id, '115');
    assert.equal(picked.tonum, '115');
    assert.deepEqual(picked.forks?.map((f) => f.state), ['stopped', 'stopped']);
    assert.deepEqual(events.map(([t, d]) => (t === 'call_set_state' ? `${t}:${String(d.state)}` : t)), [
      'dlg_pickup', 'call_set_state:end', 'call_delete', 'call_set_state:end', 'call_delete', 'call_create', 'dlg_start', 'call_set_state:talk',
    ]);
    const newLeg = picked.bcallid;
    assert.ok(!picked.forks?.some((f) => f.forkcallid === newLeg));
    assert.equal(events[5]?.[1].idcall, newLeg);
    assert.equal(events[7]?.[1].idcall, newLeg);
    // A phone of the group picking up answers as itself.
    const own = sim.startCall({ from: CALLER, to: '500', group: ['101', '102'] });
    assert.deepEqual(sim.pickupCall(own.id, '102').forks?.map((f) => f.state), ['stopped', 'answered']);
  });

  it('subscribers of a group phone (objects) see the whole call, from its invite to its dlg_stop', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const ws = await subscriber(sim, ['103']);
    const call = sim.startCall({ from: CALLER, to: '500', group: PHONES });
    sim.answerCall(call.id, { by: '101' });
    sim.hangupCall(call.id);
    const types = story(await untilStop(ws, call.id));
    assert.equal(types[0], 'callevents.invite');
    assert.ok(types.includes('callevents.dlg_end bye'));
    const single = sim.startCall({ from: CALLER, to: '104' });
    sim.hangupCall(single.id);
    assert.deepEqual((await ws.collect(50)).filter((f) => isEvent(f) && eventData(f).connectionid === single.id), [], 'a call 103 has no part in');
  });

  it('answer:true answers by the first phone; answer by a phone that is not ringing is 409 and changes nothing', async () => {
    const sim = await start();
    const quick = sim.startCall({ from: CALLER, to: '600', queue: PHONES, answer: true });
    assert.equal(quick.state, 'talk');
    assert.equal(quick.tonum, '101');

    const call = sim.startCall({ from: CALLER, to: '600', queue: PHONES });
    const count = (): number => sim.listCalls().length;
    const before = count();
    let events = 0;
    sim.on('event', () => events++);
    for (const by of ['102', '999', 102]) {
      const res = await rest(sim, 'POST', `/_sim/calls/${call.id}/answer`, { body: { by } });
      assert.equal(res.status, 409, `by ${by}: ${res.text}`);
      assert.match(String((res.body as { error: { message: string } }).error.message), /not ringing/);
    }
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${call.id}/answer`, { body: { by: { phone: '101' } } })).status, 400);
    assert.equal(events, 0, 'nothing was emitted');
    assert.equal(count(), before);
    assert.equal(sim.getCall(call.id).state, 'ring');
    // A single call answers by its own phone only.
    const single = sim.startCall({ from: CALLER, to: '104' });
    assert.throws(() => sim.answerCall(single.id, { by: '105' }), /not ringing/);
    assert.equal(sim.answerCall(single.id, { by: '104' }).state, 'talk');
    // The flow goes on: the queue call still answers.
    assert.equal(sim.answerCall(call.id, { by: '101' }).tonum, '101');
  });

  it('refuses malformed groups and queues with a 400, creating no call, and keeps serving', async () => {
    const sim = await start();
    let events = 0;
    sim.on('event', () => events++);
    const bad: Array<[unknown, RegExp]> = [
      [{ from: CALLER, to: '500', group: PHONES, queue: PHONES }, /not both/],
      [{ from: CALLER, to: '500', group: [] }, /array of 1 to 100/],
      [{ from: CALLER, to: '500', group: '101' }, /array of phone numbers/],
      [{ from: CALLER, to: '500', queue: ['101', { n: 1 }] }, /queue\[1\]/],
      [{ from: CALLER, to: '500', group: ['101', '   '] }, /group\[1\]/],
      [{ from: CALLER, to: '500', group: ['102', '102\n'] }, /102 twice/],
      [{ from: CALLER, to: '500', group: Array.from({ length: 101 }, (_, i) => String(200 + i)) }, /1 to 100/],
      [{ from: CALLER, to: '104', ringMs: 1000 }, /needs "group" or "queue"/],
      [{ from: CALLER, to: '500', queue: PHONES, ringMs: 0 }, /ringMs/],
      [{ from: CALLER, to: '500', queue: PHONES, ringMs: 1.5 }, /ringMs/],
      [{ from: CALLER, to: '500', queue: PHONES, ringMs: '100' }, /ringMs/],
    ];
    for (const [body, message] of bad) {
      const res = await rest(sim, 'POST', '/_sim/calls', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String((res.body as { error: { message: string } }).error.message), message);
    }
    assert.throws(() => sim.startCall({ from: CALLER, to: '500', group: [] }), /array of 1 to 100/);
    assert.equal(events, 0);
    assert.deepEqual(sim.listCalls(), []);

    const single = sim.startCall({ from: CALLER, to: '104' });
    const group = sim.startCall({ from: CALLER, to: '500', group: PHONES });
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${single.id}/next`, { body: {} })).status, 409, 'next on a call to one phone');
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${group.id}/next`, { body: {} })).status, 409, 'next on a ring group');
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${group.id}/next`, { body: { ring: 'no' } })).status, 400);
    assert.equal((await rest(sim, 'POST', '/_sim/calls/nope/next', { body: {} })).status, 404);
    assert.equal(sim.answerCall(group.id, { by: '102' }).state, 'talk');
    assert.equal(sim.listCalls().length, 2);
  });

  it('calls to one phone keep their events: no fork_start, no dlg_pickup on an answer', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const types: string[] = [];
    sim.on('event', (e) => types.push(e.type));
    const call = sim.startCall({ from: CALLER, to: '104' });
    assert.equal(call.group, undefined);
    assert.equal(call.forks, undefined);
    sim.answerCall(call.id);
    sim.hangupCall(call.id);
    assert.deepEqual(types, [
      'invite', 'connection_create', 'dlg_init', 'dlg_call', 'call_create', 'call_set_state', 'dlg_start', 'call_set_state',
      'dlg_end', 'call_set_state', 'call_delete', 'connection_delete', 'dlg_stop',
    ]);
  });
});
