import assert from 'node:assert/strict';
import { diffCalls } from '../../src/era/events/poll-diff';

describe('client: poll diff', () => {
  const call = (id: string, state: string) => ({ id, connectionid: id, cid: `cid-${id}`, state });

  it('reports calls that appeared, were answered, changed or vanished', () => {
    const first = diffCalls(undefined, [call('a', 'ring'), { no: 'id' }]);
    assert.deepEqual(first.changes.map((c) => [c.topic, c.connectionId, c.callId]), [['callevents.invite', 'a', 'cid-a']]);
    const second = diffCalls(first.snapshot, [call('a', 'talk'), call('b', 'ring')]);
    assert.deepEqual(second.changes.map((c) => [c.topic, c.connectionId]), [
      ['callevents.dlg_start', 'a'],
      ['callevents.invite', 'b'],
    ]);
    const third = diffCalls(second.snapshot, [call('a', 'hold')]);
    assert.deepEqual(third.changes.map((c) => [c.topic, c.connectionId]), [
      ['ccsevents.call_set_state', 'a'],
      ['callevents.dlg_end', 'b'],
    ]);
    assert.equal(third.changes[1]!.payload.reason, 'unknown');
    assert.equal(diffCalls(third.snapshot, [call('a', 'hold')]).changes.length, 0);
  });
});
