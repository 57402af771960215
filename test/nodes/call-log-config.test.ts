/**
 * era-call-log with properties a person types or pastes wrong, deployed beside good nodes on the
 * same server: the bad node shows a red status naming the property (and keeps it, whatever the
 * connection does), logs one error, emits nothing; the good call log and era-events go on.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed } from '../support/red';
import { simulator, type Simulator } from '../support/sim';

interface Bad {
  title: string;
  props: Record<string, unknown>;
  /** What the status and the error must name. */
  names: RegExp;
}

const BAD: Bad[] = [
  { title: 'direction "sideways"', props: { direction: 'sideways' }, names: /direction must be all, in or out, not "sideways"/ },
  { title: 'direction "IN" (the choices are lower-case)', props: { direction: 'IN' }, names: /direction .*"IN"/ },
  { title: 'waitRecording -1', props: { waitRecording: -1 }, names: /waitRecording .*-1/ },
  { title: 'waitRecording "-1"', props: { waitRecording: '-1' }, names: /waitRecording .*"-1"/ },
  { title: 'waitRecording "abc"', props: { waitRecording: 'abc' }, names: /waitRecording .*"abc"/ },
  { title: 'waitRecording in Cyrillic ("пять")', props: { waitRecording: 'пять' }, names: /waitRecording .*"пять"/ },
  { title: 'waitRecording with a pasted line break ("10\\n")', props: { waitRecording: '10\n' }, names: /waitRecording .*"10\\n"/ },
  { title: 'waitRecording with a line break inside ("1\\n0")', props: { waitRecording: '1\n0' }, names: /waitRecording .*"1\\n0"/ },
  { title: 'waitRecording "0x10" (hex)', props: { waitRecording: '0x10' }, names: /waitRecording .*"0x10"/ },
  { title: 'waitRecording "Infinity"', props: { waitRecording: 'Infinity' }, names: /waitRecording .*"Infinity"/ },
  { title: 'waitRecording beyond a day (86401)', props: { waitRecording: 86401 }, names: /waitRecording .*86401/ },
];

describe('era-call-log: bad properties beside good nodes', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let statuses: StatusLog;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 20 }));
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    await sim.stop();
  });

  /** Error lines Node-RED logged for node `id`. */
  function errorsOf(id: string): string[] {
    return helper
      .log()
      .args.map((a) => a[0] as { level?: number; id?: string; msg?: unknown })
      .filter((e) => e?.level === 20 && e.id === id)
      .map((e) => String(e.msg));
  }

  for (const bad of BAD) {
    it(`refuses ${bad.title}: red status and one error naming it, nothing emitted; the good nodes go on`, async function () {
      await load([
        serverNode(sim),
        { id: 'bad', type: 'era-call-log', server: 'srv', wires: [['bad-out']], ...bad.props },
        { id: 'good', type: 'era-call-log', server: 'srv', direction: 'all', waitRecording: 1, wires: [['good-out']] },
        { id: 'events', type: 'era-events', server: 'srv', events: 'callevents.dlg_end', wires: [['events-out']] },
        ...['bad-out', 'good-out', 'events-out'].map((id) => ({ id, type: 'helper' })),
      ]);
      const [badOut, goodOut, eventsOut] = ['bad-out', 'good-out', 'events-out'].map((id) => new Inbox(id));
      await eventually(() => sim.subscriptions().length > 0, 5000, 'the good nodes subscribed');
      await eventually(() => statuses.has('good', 'green', 'dot'), 5000, 'the good call log connected');

      const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
      sim.hangupCall(call.id);
      await goodOut!.until((m) => m.some((x) => x.connectionId === call.id), 5000, 'the good call log\'s record');
      await eventsOut!.until((m) => m.some((x) => x.connectionId === call.id), 5000, 'the dlg_end on era-events');
      await sleep(200);
      assert.deepEqual(badOut!.messages, [], 'the bad node emitted nothing');

      const shown = statuses.of('bad');
      assert.ok(shown.length > 0 && shown.every((s) => s.fill === 'red' && s.shape === 'dot'), `only red, even once connected: ${JSON.stringify(shown)}`);
      assert.match(String(shown.at(-1)?.text), /^(direction|waitRecording)/);
      const errors = errorsOf('bad');
      assert.equal(errors.length, 1, `one error: ${JSON.stringify(errors)}`);
      assert.match(errors[0]!, bad.names);
      assert.ok(!/[\n\r]/.test(errors[0]!) && !/[\n\r]/.test(String(shown.at(-1)?.text)), 'no raw line break in the log line or the status');
      assert.deepEqual(errorsOf('good'), []);
    });
  }

  it('takes what a person or a flow file may write: blank and absent are the defaults, " 2.5 ", "0" and 3 as seconds', async function () {
    const values: unknown[] = ['', undefined, null, ' 2.5 ', '0', 3];
    await load([
      serverNode(sim),
      ...values.map((waitRecording, i) => ({ id: `log${i}`, type: 'era-call-log', server: 'srv', waitRecording, direction: i === 0 ? '' : 'in', wires: [['out']] })),
      { id: 'out', type: 'helper' },
    ]);
    const out = new Inbox('out');
    await eventually(() => sim.subscriptions().length > 0, 5000, 'subscribed');
    const call = sim.startCall({ from: '+79990001122', to: '101' });
    sim.hangupCall(call.id, 'cancel');
    await out.count(values.length);
    for (let i = 0; i < values.length; i++) assert.deepEqual(errorsOf(`log${i}`), [], `waitRecording ${JSON.stringify(values[i])}`);
    assert.ok(values.every((_v, i) => statuses.has(`log${i}`, 'green', 'dot')));
  });

  it('with no server configured: a red status saying so, no crash', async function () {
    await load([{ id: 'lonely', type: 'era-call-log', wires: [[]] }]);
    await eventually(() => statuses.has('lonely', 'red', 'dot'), 5000, 'a red status');
    assert.match(String(statuses.of('lonely').at(-1)?.text), /No Era server/);
    assert.equal(errorsOf('lonely').length, 1);
  });
});
