/**
 * The delivery stage on its own (events/deliver.ts): a listener whose callback routes another
 * event at once — as a flow does under Node-RED's synchronous delivery when it makes one — must
 * not disturb the delivery of the event it is handling.
 */
import assert from 'node:assert/strict';
import { SeenEvents } from '../../src/era/events/dedup';
import { Delivery } from '../../src/era/events/deliver';
import { Subscriptions } from '../../src/era/events/subscriptions';
import { makeEvent } from '../../src/era/protocol/frames';
import type { EraEvent } from '../../src/era/types';

describe('client: delivery of one event while another is delivered', () => {
  it('a callback that routes another event at once: each listener gets each event it asked for, once, with a payload of its own', () => {
    const subs = new Subscriptions(
      { open: false, request: () => Promise.reject(new Error('not connected')) },
      { expires: 600, lingerMs: 0, retryMinMs: 100, retryMaxMs: 1000 },
      { debug: () => undefined, warnOnce: (msg) => assert.fail(msg), problem: () => undefined, adopted: () => undefined },
    );
    const delivery = new Delivery(subs, new SeenEvents(), { duplicates: 0 }, { warnOnce: (msg) => assert.fail(msg) }, undefined);
    const got: Array<[string, string, unknown]> = [];
    const end = makeEvent('callevents', 'dlg_end', { eventid: 'e2', connectionid: 'c1', fromnum: '+7' });
    const listen = (who: string, events: string[], also?: (ev: EraEvent) => void) =>
      subs.add({ events }, (ev) => {
        got.push([who, ev.type, ev.payload.fromnum]);
        ev.payload.fromnum = `edited by ${who}`;
        also?.(ev);
      });
    listen('a', ['callevents.invite', 'callevents.dlg_end'], (ev) => {
      if (ev.type === 'invite') delivery.route(end, undefined, false, 'e2', undefined, true);
    });
    listen('b', ['callevents.invite']);
    listen('c', ['callevents.dlg_end']);
    const invite = makeEvent('callevents', 'invite', { eventid: 'e1', connectionid: 'c1', fromnum: '+7' });
    delivery.route(invite, undefined, false, 'e1', undefined, false);
    assert.deepEqual(got, [['a', 'invite', '+7'], ['a', 'dlg_end', '+7'], ['c', 'dlg_end', '+7'], ['b', 'invite', '+7']]);
    assert.equal(invite.payload.fromnum, '+7', 'the event\'s own payload was never handed out to two');
    assert.equal(end.payload.fromnum, '+7');
  });
});
