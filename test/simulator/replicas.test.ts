import assert from 'node:assert/strict';
import { eventData, eventType, isEvent, openReady, useSimulators, type WsClient } from './helpers';

/**
 * Replicas of one flow connect with the same credentials at once: the platform lets a user (and
 * an integration token) hold several sockets, and pushes every event to each that subscribed.
 */
describe('simulator: several connections of the same user and of the same token', () => {
  const start = useSimulators();

  it('every socket of one token and of one user gets every event, with the same event ids', async () => {
    const sim = await start();
    const sockets: WsClient[] = [await openReady(sim), await openReady(sim), await openReady(sim, '/ws'), await openReady(sim, '/ws')];
    for (const [i, s] of sockets.entries()) {
      const reply = await s.subscribe({ id: `replica-${i}`, events: ['callevents.*'], expires: 300 });
      assert.equal(reply.result, 'ok');
    }
    assert.equal(sim.subscriptions().length, 4);
    const call = sim.startCall({ from: '+79161112233', to: '101', answer: true });
    sim.hangupCall(call.id);
    const seen = await Promise.all(sockets.map((s) => s.collect(100, isEvent)));
    const expected = ['callevents.invite', 'callevents.dlg_init', 'callevents.dlg_call', 'callevents.dlg_start', 'callevents.dlg_end'];
    for (const [i, frames] of seen.entries()) {
      assert.deepEqual(frames.map(eventType).slice(0, 5), expected, `socket ${i}`);
    }
    const ids = seen.map((frames) => frames.map((f) => eventData(f).eventid));
    for (const other of ids.slice(1)) assert.deepEqual(other, ids[0], 'the same events, the same ids');
  });
});
