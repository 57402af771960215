/**
 * Junk on the socket: a 5 MB frame and a stream of 1,000 malformed frames of every kind,
 * interleaved with real calls. Every valid event still arrives, in order, once; the node warns
 * once per kind of junk, not a thousand times; memory comes back to where it was.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { EraClient } from '../../src/era';
import { helper, Inbox, load, serverNode, startRed, stopRed, eventually } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

const MB = 1024 * 1024;
const deep = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;

/** Malformed frames by the reason the client gives for skipping them. */
const JUNK: Record<string, string[]> = {
  'not JSON': ['{not json', '["event", {', '', ' ', 'undefined', '["event",{"class":"callevents",}]', '\u0000', `["event",{"qid":1,${'"a":'.repeat(50)}`],
  'not a ["method", {params}] array': [
    '{}',
    '"event"',
    '42',
    'null',
    '[]',
    '{"0":"event","1":{}}',
    '[1,{"class":"callevents","type":"invite"}]',
    '[null,{}]',
    '["event",5]',
    '["event",null]',
    '["event",[]]',
    '["callevents.invite","x"]',
    `[${deep(5000)},{}]`,
  ],
  'unknown envelope': [
    '["mystery_push",{"qid":5,"x":1}]',
    '["event",{"class":5,"type":["invite"]}]',
    '["event",{"class":"","type":""}]',
    '["event",{"eventclass":{},"event":true}]',
    '["event",{"qid":1e999,"class":1e999,"type":123456789012345678901234567890}]',
    '[".invite",{}]',
    '["callevents.",{}]',
    `["event",{"class":${deep(5000)},"type":"invite","data":${deep(5000)}}]`,
    `["push",{"qid":${deep(50)},"__proto__":{"class":"callevents","type":"invite"}}]`,
    '["event",{"constructor":{"class":"callevents"},"type":"invite"}]',
  ],
};

/** A heap figure after a full collection, when the process can be made to collect. */
function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('faults: junk frames between valid events', function () {
  this.timeout(30_000);
  let sim: Simulator;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  it('delivers every valid event in order once around a 5 MB frame and 1,000 malformed ones, warning once per kind', async function () {
    await load([
      serverNode(sim),
      { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    const client = (helper.getNode('srv') as unknown as { client: EraClient }).client;
    await eventually(() => sim.subscriptions().length > 0, 5000, 'subscribed');
    const produced: string[] = [];
    sim.on('event', (e) => {
      if (e.class === 'callevents') produced.push(e.data.eventid);
    });
    const heapBefore = heapAfterGc();
    const before = client.stats;

    const kinds = Object.entries(JUNK);
    let junkSent = 0;
    const live: string[] = [];
    for (let round = 0; round < 10; round++) {
      const call = sim.startCall({ from: `+7999000${1000 + round}`, to: '101' });
      live.push(call.id);
      if (round % 2 === 0) sim.answerCall(call.id);
      for (let i = 0; i < 100; i++) {
        const [, frames] = kinds[(round + i) % kinds.length]!;
        sim.sendToSockets({ raw: frames[i % frames.length]! });
        junkSent++;
        if (i === 50 && round % 3 === 0) sim.hangupCall(live.shift()!);
      }
      if (round === 5) {
        sim.sendToSockets({ size: 5 * MB }); // not JSON
        sim.sendToSockets({ raw: JSON.stringify(['mystery_push', { qid: 7, blob: 'x'.repeat(5 * MB) }]) });
        junkSent += 2;
      }
      await new Promise((r) => setImmediate(r));
    }
    for (const id of live) sim.hangupCall(id);

    await out.until((m) => m.length >= produced.length, 15_000, `all ${produced.length} valid events`);
    await eventually(() => client.stats.undecodable - before.undecodable >= junkSent, 5000, 'every junk frame read');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(out.messages.map((m) => m.eventId), produced, 'every valid event, in order, once');
    assert.equal(client.stats.undecodable - before.undecodable, junkSent, 'each junk frame skipped and counted, none taken for an event');
    assert.equal(client.stats.reconnects, before.reconnects, 'the socket was never dropped');

    const warnings = helper
      .log()
      .args.map((args) => args[0] as { level?: number; id?: string; msg?: unknown })
      .filter((l) => l.level === 30 && /Skipped a WebSocket message/.test(String(l.msg)));
    assert.equal(warnings.length, kinds.length, `one warning per kind of junk:\n${warnings.map((w) => String(w.msg)).join('\n')}`);
    assert.ok(warnings.every((w) => w.id === 'srv'), 'warned by the config node');

    const grown = heapAfterGc() - heapBefore;
    assert.ok(grown < 20 * MB, `the heap grew by ${(grown / MB).toFixed(1)} MB`);
  });
});
