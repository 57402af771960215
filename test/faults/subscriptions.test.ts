/**
 * A subscription lifetime longer than a timer can hold: the client renews at 80% of what the
 * platform granted, and a renewal due in more than 2^31 - 1 ms (about 24.8 days) must not
 * turn into one due at once — Node fires such a timer after 1 ms, every time.
 */
import assert from 'node:assert/strict';
import { sim, sleep, subscribed, userClient, type Simulator } from '../client/helpers';

describe('faults: a very long subscription lifetime', function () {
  let s: Simulator;

  beforeEach(async () => {
    s = await sim({ maxSubscriptionExpires: 100_000_000 });
  });
  afterEach(async () => {
    await s.stop();
  });

  it('renews once in a while, not in a loop', async () => {
    // 35 days asked and granted: 80% of it is 2.4e9 ms, beyond what setTimeout holds.
    const client = userClient(s.url, { subscriptionExpires: 3_000_000 });
    try {
      client.listen({ events: ['callevents.*'] }, () => undefined);
      await subscribed(s);
      await sleep(300);
      const subscribes = s.requests().filter((r) => r.kind === 'ws' && r.method === 'subscribe');
      assert.equal(subscribes.length, 1, `${subscribes.length} subscribe requests in 300 ms`);
    } finally {
      await client.close();
    }
  });
});
