import assert from 'node:assert/strict';
import { CallTable, SUPPRESSED, callFromPlatform } from '../../src/era/calls/table';
import { makeReplayedEvent } from '../../src/era/protocol/replayed';
import type { EraEvent, JsonObject } from '../../src/era/types';

const CID = 'cid-1';
const ID = `${CID}.1000`;

function ev(cls: string, type: string, fields: JsonObject, id = ID): EraEvent {
  const payload: JsonObject = { eventid: `${type}-${Math.random()}`, cid: CID, connectionid: id, invitets: 1000, ...fields };
  return {
    topic: `${cls}.${type}`,
    class: cls,
    type,
    payload,
    eventId: String(payload.eventid),
    connectionId: id,
    callId: CID,
    replayed: undefined,
    call: undefined,
  };
}

function state(table: CallTable, id = ID) {
  return table.get(id)!;
}

describe('client: call table', () => {
  it('follows an answered call that is held, resumed and ends', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, fromnum: '+7999', tonum: '101', dir: 'in', acallid: 'a@x' }));
    assert.deepEqual(state(t), {
      connectionId: ID,
      callId: CID,
      direction: 'in',
      from: '+7999',
      to: '101',
      state: 'ringing',
      legs: ['a@x'],
      held: false,
      transfers: [],
      startedAt: 1000,
    });
    t.apply(ev('callevents', 'dlg_call', { eventts: 1001, acallid: 'a@x', bcallid: 'b@x' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, acallid: 'a@x', bcallid: 'b@x' }));
    assert.equal(state(t).state, 'talking');
    assert.equal(state(t).answeredAt, 1500);
    assert.deepEqual(state(t).legs, ['a@x', 'b@x']);
    t.apply(ev('ccsevents', 'call_set_state', { eventts: 1600, idcall: 'b@x', state: 'hold' }));
    assert.equal(state(t).state, 'held');
    assert.equal(state(t).held, true);
    t.apply(ev('ccsevents', 'call_set_state', { eventts: 1700, idcall: 'b@x', state: 'talk' }));
    assert.equal(state(t).state, 'talking');
    assert.equal(state(t).held, false);
    assert.equal(state(t).answeredAt, 1500);
    t.apply(ev('callevents', 'dlg_end', { eventts: 2000, reason: 'bye' }));
    t.apply(ev('ccsevents', 'connection_set_record_info', { eventts: 2001, key: 'fs:rec/1.mp3' }));
    t.apply(ev('callevents', 'dlg_stop', { eventts: 5000, reason: 'bye' }));
    const s = state(t);
    assert.equal(s.state, 'ended');
    assert.equal(s.endedAt, 2000);
    assert.equal(s.endReason, 'bye');
    assert.equal(s.recordingKey, 'fs:rec/1.mp3');
  });

  it('keeps answeredAt and endedAt absent until they happen, and held false unless on hold', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000 }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 1200, reason: 'cancel' }));
    const s = state(t);
    assert.equal('answeredAt' in s, false);
    assert.equal(s.endReason, 'cancel');
    assert.equal(s.held, false);
  });

  it('records transfer targets from referred dialogs, once per dialog', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '101' }));
    t.apply(ev('callevents', 'dlg_init', { tonum: '102', isreferred: true, dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_call', { tonum: '102', isreferred: true, isreplaced: false, dialogid: 'd2' }));
    assert.deepEqual(state(t).transfers, ['102'], 'a referred dialog\'s init and call are one transfer');
    assert.equal(state(t).to, '102');
  });

  it('reads the documented string flags: isreferred "true" is a transfer, isreplacing "true" an attended one', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '101', isreferred: 'false', isreplacing: 'false' }));
    assert.deepEqual(state(t).transfers, [], 'an invite that says "false" is no transfer');
    t.apply(ev('callevents', 'dlg_call', { tonum: '102', isreferred: 'false' }));
    assert.deepEqual(state(t).transfers, [], '"false" is a string, and not true');
    t.apply(ev('callevents', 'referring_invite', { tonum: '103', isreferred: 'true' }));
    assert.deepEqual(state(t).transfers, [], 'the transfer steps pass through without counting twice');
    t.apply(ev('callevents', 'dlg_call', { tonum: '103', isreferred: 'true', isreplacing: 'false' }));
    assert.deepEqual(state(t).transfers, ['103']);
    t.apply(ev('callevents', 'dlg_call', { tonum: '104', isreferred: 'true', isreplacing: 'true' }));
    assert.deepEqual(state(t).transfers, ['103', '104'], 'an attended transfer is read from its dialog, whoever commanded it');
    assert.equal(state(t).to, '104');
  });

  it('takes the party who picked up a ringing call as its B side, and the other recording event name', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '101' }));
    t.apply(ev('callevents', 'fork_start', { forkcallednum: '105' }));
    t.apply(ev('callevents', 'dlg_pickup', { tonum: '107' }));
    assert.equal(state(t).to, '107');
    assert.equal(state(t).state, 'ringing', 'a pickup comes before dlg_start');
    t.apply(ev('callevents', 'dlg_start', {}));
    t.apply(ev('ccsevents', 'set_call_record_info', { key: 'fs:main1:Srv-001/2026-11-30/x.mp3' }));
    assert.equal(state(t).recordingKey, 'fs:main1:Srv-001/2026-11-30/x.mp3');
  });

  it('returns copies, never its own state', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { acallid: 'a' }));
    const s = state(t);
    s.legs.push('mine');
    s.state = 'ended';
    assert.deepEqual(state(t).legs, ['a']);
    assert.equal(state(t).state, 'ringing');
  });

  it('drops ended calls after the grace period', async () => {
    const t = new CallTable(100, 30);
    t.apply(ev('callevents', 'invite', {}));
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    assert.ok(t.get(ID));
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(t.get(ID), undefined);
    assert.equal(t.size, 0);
  });

  it('stays within its cap, evicting ended calls first', () => {
    const t = new CallTable(3, 60_000);
    t.apply(ev('callevents', 'invite', {}, 'live-1'));
    t.apply(ev('callevents', 'invite', {}, 'ended-1'));
    t.apply(ev('callevents', 'dlg_end', {}, 'ended-1'));
    t.apply(ev('callevents', 'invite', {}, 'live-2'));
    t.apply(ev('callevents', 'invite', {}, 'live-3'));
    assert.equal(t.size, 3);
    assert.equal(t.get('ended-1'), undefined);
    t.apply(ev('callevents', 'invite', {}, 'live-4'));
    assert.equal(t.size, 3);
    assert.equal(t.get('live-1'), undefined, 'then the oldest');
    for (let i = 0; i < 1000; i++) t.apply(ev('callevents', 'invite', {}, `n-${i}`));
    assert.equal(t.size, 3);
  });

  it('under a long burst of short calls keeps the latest ended ones, in the order they ended, within its cap', () => {
    const t = new CallTable(3000, 60_000);
    const ended: string[] = [];
    t.apply(ev('callevents', 'invite', {}, 'long'));
    for (let i = 0; i < 10_000; i++) {
      const id = `burst-${i}`;
      t.apply(ev('callevents', 'invite', {}, id));
      // Ends out of the order they began: every third one a call later.
      if (i % 3 === 2) {
        for (const j of [i, i - 2, i - 1]) {
          t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }, `burst-${j}`));
          ended.push(`burst-${j}`);
        }
      }
      assert.ok(t.size <= 3000);
    }
    assert.equal(t.get('long')?.state, 'ringing', 'a live call outlives thousands of ended ones');
    const kept = ended.filter((id) => t.get(id) !== undefined);
    assert.deepEqual(kept, ended.slice(ended.length - kept.length), 'the latest to end are the ones kept');
    assert.ok(kept.length >= 2990, `${kept.length} kept`);
    // A late event of a call that left does not start it again.
    t.apply(ev('callevents', 'dlg_stop', {}, ended[0]));
    t.apply(ev('callevents', 'dlg_init', {}, ended[0]));
    assert.equal(t.get(ended[0]!), undefined);
    assert.equal(t.change, 'continued');
  });

  it('ignores events about no call, and does not create calls from unrelated events', () => {
    const t = new CallTable(10, 60_000);
    assert.equal(t.apply(ev('ccsevents', 'seance_create', {}, undefined as unknown as string)), undefined);
    assert.equal(t.apply(ev('ccsevents', 'connection_create', {})), undefined);
    assert.equal(t.size, 0);
  });

  it('suppresses a live dlg_end after a replayed one', () => {
    const t = new CallTable(10, 60_000);
    t.apply(ev('callevents', 'invite', {}));
    const replayed = makeReplayedEvent('callevents', 'dlg_end', { eventid: 'r-1', connectionid: ID, reason: 'unknown' });
    assert.notEqual(t.apply(replayed), SUPPRESSED);
    assert.equal(state(t).endReason, 'unknown');
    assert.equal(t.apply(ev('callevents', 'dlg_end', { reason: 'bye' })), SUPPRESSED);
  });

  it('turns a platform call object into the state shape', () => {
    assert.deepEqual(callFromPlatform({ id: 'c.1', cid: 'c', invitets: 5, fromnum: '1', tonum: '2', dir: 'out', state: 'hold' }), {
      connectionId: 'c.1',
      callId: 'c',
      direction: 'out',
      from: '1',
      to: '2',
      state: 'held',
      held: true,
      legs: [],
      transfers: [],
      startedAt: 5,
    });
    assert.throws(() => callFromPlatform('nope'), { code: 'ERA_HTTP' });
  });
  it('makes no entry of the tail of a call it never heard of (an end, a dlg_stop, a key, a leg\'s end): it would ring forever or tell a bogus story', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }, 'x1'));
    t.apply(ev('callevents', 'dlg_stop', { reason: 'bye' }, 'x2'));
    t.apply(ev('ccsevents', 'connection_set_record_info', { key: 'fs:k' }, 'x3'));
    t.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'end' }, 'x4'));
    t.apply(ev('ccsevents', 'connection_failure', {}, 'x5'));
    assert.equal(t.size, 0);
    // A call heard of in the middle is going on: it gets an entry.
    t.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'talk', eventts: 5 }, 'x6'));
    assert.equal(t.get('x6')?.state, 'talking');
  });

  it('a call the platform lists as talking after an outage counts as answered', () => {
    const t = new CallTable(100, 60_000);
    t.apply(makeReplayedEvent('callevents', 'invite', { eventid: 'replayed-x-invite', connectionid: ID, cid: CID, tonum: '101' }));
    t.align({ connectionId: ID, state: 'talking' });
    assert.equal(state(t).state, 'talking');
    assert.ok(state(t).answeredAt !== undefined);
  });
  it('a transfer\'s first dialog ending after its second began is not the call\'s end: one end, the last dialog\'s', () => {
    const t = new CallTable(100, 60_000);
    const ended: string[] = [];
    t.observer = { ended: (f) => ended.push(f.call.connectionId), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { tonum: '101', eventts: 1000 }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '101', dialogid: 'd1', eventts: 1100 }));
    t.apply(ev('callevents', 'dlg_call', { tonum: '110', isreferred: 'true', dialogid: 'd2', eventts: 1200 }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '110', dialogid: 'd2', eventts: 1300 }));
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye', dialogid: 'd1', eventts: 1400 }));
    assert.equal(state(t).state, 'talking', 'the second dialog still talks');
    assert.deepEqual(ended, []);
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye', dialogid: 'd2', eventts: 5000 }));
    assert.deepEqual(ended, [ID]);
    assert.equal(state(t).endedAt, 5000);
    assert.deepEqual(state(t).transfers, ['110']);
  });

  it('a dlg_end that comes after its dlg_stop (webhook deliveries can pass each other) is the same end, not a call that went on; a second dlg_end is', () => {
    const t = new CallTable(100, 60_000);
    const ended: string[] = [];
    t.observer = { ended: (f) => ended.push(f.call.connectionId), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { tonum: '101' }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '101' }));
    t.apply(ev('callevents', 'dlg_stop', { reason: 'bye' }));
    assert.equal(t.change, 'ended');
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    assert.equal(t.change, 'none', 'the late dlg_end of the same end');
    assert.equal(state(t).state, 'ended');
    assert.deepEqual(ended, [ID], 'ended once');
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    assert.equal(t.change, 'continued', 'one more dlg_end is news');
  });

  it('an attended transfer: the first dialog\'s dlg_stop, 3 s after its dlg_end, ends the call no more than its dlg_end did', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { tonum: '110', dialogid: 'd2', isreferred: 'true', isreplacing: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_stop', { reason: 'bye', dialogid: 'd1' }));
    assert.equal(state(t).state, 'talking', 'the transferred call goes on');
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye', dialogid: 'd2' }));
    assert.equal(t.change, 'ended');
    assert.equal(state(t).state, 'ended');
  });

  it('a transfer whose new dialog was not heard of (an outage): that dialog\'s end ends the call, once', () => {
    const t = new CallTable(100, 60_000);
    const ended: Array<{ endedAt?: number; reason?: string }> = [];
    t.observer = { ended: (f) => ended.push({ endedAt: f.call.endedAt, reason: f.call.endReason }), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1001, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2000, tonum: '101', dialogid: 'd1' }));
    // d2's dlg_call and dlg_start were lost with the socket.
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', tonum: '110', dialogid: 'd2' }));
    assert.equal(t.change, 'ended');
    t.apply(ev('callevents', 'dlg_stop', { eventts: 63000, reason: 'bye', tonum: '110', dialogid: 'd2' }));
    assert.equal(t.change, 'none');
    assert.deepEqual(ended, [{ endedAt: 60000, reason: 'bye' }]);
  });

  it('an older dialog\'s event delivered after the newer one\'s (webhook order) does not make it the call\'s again', () => {
    const t = new CallTable(100, 60_000);
    const ended: number[] = [];
    t.observer = { ended: (f) => ended.push(f.call.endedAt!), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1001, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2001, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2002, tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    assert.equal(state(t).state, 'ended');
    assert.deepEqual(ended, [60000]);
  });

  it('an attended transfer\'s first dialog stopping after the call\'s end is not the call\'s last word: the second dialog\'s dlg_stop is', () => {
    const t = new CallTable(100, 60_000);
    const stopped: number[] = [];
    let events = 0;
    t.observer = { ended: () => undefined, recorded: () => undefined, stopped: () => stopped.push(events) };
    const apply = (type: string, fields: JsonObject) => {
      events++;
      t.apply(ev('callevents', type, fields));
      return t.change;
    };
    apply('invite', { eventts: 1000, tonum: '101', dialogid: 'd1' });
    apply('dlg_start', { eventts: 2000, tonum: '101', dialogid: 'd1' });
    apply('dlg_call', { eventts: 10000, tonum: '110', dialogid: 'd2', isreferred: 'true', isreplacing: 'true' });
    apply('dlg_start', { eventts: 10500, tonum: '110', dialogid: 'd2' });
    assert.equal(apply('dlg_end', { eventts: 11000, reason: 'bye', dialogid: 'd1' }), 'none');
    assert.equal(apply('dlg_end', { eventts: 12000, reason: 'bye', dialogid: 'd2' }), 'ended');
    assert.equal(apply('dlg_stop', { eventts: 14000, reason: 'bye', dialogid: 'd1' }), 'none', 'not news: the first dialog\'s late word');
    apply('dlg_stop', { eventts: 15000, reason: 'bye', dialogid: 'd2' });
    assert.deepEqual(stopped, [8], 'only the second dialog\'s dlg_stop is the call\'s last word');
    assert.equal(state(t).endedAt, 12000);
  });

  it('a ring group whose forks come as dialogs of their own: the one that answers is the call\'s; the others\' cancels end nothing', () => {
    const t = new CallTable(100, 60_000);
    const ended: Array<{ endedAt?: number; reason?: string; to?: string }> = [];
    const stopped: string[] = [];
    t.observer = { ended: (f) => ended.push({ endedAt: f.call.endedAt, reason: f.call.endReason, to: f.call.to }), recorded: () => undefined, stopped: (c) => stopped.push(c.connectionId) };
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '200' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1001, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1002, tonum: '102', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1003, tonum: '103', dialogid: 'd3' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 5000, tonum: '102', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 5001, reason: 'cancel', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 5002, reason: 'cancel', dialogid: 'd3' }));
    assert.equal(state(t).state, 'talking');
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_stop', { eventts: 8000, reason: 'cancel', dialogid: 'd1' }));
    assert.deepEqual(stopped, [], 'a fork\'s dlg_stop is not the call\'s last word');
    t.apply(ev('callevents', 'dlg_stop', { eventts: 63000, reason: 'bye', dialogid: 'd2' }));
    assert.deepEqual(ended, [{ endedAt: 60000, reason: 'bye', to: '102' }]);
    assert.deepEqual(stopped, [ID]);
  });

  it('webhook order, by the platform\'s time: an IVR\'s dialog heard after the dialog it transferred to is the older one', () => {
    const t = new CallTable(100, 60_000);
    const ended: number[] = [];
    t.observer = { ended: (f) => ended.push(f.call.endedAt!), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '700' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2001, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2002, tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, tonum: '700', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 3000, reason: 'bye', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_stop', { eventts: 6000, reason: 'bye', dialogid: 'd1' }));
    assert.equal(state(t).state, 'talking');
    assert.equal(state(t).to, '110');
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    assert.deepEqual(ended, [60000]);
  });

  it('two transfers, the first heard after the second began: the call is the second\'s, and the transfers keep their order, once each', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 3000, tonum: '120', dialogid: 'd3', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2000, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2100, tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 3100, tonum: '120', dialogid: 'd3' }));
    assert.equal(state(t).to, '120');
    assert.deepEqual(state(t).transfers, ['110', '120']);
    t.apply(ev('callevents', 'dlg_end', { eventts: 2500, reason: 'bye', dialogid: 'd2' }));
    assert.equal(state(t).state, 'talking', 'the replaced dialog\'s end');
    t.apply(ev('callevents', 'dlg_end', { eventts: 30000, reason: 'bye', dialogid: 'd3' }));
    assert.equal(state(t).endedAt, 30000);
    t.apply(ev('callevents', 'dlg_call', { eventts: 2000, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    assert.equal(t.change, 'none', 'a replaced dialog\'s late word after the end is not news');
    assert.equal(state(t).to, '120');
    assert.deepEqual(state(t).transfers, ['110', '120']);
  });

  it('a redeploy in the middle of an attended transfer: the successor knows which dialog is the call\'s', () => {
    const before = new CallTable(100, 60_000);
    before.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101' }));
    before.apply(ev('callevents', 'dlg_start', { eventts: 2000, tonum: '101', dialogid: 'd1' }));
    before.apply(ev('callevents', 'dlg_call', { eventts: 10000, tonum: '110', dialogid: 'd2', isreferred: 'true', isreplacing: 'true' }));
    before.apply(ev('callevents', 'dlg_start', { eventts: 10500, tonum: '110', dialogid: 'd2' }));
    const t = new CallTable(100, 60_000);
    for (const call of before.handOver()) t.restore(call);
    assert.equal('dialogs' in state(t), false, 'the dialogs are the table\'s, not the call\'s state');
    t.apply(ev('callevents', 'dlg_end', { eventts: 11000, reason: 'bye', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_stop', { eventts: 14000, reason: 'bye', dialogid: 'd1' }));
    assert.equal(state(t).state, 'talking');
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    assert.equal(state(t).endedAt, 60000);
  });

  it('ten blind transfers in a row, each replaced dialog ending after the next began: the last dialog\'s end is the call\'s', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '200', dialogid: 'd0' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, tonum: '200', dialogid: 'd0' }));
    for (let i = 1; i <= 10; i++) {
      t.apply(ev('callevents', 'dlg_init', { eventts: 2000 * i, tonum: `${200 + i}`, dialogid: `d${i}`, isreferred: 'true' }));
      t.apply(ev('callevents', 'dlg_start', { eventts: 2000 * i + 100, tonum: `${200 + i}`, dialogid: `d${i}` }));
      t.apply(ev('callevents', 'dlg_end', { eventts: 2000 * i + 500, reason: 'bye', dialogid: `d${i - 1}` }));
      assert.equal(state(t).state, 'talking', `after transfer ${i}`);
    }
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd10' }));
    assert.equal(state(t).endedAt, 60000);
    assert.equal(state(t).to, '210');
    assert.equal(state(t).transfers.length, 10);
  });

  it('a transferred dialog whose clock runs behind the first\'s is still the call\'s', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '700', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, tonum: '700', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_init', { eventts: 1400, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 1700, reason: 'bye', dialogid: 'd1' }));
    assert.equal(state(t).state, 'talking', 'the IVR\'s end');
    assert.equal(state(t).to, '110');
    t.apply(ev('callevents', 'dlg_start', { eventts: 1600, tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    assert.equal(state(t).endedAt, 60000);
  });

  it('a transfer whose referred dlg_init went unheard: the new dialog is the call\'s, the old one\'s end is not', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1500, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_init', { eventts: 10000, tonum: '110', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_end', { eventts: 10500, reason: 'bye', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 10600, tonum: '110', dialogid: 'd2' }));
    assert.equal(state(t).state, 'talking');
    t.apply(ev('callevents', 'dlg_end', { eventts: 60000, reason: 'bye', dialogid: 'd2' }));
    assert.equal(state(t).endedAt, 60000);
  });

  it('more transfers than a call keeps: `to` is still the last one', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '100', dialogid: 'd0' }));
    for (let i = 1; i <= 66; i++) t.apply(ev('callevents', 'dlg_init', { eventts: 1000 + 10 * i, tonum: `${1000 + i}`, dialogid: `d${i}`, isreferred: 'true' }));
    assert.equal(state(t).to, '1066');
    assert.equal(state(t).transfers.length, 64);
  });

  it('webhook order: an IVR\'s answer delivered after the transfer it made still makes the call answered, then', () => {
    const t = new CallTable(100, 60_000);
    const ended: Array<{ answeredAt?: number; answeredBy?: string; to?: string }> = [];
    t.observer = { ended: (f) => ended.push({ answeredAt: f.call.answeredAt, answeredBy: f.answeredBy, to: f.call.to }), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '100', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 1002, tonum: '110', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1001, tonum: '100', dialogid: 'd1' }));
    assert.equal(state(t).state, 'talking');
    t.apply(ev('callevents', 'dlg_end', { eventts: 30000, reason: 'cancel', dialogid: 'd2' }));
    assert.deepEqual(ended, [{ answeredAt: 1001, answeredBy: '100', to: '110' }]);
  });

  it('webhook order, two blind transfers: the second dialog\'s answer before its referred event, the first\'s events after it', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'dlg_init', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1005, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 3005, tonum: '106', dialogid: 'd3' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 3000, tonum: '106', dialogid: 'd3', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2000, tonum: '105', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2005, tonum: '105', dialogid: 'd2' }));
    assert.equal(state(t).to, '106');
    assert.deepEqual(state(t).transfers, ['105', '106']);
    t.apply(ev('callevents', 'dlg_end', { eventts: 5000, reason: 'bye', dialogid: 'd3' }));
    assert.equal(state(t).endedAt, 5000);
  });

  it('webhook order: a transfer\'s referred event after its dialog was replaced by the next transfer is still counted, in order', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'dlg_init', { eventts: 1000, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 1005, tonum: '101', dialogid: 'd1' }));
    t.apply(ev('callevents', 'dlg_start', { eventts: 2005, tonum: '105', dialogid: 'd2' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 3000, tonum: '106', dialogid: 'd3', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2000, tonum: '105', dialogid: 'd2', isreferred: 'true' }));
    t.apply(ev('callevents', 'dlg_call', { eventts: 2000, tonum: '105', dialogid: 'd2', isreferred: 'true' }));
    assert.deepEqual(state(t).transfers, ['105', '106'], 'once, before the later one');
    assert.equal(state(t).to, '106');
  });

  it('a call naming thousands of dialogs keeps a few of them: nothing grows without bound', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { eventts: 1000, tonum: '101', dialogid: 'd0' }));
    for (let i = 1; i <= 5000; i++) t.apply(ev('callevents', 'dlg_call', { eventts: 1000 + i, tonum: '101', dialogid: `d${i}`, isreferred: i % 2 === 0 ? 'true' : 'false' }));
    const [call] = t.handOver();
    assert.ok(call!.dialogs!.olderDialogs!.length <= 32 && call!.dialogs!.otherDialogs!.length <= 32, JSON.stringify(call!.dialogs));
    assert.equal(call!.dialogs!.dialog, 'd5000');
  });

  it('a call that left the table is not started again by a late event; a late dialog event says the platform went on', async () => {
    const t = new CallTable(100, 10);
    t.apply(ev('callevents', 'invite', { tonum: '101' }));
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(t.get(ID), undefined, 'swept after its grace');
    t.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'talk' }));
    assert.equal(t.size, 0, 'a leg\'s state does not start the gone call again');
    t.apply(ev('callevents', 'dlg_start', { tonum: '110' }));
    assert.equal(t.change, 'continued');
    assert.equal(t.size, 0);
  });

  it('after an outage, a call the platform lists as talking was answered by the listed phone, not the group number', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '200', callednum: '200' }));
    const ended: Array<string | undefined> = [];
    t.observer = { ended: (f) => ended.push(f.answeredBy), recorded: () => undefined, stopped: () => undefined };
    t.align({ connectionId: ID, state: 'talking', to: '102' });
    assert.equal(state(t).to, '102');
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    assert.deepEqual(ended, ['102']);
  });

  it('hands over, and takes over, who answered, the hold time and a recording across a full redeploy', () => {
    const a = new CallTable(100, 60_000);
    a.apply(ev('callevents', 'invite', { tonum: '200', eventts: 1000 }));
    a.apply(ev('callevents', 'dlg_pickup', { tonum: '102', eventts: 1100 }));
    a.apply(ev('callevents', 'dlg_start', { tonum: '102', eventts: 1100 }));
    a.apply(ev('callevents', 'rec_info', { isrec: 'true', eventts: 1100 }));
    a.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'hold', eventts: 2000 }));
    a.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'talk', eventts: 4000 }));
    a.apply(ev('callevents', 'dlg_call', { tonum: '110', isreferred: 'true', dialogid: 'd2', eventts: 5000 }));
    const [left] = a.handOver();
    const b = new CallTable(100, 60_000);
    b.restore(left!);
    const ended: Array<{ answeredBy?: string; heldMs: number; recording: boolean }> = [];
    b.observer = { ended: (f) => ended.push({ answeredBy: f.answeredBy, heldMs: f.heldMs, recording: f.recording }), recorded: () => undefined, stopped: () => undefined };
    b.apply(ev('callevents', 'dlg_end', { reason: 'bye', eventts: 9000 }));
    assert.deepEqual(ended, [{ answeredBy: '102', heldMs: 2000, recording: true }]);
  });

  it('a leg\'s answer heard before the dialog\'s pickup: the phone that picked up still becomes to and answeredBy', () => {
    const t = new CallTable(100, 60_000);
    const ended: Array<string | undefined> = [];
    t.observer = { ended: (f) => ended.push(f.answeredBy), recorded: () => undefined, stopped: () => undefined };
    t.apply(ev('callevents', 'invite', { tonum: '200' }));
    t.apply(ev('ccsevents', 'call_set_state', { idcall: 'b@x', state: 'talk' }));
    t.apply(ev('callevents', 'dlg_pickup', { tonum: '102' }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '102' }));
    assert.equal(state(t).to, '102');
    t.apply(ev('callevents', 'dlg_end', { reason: 'bye' }));
    assert.deepEqual(ended, ['102']);
  });

  it('reads the direction from the documented fromouter when no dir says it', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { fromnum: '+79991234567', callednum: '101', fromouter: true }, 'a.1'));
    t.apply(ev('callevents', 'invite', { fromnum: '101', callednum: '102', fromouter: false }, 'b.1'));
    t.apply(ev('callevents', 'invite', { fromnum: '101', callednum: '+79991234567', fromouter: 'false' }, 'c.1'));
    t.apply(ev('callevents', 'invite', { fromnum: '101', callednum: '102' }, 'd.1'));
    assert.deepEqual(['a.1', 'b.1', 'c.1', 'd.1'].map((id) => t.get(id)?.direction), ['in', 'local', 'out', undefined]);
  });

  it('an end heard only from its dlg_stop keeps the reason, and ends 3 s before the stop', () => {
    const t = new CallTable(100, 60_000);
    t.apply(ev('callevents', 'invite', { tonum: '101', eventts: 1000 }));
    t.apply(ev('callevents', 'dlg_start', { tonum: '101', eventts: 2000 }));
    t.apply(ev('callevents', 'dlg_stop', { reason: 'bye', eventts: 9000 }));
    assert.deepEqual([state(t).state, state(t).endReason, state(t).endedAt], ['ended', 'bye', 6000]);
  });
});
