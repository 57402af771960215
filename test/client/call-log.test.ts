import assert from 'node:assert/strict';
import type { EraClient, LoggedCall } from '../../src/era';
import { ctl, FAST, sim, sleep, startCall, subscribed, userClient, waitFor, type SimCall, type Simulator } from './helpers';

/** A call log on a client, collecting what it emits. */
class Log {
  readonly logged: LoggedCall[] = [];
  readonly handle;
  constructor(client: EraClient, spec: Parameters<EraClient['callLog']>[0] = {}) {
    this.handle = client.callLog({ waitRecordingMs: 2000, ...spec }, (l) => this.logged.push(l));
  }
  of(id: string): LoggedCall[] {
    return this.logged.filter((l) => l.record.connectionId === id);
  }
  async one(id: string, timeoutMs = 5000): Promise<LoggedCall> {
    await waitFor(`the record of ${id}`, () => this.of(id).length > 0, timeoutMs);
    return this.of(id)[0]!;
  }
}

describe('client: the call log', () => {
  let s: Simulator;
  let client: EraClient;

  beforeEach(async () => {
    s = await sim();
    client = userClient(s.url);
  });
  afterEach(async () => {
    await client.close();
    await s.stop();
  });

  async function started(log: Log, body: Record<string, unknown>): Promise<SimCall> {
    void log;
    await subscribed(s);
    return startCall(s, body);
  }

  it('an answered inbound call: one record, answered, its numbers, times and the end reason', async () => {
    const log = new Log(client);
    const call = await started(log, { from: '+79990001122', to: '101' });
    await sleep(1100);
    await ctl(s, 'POST', `calls/${call.id}/answer`);
    await sleep(1100);
    await ctl(s, 'POST', `calls/${call.id}/hangup`);
    const { record, call: state, replayed } = await log.one(call.id);
    assert.equal(replayed, false);
    assert.equal(record.outcome, 'answered');
    assert.equal(record.direction, 'in');
    assert.equal(record.from, '+79990001122');
    assert.equal(record.to, '101');
    assert.equal(record.answeredBy, '101');
    assert.equal(record.endReason, 'bye');
    assert.equal(record.ringSeconds, 1);
    assert.equal(record.talkSeconds, 1);
    assert.equal(record.holdSeconds, 0);
    assert.ok(record.startedAt! < record.answeredAt! && record.answeredAt! < record.endedAt!);
    assert.deepEqual(record.transfers, []);
    assert.equal(record.recordingKey, undefined);
    assert.equal(state.state, 'ended');
    await sleep(300);
    assert.equal(log.of(call.id).length, 1, 'once');
  });

  it('nobody answered: missed inbound, unanswered outbound, failed by an error; never a record for a call still going on', async () => {
    const log = new Log(client);
    const missed = await started(log, { to: '101' });
    const out = await startCall(s, { from: '101', to: '+79995550000', dir: 'out' });
    const failed = await startCall(s, { to: '102' });
    const going = await startCall(s, { to: '103', answer: true });
    await ctl(s, 'POST', `calls/${missed.id}/hangup`, { reason: 'cancel' });
    await ctl(s, 'POST', `calls/${out.id}/hangup`, { reason: 'timeout' });
    await ctl(s, 'POST', `calls/${failed.id}/hangup`, { reason: 'error' });
    const m = await log.one(missed.id);
    assert.equal(m.record.outcome, 'missed');
    assert.equal(m.record.answeredBy, undefined);
    assert.equal(m.record.talkSeconds, 0);
    assert.equal((await log.one(out.id)).record.outcome, 'unanswered');
    assert.equal((await log.one(failed.id)).record.outcome, 'failed');
    await sleep(200);
    assert.deepEqual(log.of(going.id), []);
  });

  it('a ring group answered by its 2nd phone: to and answeredBy are that phone; nobody answering is one missed record', async () => {
    const log = new Log(client);
    const answered = await started(log, { from: '+79990001122', to: '200', group: ['101', '102', '103'] });
    await ctl(s, 'POST', `calls/${answered.id}/answer`, { by: '102' });
    await ctl(s, 'POST', `calls/${answered.id}/hangup`);
    const a = await log.one(answered.id);
    assert.equal(a.record.outcome, 'answered');
    assert.equal(a.record.answeredBy, '102');
    assert.equal(a.record.to, '102');
    assert.equal(a.call.to, '102');

    const nobody = await startCall(s, { to: '200', group: ['101', '102'] });
    await ctl(s, 'POST', `calls/${nobody.id}/hangup`, { reason: 'timeout' });
    const n = await log.one(nobody.id);
    assert.equal(n.record.outcome, 'missed');
    assert.equal(n.record.to, '200');
    assert.equal(n.record.answeredBy, undefined);
    await sleep(200);
    assert.equal(log.of(answered.id).length + log.of(nobody.id).length, 2);
  });

  it('a queue whose caller hangs up between two phones: one missed record', async () => {
    const log = new Log(client);
    const call = await started(log, { to: '300', queue: ['101', '102'] });
    await ctl(s, 'POST', `calls/${call.id}/next`, { ring: false });
    await ctl(s, 'POST', `calls/${call.id}/hangup`, { reason: 'cancel' });
    const { record } = await log.one(call.id);
    assert.equal(record.outcome, 'missed');
    assert.equal(record.endReason, 'cancel');
    await sleep(200);
    assert.equal(log.of(call.id).length, 1);
  });

  it('a call transferred after the answer: one record, the transfer listed, held time counted', async () => {
    const log = new Log(client);
    const call = await started(log, { to: '101', answer: true });
    await client.command({ op: 'hold', call: call.id });
    await sleep(1100);
    await client.command({ op: 'unhold', call: call.id });
    await client.command({ op: 'transfer', call: call.id, to: '105' });
    await waitFor('the transfer', async () => (await ctl<SimCall>(s, 'GET', `calls/${call.id}`)).tonum === '105');
    await ctl(s, 'POST', `calls/${call.id}/hangup`);
    const { record } = await log.one(call.id);
    assert.deepEqual(record.transfers, ['105']);
    assert.equal(record.answeredBy, '101');
    assert.equal(record.holdSeconds, 1);
    await sleep(300);
    assert.equal(log.of(call.id).length, 1);
  });

  it('a recorded call waits for its key; a key announced but never sent gives the record after waitRecording, without a key', async () => {
    const log = new Log(client, { waitRecordingMs: 600 });
    const recorded = await started(log, { to: '101', answer: true, record: true });
    await ctl(s, 'POST', `calls/${recorded.id}/hangup`);
    const r = await log.one(recorded.id);
    assert.match(r.record.recordingKey ?? '', /^fs:/);
    assert.equal(r.call.recordingKey, r.record.recordingKey);

    const silent = await startCall(s, { to: '102', answer: true });
    // The platform says the dialog is recorded, but its key never comes.
    await ctl(s, 'POST', 'ws/send', { frame: ['event', { class: 'callevents', type: 'rec_info', data: { eventid: 'rec-info-1', connectionid: silent.id, cid: silent.cid, isrec: 'true', dir: 'in' } }] });
    await sleep(100);
    const endedAt = Date.now();
    await ctl(s, 'POST', `calls/${silent.id}/hangup`);
    const w = await log.one(silent.id);
    assert.equal(w.record.recordingKey, undefined);
    assert.ok(Date.now() - endedAt >= 500, 'it waited for the key');
  });

  it('a call that ended during an outage: one record, flagged replayed', async () => {
    const log = new Log(client);
    const call = await started(log, { to: '101', answer: true });
    await waitFor('the call in the table', () => client.calls.get(call.id)?.state === 'talking');
    const down = s.restart({ downMs: 400 });
    await sleep(50);
    s.hangupCall(call.id);
    await down;
    const r = await log.one(call.id, 8000);
    assert.equal(r.replayed, true);
    assert.equal(r.record.outcome, 'answered');
    assert.equal(r.record.endReason, 'unknown');
    await sleep(500);
    assert.equal(log.of(call.id).length, 1);
  });

  it('direction "in" leaves outbound calls out', async () => {
    const log = new Log(client, { direction: 'in' });
    const out = await started(log, { from: '101', to: '+79995550000', dir: 'out' });
    const inbound = await startCall(s, { to: '101' });
    await ctl(s, 'POST', `calls/${out.id}/hangup`);
    await ctl(s, 'POST', `calls/${inbound.id}/hangup`);
    await log.one(inbound.id);
    await sleep(300);
    assert.deepEqual(log.of(out.id), []);
  });

  it('a named log closed and opened again within the linger (a redeploy) loses no record', async () => {
    const linger = userClient(s.url, { ...FAST, socketLingerMs: 1000 });
    try {
      const first = new Log(linger, { key: 'node-1' });
      const call = await started(first, { to: '101', answer: true });
      await waitFor('the call in the table', () => linger.calls.get(call.id)?.state === 'talking');
      first.handle.close();
      await ctl(s, 'POST', `calls/${call.id}/hangup`);
      await sleep(200);
      const second = new Log(linger, { key: 'node-1' });
      await second.one(call.id);
      assert.deepEqual(first.logged, []);
      await sleep(300);
      assert.equal(second.of(call.id).length, 1);
    } finally {
      await linger.close();
    }
  });

  it('a successor that asks for another direction gets none of the kept records of the other', async () => {
    const linger = userClient(s.url, { ...FAST, socketLingerMs: 1000 });
    try {
      const first = new Log(linger, { key: 'node-2' });
      const out = await started(first, { from: '101', to: '+79995550000', dir: 'out', answer: true });
      const inbound = await startCall(s, { to: '101', answer: true });
      await waitFor('both calls in the table', () => linger.calls.get(out.id)?.state === 'talking' && linger.calls.get(inbound.id)?.state === 'talking');
      first.handle.close();
      await ctl(s, 'POST', `calls/${out.id}/hangup`);
      await ctl(s, 'POST', `calls/${inbound.id}/hangup`);
      await sleep(200);
      const second = new Log(linger, { key: 'node-2', direction: 'in' });
      await second.one(inbound.id);
      await sleep(200);
      assert.deepEqual(second.of(out.id), []);
    } finally {
      await linger.close();
    }
  });

  it('a made-up end waits like a live one before its record goes out (in a cluster, a replica that heard the end comes first)', async () => {
    const log = new Log(client, { waitRecordingMs: 1500 });
    const call = await started(log, { to: '101', answer: true });
    await waitFor('the call in the table', () => client.calls.get(call.id)?.state === 'talking');
    const down = s.restart({ downMs: 300 });
    await sleep(50);
    s.hangupCall(call.id);
    await down;
    await waitFor('the made-up end', () => client.calls.get(call.id)?.state === 'ended', 8000);
    const madeUpAt = Date.now();
    const r = await log.one(call.id, 8000);
    assert.equal(r.replayed, true);
    assert.ok(Date.now() - madeUpAt >= 1200, `it waited ${Date.now() - madeUpAt} ms`);
  });

  it('refuses a direction or a wait that cannot work, before anything runs', () => {
    assert.throws(() => client.callLog({ direction: 'sideways' as 'in' }, () => undefined), { code: 'ERA_INVALID_INPUT' });
    assert.throws(() => client.callLog({ waitRecordingMs: -1 }, () => undefined), { code: 'ERA_INVALID_INPUT' });
    assert.throws(() => client.callLog({ waitRecordingMs: Number.NaN }, () => undefined), { code: 'ERA_INVALID_INPUT' });
  });
});
