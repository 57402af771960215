import assert from 'node:assert/strict';
import type { SimEvent, Simulator } from '../../src/simulator';
import { assertErrormsg, delay, login, openReady, recorder, rest, useSimulators } from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('simulator: call event sequences (§5.3)', () => {
  const start = useSimulators();

  it('an answered inbound call: invite … dlg_start … dlg_end(bye) … dlg_stop after dlgStopDelayMs, ids consistent', async () => {
    const sim = await start({ dlgStopDelayMs: 100 });
    const rec = recorder(sim);
    const call = sim.startCall({ from: '+79161112233', to: '101' });
    assert.equal(call.state, 'ring');
    assert.equal(call.dir, 'in');
    assert.equal(call.id, `${call.cid}.${call.invitets}`);
    assert.equal(call.connectionid, call.id);
    sim.answerCall(call.id);
    sim.pressDtmf(call.id, '5');
    sim.hangupCall(call.id);
    assert.deepEqual(rec.types(), [
      'callevents.invite',
      'ccsevents.connection_create',
      'callevents.dlg_init',
      'callevents.dlg_call',
      'ccsevents.call_create',
      'ccsevents.call_set_state',
      'callevents.dlg_start',
      'ccsevents.call_set_state',
      'ccsevents.call_dtmf',
      'callevents.dlg_end',
      'ccsevents.call_set_state',
      'ccsevents.call_delete',
      'ccsevents.connection_delete',
    ]);
    const endTs = Date.now();
    const stop = await sim.waitForEvent('dlg_stop', 1000);
    assert.ok(Date.now() - endTs >= 90, 'dlg_stop comes dlgStopDelayMs later');
    assert.equal(stop.data.reason, 'bye');

    const all = [...rec.events];
    const eventids = new Set(all.map((e) => e.data.eventid));
    assert.equal(eventids.size, all.length, 'a new eventid per event');
    for (const e of all) {
      assert.match(String(e.data.eventid), UUID);
      assert.equal(e.data.cid, call.cid);
      assert.equal(e.data.connectionid, call.id);
      assert.equal(e.data.invitets, call.invitets);
      assert.equal(e.data.invitedt, new Date(call.invitets).toISOString());
      assert.equal(typeof e.data.eventts, 'number');
    }
    const invite = all[0] as SimEvent;
    assert.match(String(invite.data.cid), UUID);
    assert.equal(invite.data.fromnum, '+79161112233');
    assert.equal(invite.data.tonum, '101');
    assert.equal(invite.data.callednum, '101');
    assert.equal(invite.data.fromouter, true);
    // Strict (the default) sends the flags as strings; lenient.test.ts checks the booleans.
    assert.equal(invite.data.isreferred, 'false');
    assert.equal(invite.data.acallid, call.acallid);
    const dialog = all.filter((e) => e.type.startsWith('dlg_'));
    assert.ok(dialog.every((e) => e.data.acallid === call.acallid && e.data.bcallid === call.bcallid && e.data.dialogid === dialog[0]?.data.dialogid));
    const states = all.filter((e) => e.type === 'call_set_state').map((e) => `${String(e.data.idcall)}:${String(e.data.state)}`);
    assert.deepEqual(states, [`${call.bcallid}:ring`, `${call.bcallid}:talk`, `${call.bcallid}:end`]);
    assert.equal(all.find((e) => e.type === 'call_dtmf')?.data.idcall, call.acallid, 'the caller pressed it');
    assert.equal(all.find((e) => e.type === 'dlg_end')?.data.reason, 'bye');
    assert.equal(sim.getCall(call.id).state, 'ended');
  });

  it('an unanswered call: invite, dlg_init, dlg_call, dlg_end with the given reason', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const rec = recorder(sim);
    const call = sim.startCall({ from: '+79161112233', to: '101' });
    sim.hangupCall(call.id, 'cancel');
    const dialog = rec.events.filter((e) => e.class === 'callevents');
    assert.deepEqual(dialog.map((e) => e.type), ['invite', 'dlg_init', 'dlg_call', 'dlg_end', 'dlg_stop']);
    assert.equal(dialog[3]?.data.reason, 'cancel');
  });

  it('a recorded call: connection_start_record and rec_info when talking, the key at its end', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const rec = recorder(sim);
    const call = sim.startCall({ from: '+79161112233', to: '101', record: true, answer: true });
    sim.hangupCall(call.id);
    assert.deepEqual(rec.types(), [
      'callevents.invite',
      'ccsevents.connection_create',
      'callevents.dlg_init',
      'callevents.dlg_call',
      'ccsevents.call_create',
      'ccsevents.call_set_state',
      'callevents.dlg_start',
      'ccsevents.call_set_state',
      'ccsevents.connection_start_record',
      'callevents.rec_info',
      'callevents.dlg_end',
      'ccsevents.call_set_state',
      'ccsevents.call_delete',
      'ccsevents.connection_set_record_info',
      'ccsevents.connection_delete',
      'callevents.dlg_stop',
    ]);
    const key = rec.events.find((e) => e.type === 'connection_set_record_info')?.data.key;
    assert.match(String(key), new RegExp(`^fs:main1:Srv-001/\\d{4}-\\d{2}-\\d{2}/${call.id.replace('.', '\\.')}\\.mp3$`));
    assert.equal(sim.getCall(call.id).recordingKey, key);
    assert.equal(rec.events.find((e) => e.type === 'rec_info')?.data.isrec, true);
  });

  it('the control API drives calls too, and knows ended ones', async () => {
    const sim = await start({ dlgStopDelayMs: 0 });
    const created = await rest(sim, 'POST', '/_sim/calls', { body: { from: '+79161112233', to: '101', record: true } });
    assert.equal(created.status, 200);
    const id = (created.body as { id: string }).id;
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${id}/answer`)).status, 200);
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${id}/answer`)).status, 409, 'not ringing any more');
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${id}/dtmf`, { body: { digits: '12#', leg: 'b' } })).status, 200);
    assert.equal((await rest(sim, 'POST', `/_sim/calls/${id}/dtmf`, { body: { digits: 'x' } })).status, 400);
    const ended = await rest(sim, 'POST', `/_sim/calls/${id}/hangup`, { body: { reason: 'timeout' } });
    assert.equal((ended.body as { state: string; reason: string }).state, 'ended');
    assert.equal((ended.body as { reason: string }).reason, 'timeout');
    assert.ok((ended.body as { recordingKey?: string }).recordingKey);
    assert.equal((await rest(sim, 'GET', `/_sim/calls/${id}`)).status, 200);
    assert.equal((await rest(sim, 'GET', '/_sim/calls/unknown')).status, 404);
    assert.equal(((await rest(sim, 'GET', '/_sim/calls')).body as unknown[]).length, 1);
    assert.equal((await rest(sim, 'POST', '/_sim/calls', { body: { from: '1' } })).status, 400);
    assert.equal((await rest(sim, 'POST', '/_sim/calls', { body: { from: '1', to: '2', dir: 'sideways' } })).status, 400);
    const answered = await rest(sim, 'POST', '/_sim/calls', { body: { from: '101', to: '+79160000000', dir: 'out', answer: true } });
    assert.equal((answered.body as { state: string; dir: string }).state, 'talk');
    assert.equal((answered.body as { dir: string }).dir, 'out');
  });
});

describe('simulator: call control verbs (§6)', () => {
  const start = useSimulators();
  let sim: Simulator;
  let token: string;
  let rec: ReturnType<typeof recorder>;

  const verb = (method: string, path: string, body?: unknown) => rest(sim, method, `/rest/v1/uc/calls${path}`, { token, ...(body !== undefined && { body }) });
  const newCall = async (from = '+79161112233', to = '101'): Promise<string> => {
    const res = await verb('POST', '', { from, to });
    assert.equal(res.status, 200);
    return (res.body as { id: string }).id;
  };

  beforeEach(async () => {
    sim = await start({ dlgStopDelayMs: 0 });
    token = await login(sim);
    rec = recorder(sim);
  });

  it('POST and INVITE create a ringing call; GET lists active calls with offset and limit', async () => {
    const a = await newCall('101', '+79160000001');
    const b = (await verb('INVITE', '', { from: '102', to: '103' })).body as { id: string };
    const c = await newCall('+79160000002', '104');
    const list = (await verb('GET', '')).body as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((x) => x.id), [a, b.id, c]);
    const first = list[0] as Record<string, unknown>;
    for (const field of ['id', 'connectionid', 'cid', 'invitets', 'fromnum', 'tonum', 'dir', 'state']) assert.ok(field in first, field);
    assert.equal(first.state, 'ring');
    assert.equal(first.dir, 'out');
    assert.equal(list[1]?.dir, 'local');
    assert.equal(list[2]?.dir, 'in');
    assert.deepEqual(((await verb('GET', '?offset=1&limit=1')).body as Array<{ id: string }>).map((x) => x.id), [b.id]);
    assert.equal((await verb('GET', '?limit=-1')).status, 400);
    await verb('DELETE', `/${a}`);
    assert.deepEqual(((await verb('GET', '')).body as Array<{ id: string }>).map((x) => x.id), [b.id, c], 'ended calls are not listed');
    assert.equal((await verb('GET', `/${c}`)).status, 200);
    assert.equal(((await verb('GET', `/${c}`)).body as { fromnum: string }).fromnum, '+79160000002');
    assert.equal((await verb('GET', `/${a}`)).status, 404, 'an ended call is no longer known to the platform API');
    assert.equal((await verb('POST', '', { from: '101' })).status, 400);
    assert.equal((await verb('POST', '', '{not json')).status, 400);
  });

  it('INVITEBYIVR calls a number from an IVR scenario', async () => {
    const res = await verb('INVITEBYIVR', '', { to: '+79160000003', ivr: 'survey' });
    assert.equal(res.status, 200);
    const call = sim.getCall((res.body as { id: string }).id);
    assert.equal(call.tonum, '+79160000003');
    assert.equal(call.fromnum, 'survey');
    assert.equal((await verb('INVITEBYIVR', '', { to: '+79160000003' })).status, 400);
  });

  it('LOOKUP finds a call by cid, connectionid, acallid or bcallid; 404 otherwise', async () => {
    const id = await newCall();
    const call = sim.getCall(id);
    for (const key of [call.cid, call.id, call.acallid, call.bcallid]) {
      const res = await verb('LOOKUP', '', { key });
      assert.equal(res.status, 200, key);
      assert.deepEqual(res.body, { id });
    }
    const miss = await verb('LOOKUP', '', { key: 'nothing' });
    assert.equal(miss.status, 404);
    assert.equal((miss.body as { error: { code: string } }).error.code, 'not_found');
  });

  it('NOTIFY talk answers, hold holds, talk resumes; bad event 400, unknown leg 404', async () => {
    const id = await newCall();
    const call = sim.getCall(id);
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'hold' })).status, 409, 'a ringing call cannot be held');
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'talk' })).status, 200);
    assert.equal(sim.getCall(id).state, 'talk');
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'hold', idcall: call.bcallid })).status, 200);
    assert.equal(sim.getCall(id).state, 'hold');
    assert.equal(((await verb('GET', `/${id}`)).body as { state: string }).state, 'hold');
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'talk' })).status, 200);
    assert.equal(sim.getCall(id).state, 'talk');
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'dance' })).status, 400);
    assert.equal((await verb('NOTIFY', `/${id}`, { event: 'hold', idcall: 'no-such-leg' })).status, 404);
    const after = rec.types(id).slice(6);
    assert.deepEqual(after, ['callevents.dlg_start', 'ccsevents.call_set_state', 'ccsevents.call_set_state', 'ccsevents.call_set_state']);
    const states = rec.events.filter((e) => e.type === 'call_set_state').map((e) => e.data.state);
    assert.deepEqual(states, ['ring', 'talk', 'hold', 'talk']);
  });

  it('SEND_DTMF emits call_dtmf on the named leg (B by default); bad digits 400', async () => {
    const id = await newCall();
    const call = sim.getCall(id);
    await verb('NOTIFY', `/${id}`, { event: 'talk' });
    assert.equal((await verb('SEND_DTMF', `/${id}`, { dtmf: '0123456789*#ABCD' })).status, 200);
    assert.equal((await verb('SEND_DTMF', `/${id}`, { dtmf: '7', idcall: call.acallid })).status, 200);
    assert.equal((await verb('SEND_DTMF', `/${id}`, { dtmf: '12x' })).status, 400);
    assert.equal((await verb('SEND_DTMF', `/${id}`, {})).status, 400);
    const dtmf = rec.events.filter((e) => e.type === 'call_dtmf');
    assert.deepEqual(
      dtmf.map((e) => [e.data.idcall, e.data.dtmf]),
      [
        [call.bcallid, '0123456789*#ABCD'],
        [call.acallid, '7'],
      ],
    );
  });

  // Strict shape: referring_invite first, the flags as strings; the lenient one is in lenient.test.ts.
  it('REFER: same connectionid, new B leg and tonum, answered at once', async () => {
    const id = await newCall('+79161112233', '101');
    const before = sim.getCall(id);
    await verb('NOTIFY', `/${id}`, { event: 'talk' });
    rec.clear();
    assert.equal((await verb('REFER', `/${id}`, { to: '105' })).status, 200);
    assert.deepEqual(rec.types(), [
      'callevents.referring_invite',
      'callevents.dlg_call',
      'ccsevents.call_delete',
      'ccsevents.call_create',
      'ccsevents.connection_update',
      'callevents.dlg_start',
      'ccsevents.call_set_state',
    ]);
    const [referring, dlgCall, callDelete, callCreate] = rec.events;
    assert.equal(referring?.data.tonum, '105');
    assert.equal(dlgCall?.data.isreferred, 'true');
    assert.equal(dlgCall?.data.tonum, '105');
    assert.notEqual(dlgCall?.data.bcallid, before.bcallid);
    assert.equal(callDelete?.data.idcall, before.bcallid);
    assert.equal(callCreate?.data.idcall, dlgCall?.data.bcallid);
    assert.ok(rec.events.every((e) => e.data.connectionid === id));
    const after = sim.getCall(id);
    assert.equal(after.tonum, '105');
    assert.equal(after.state, 'talk');
    assert.equal(after.isreferred, true);
    assert.equal((await verb('REFER', `/${id}`, {})).status, 400);
  });

  it('REFERREPLACES: the other call ends "replaced", this one continues with its party', async () => {
    const customer = await newCall('+79161112233', '101');
    const consult = await newCall('101', '102');
    await verb('NOTIFY', `/${customer}`, { event: 'talk' });
    await verb('NOTIFY', `/${customer}`, { event: 'hold' });
    await verb('NOTIFY', `/${consult}`, { event: 'talk' });
    rec.clear();
    assert.equal((await verb('REFERREPLACES', `/${customer}`, { replaces: consult })).status, 200);
    const end = rec.events.find((e) => e.type === 'dlg_end');
    assert.equal(end?.data.connectionid, consult);
    assert.equal(end?.data.reason, 'replaced');
    assert.equal(sim.getCall(consult).state, 'ended');
    const joined = sim.getCall(customer);
    assert.equal(joined.state, 'talk');
    assert.equal(joined.tonum, '102');
    assert.ok(rec.types(customer).includes('callevents.dlg_start'));
    assert.equal((await verb('REFERREPLACES', `/${customer}`, { replaces: 'unknown' })).status, 404);
    assert.equal((await verb('REFERREPLACES', `/${customer}`, { replaces: customer })).status, 400);
    assert.equal((await verb('REFERREPLACES', `/${customer}`, {})).status, 400);
  });

  it('SWITCHCONF makes a conference, REFERCONF moves a call into it; conferences collection', async () => {
    const a = await newCall('+79161112233', '101');
    const b = await newCall('+79164445566', '102');
    const sw = await verb('SWITCHCONF', `/${a}`, {});
    assert.equal(sw.status, 200);
    const conference = (sw.body as { conference: string }).conference;
    assert.ok(conference);
    assert.deepEqual((await verb('SWITCHCONF', `/${a}`)).body, { conference }, 'again: the same conference');
    const update = rec.events.find((e) => e.type === 'connection_update');
    assert.equal(update?.data.conference, conference);
    assert.equal((await verb('REFERCONF', `/${b}`, { conference })).status, 200);
    assert.equal(sim.getCall(b).conference, conference);
    assert.equal((await verb('REFERCONF', `/${b}`, { conference: 'nope' })).status, 404);
    assert.equal((await verb('REFERCONF', `/${b}`, {})).status, 400);

    const confs = await rest(sim, 'GET', '/rest/v1/uc/conferences', { token });
    assert.deepEqual((confs.body as Array<{ id: string }>).map((c) => c.id), [conference]);
    const one = (await rest(sim, 'GET', `/rest/v1/uc/conferences/${conference}`, { token })).body as { calls: string[] };
    assert.deepEqual(one.calls, [a, b]);
    const participants = (await rest(sim, 'GET', `/rest/v1/uc/conferences/${conference}/paticipants`, { token })).body as string[];
    assert.deepEqual(participants.sort(), ['+79161112233', '+79164445566', '101', '102'].sort());
    assert.equal((await rest(sim, 'DELETE', `/rest/v1/uc/conferences/${conference}`, { token })).status, 200);
    assert.equal(sim.getCall(a).state, 'ended');
    assert.equal(sim.getCall(b).state, 'ended');
    assert.equal((await rest(sim, 'GET', `/rest/v1/uc/conferences/${conference}`, { token })).status, 404);
  });

  it('SETUP_RECORD switches recording on for a talking call: a key at its end', async () => {
    const id = await newCall();
    await verb('NOTIFY', `/${id}`, { event: 'talk' });
    assert.equal((await verb('SETUP_RECORD', `/${id}`, { record: 'yes' })).status, 400);
    assert.equal((await verb('SETUP_RECORD', `/${id}`, { record: true })).status, 200);
    assert.ok(rec.types(id).includes('ccsevents.connection_start_record'));
    await verb('DELETE', `/${id}`);
    assert.ok(rec.events.some((e) => e.type === 'connection_set_record_info' && e.data.connectionid === id));
  });

  it('DELETE ends the call with dlg_end reason bye', async () => {
    const id = await newCall();
    assert.equal((await verb('DELETE', `/${id}`)).status, 200);
    assert.equal(rec.events.find((e) => e.type === 'dlg_end')?.data.reason, 'bye');
    assert.equal(sim.getCall(id).state, 'ended');
  });

  it('every verb answers 404 with a JSON error body for an unknown call', async () => {
    const bodies: Record<string, unknown> = {
      GET: undefined,
      REFER: { to: '105' },
      REFERREPLACES: { replaces: 'x' },
      SWITCHCONF: {},
      REFERCONF: { conference: 'x' },
      NOTIFY: { event: 'talk' },
      SEND_DTMF: { dtmf: '1' },
      SETUP_RECORD: { record: true },
      DELETE: undefined,
    };
    for (const [method, body] of Object.entries(bodies)) {
      const res = await verb(method, '/3694473f-0641-450c-2c15-c00000000002.1601282818792', body);
      assert.equal(res.status, 404, method);
      assert.equal((res.body as { error: { code: string } }).error.code, 'not_found', method);
      assert.equal(typeof (res.body as { error: { message: string } }).error.message, 'string', method);
    }
  });

  // The lenient reply's `error.code` is checked in lenient.test.ts.
  it('ccs bye over the token WebSocket ends a call; unknown idconn is an errormsg reply', async () => {
    const id = await newCall();
    const ws = await openReady(sim);
    const ok = await ws.request('bye', { owner: '', idcall: '', idconn: id });
    assert.equal(ok.result, 'ok');
    assert.equal(sim.getCall(id).state, 'ended');
    assertErrormsg(await ws.request('bye', { idconn: id }), new RegExp(`^no active call ${id.replace('.', '\\.')}$`));
  });

  it('a user socket sees the events of calls it drives over REST', async () => {
    const ws = await openReady(sim, '/ws', { login: { rsessionid: token } });
    await ws.subscribe({ id: 'mine', events: ['callevents.*'], expires: 300 });
    const id = await newCall();
    await verb('NOTIFY', `/${id}`, { event: 'talk' });
    await delay(30);
    const types = (await ws.collect(30, (f) => f[0] === 'event')).map((f) => String(f[1].type));
    assert.deepEqual(types, ['invite', 'dlg_init', 'dlg_call', 'dlg_start']);
  });
});
