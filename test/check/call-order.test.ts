import assert from 'node:assert/strict';
import { formatText, type Report, type Step } from '../../src/check/report';
import { runReport } from '../../src/check/run';
import { startSimulator, type SimEvent, type Simulator } from '../../src/simulator';
import { rest } from '../simulator/helpers';
import { assertBuilt, assertClean, PASSWORD, PASSWORD_ENV, runCheck, stepLine, TOKEN, userArgs } from './helpers';

/** Callers and phones whose numbers must appear nowhere in a report. */
const CALLER = '+79161112233';
const OTHER_CALLER = '+79035557788';
const GROUP = '74957770500';
const QUEUE = '74957770600';
const PHONES = ['74950001101', '74950001102', '74950001103'];
const AGENT = '74950001104';
const TRANSFER_TARGET = '74950001105';

const ANSWERED = 'invite, dlg_init, dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye)';

/** The report's lines of the call-order step that list orders (the legend and the counts left out). */
function orders(step: Step): string[] {
  return step.details.slice(1).filter((d) => !d.startsWith('differs:'));
}

function callOrder(report: Report): Step {
  const step = report.steps.find((s) => s.name === 'call-order');
  assert.ok(step, formatText(report));
  return step;
}

/** Every id and number the platform sent (values of the events' fields), to look for in a report. */
function valuesSent(events: readonly SimEvent[]): Set<string> {
  const values = new Set<string>();
  for (const e of events) {
    for (const [key, value] of Object.entries(e.data)) {
      if (/^(eventid|cid|connectionid|dialogid|acallid|bcallid|forkcallid|invitets|eventts|fromnum|tonum|callednum|forkcallednum)$/.test(key)) values.add(String(value));
    }
  }
  return values;
}

function assertShowsNone(report: Report, values: Iterable<string>): void {
  const text = formatText(report);
  const json = JSON.stringify(report);
  for (const value of values) {
    assert.ok(!text.includes(value), `${value} in the report:\n${text}`);
    assert.ok(!json.includes(value), `${value} in the JSON report`);
  }
}

describe('era-check: how the installation orders a call (call-order)', function () {
  this.timeout(60_000);
  let sim: Simulator | undefined;

  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  async function simulator(): Promise<Simulator> {
    sim = await startSimulator({ port: 0, password: PASSWORD, token: TOKEN, dlgStopDelayMs: 0 });
    return sim;
  }

  /**
   * The report, with `during` run once the report's subscription is in place (inside its listen
   * window); `events` collects every event the simulator produced.
   */
  async function reportWith(s: Simulator, during: (events: readonly SimEvent[]) => Promise<void> | void, listenSeconds = 2): Promise<{ report: Report; events: SimEvent[] }> {
    const events: SimEvent[] = [];
    s.on('event', (e: SimEvent) => events.push(e));
    const running = runReport({ client: { url: s.url, domain: 'demo.local', login: 'operator', password: PASSWORD, requestTimeoutMs: 5000 }, listenSeconds });
    while (s.subscriptions().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await during(events);
    return { report: await running, events };
  }

  async function platform(s: Simulator, method: string, id: string, body: Record<string, unknown>): Promise<void> {
    const res = await rest(s, method, `/rest/v1/uc/calls/${encodeURIComponent(id)}`, { token: TOKEN, body });
    assert.equal(res.status, 200, res.text);
  }

  it('orders calls of known shapes: plain, unanswered, ring group, queue, blind and attended transfers, counted together', async () => {
    const s = await simulator();
    const { report, events } = await reportWith(s, async () => {
      for (let i = 0; i < 3; i++) {
        const plain = s.startCall({ from: CALLER, to: AGENT, answer: true });
        s.hangupCall(plain.id);
      }
      for (const reason of ['cancel', 'cancel', 'timeout']) s.hangupCall(s.startCall({ from: OTHER_CALLER, to: AGENT }).id, reason);

      const group = s.startCall({ from: CALLER, to: GROUP, group: PHONES, record: true });
      s.answerCall(group.id, { by: PHONES[1] });
      s.hangupCall(group.id);

      const queue = s.startCall({ from: CALLER, to: QUEUE, queue: PHONES });
      s.nextPhone(queue.id);
      s.nextPhone(queue.id, { ring: false });
      s.hangupCall(queue.id, 'cancel');

      const blind = s.startCall({ from: CALLER, to: AGENT, answer: true });
      await platform(s, 'REFER', blind.id, { to: TRANSFER_TARGET });
      s.hangupCall(blind.id);

      const consulted = s.startCall({ from: AGENT, to: TRANSFER_TARGET, answer: true });
      const held = s.startCall({ from: OTHER_CALLER, to: AGENT, answer: true });
      await platform(s, 'REFERREPLACES', held.id, { replaces: consulted.id });
      s.hangupCall(held.id);
    });

    const step = callOrder(report);
    assert.equal(step.status, 'pass', formatText(report));
    assert.equal(step.summary, '11 calls in 8 orders');
    assert.match(step.details[0]!, /^per call, the order of its callevents/);
    assert.deepEqual(orders(step), [
      `3× ${ANSWERED}`,
      '2× invite, dlg_init, dlg_call, dlg_end(cancel), dlg_stop(cancel)',
      '1× invite, dlg_init, dlg_call, dlg_end(timeout), dlg_stop(timeout)',
      // The replaced call of the attended transfer: "replaced" is no completion type the documentation names.
      '1× invite, dlg_init, dlg_call, dlg_start, dlg_end(other), dlg_stop(other)',
      '1× invite, dlg_init, dlg_call, dlg_start, referring_invite, dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye)'
        + ' — dialog 1: dlg_init, dlg_call, dlg_start; dialog 2: dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye)',
      '1× invite, dlg_init, dlg_call, dlg_start, replaces_refer, replaces_invite, dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye)'
        + ' — dialog 1: dlg_init, dlg_call, dlg_start; dialog 2: dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye)',
      '1× invite, dlg_init, fork_start, dlg_call, fork_start, dlg_end(cancel), dlg_stop(cancel)',
      '1× invite, dlg_init, fork_start×3, dlg_call, dlg_pickup, dlg_start, rec_info, dlg_end(bye), connection_set_record_info, dlg_stop(bye)',
    ]);
    assert.equal(report.outcome, 'pass', formatText(report));
    assertShowsNone(report, [CALLER, OTHER_CALLER, GROUP, QUEUE, ...PHONES, AGENT, TRANSFER_TARGET, ...valuesSent(events)]);
  });

  it('groups the calls the window cut apart: started before it, still going at its end, both', async () => {
    const s = await simulator();
    const before = [s.startCall({ from: CALLER, to: AGENT }), s.startCall({ from: CALLER, to: AGENT })];
    const beforeAndAfter = s.startCall({ from: OTHER_CALLER, to: AGENT });
    const { report } = await reportWith(s, () => {
      for (const call of before) s.hangupCall(call.id, 'cancel');
      s.answerCall(beforeAndAfter.id);
      s.startCall({ from: CALLER, to: GROUP, group: PHONES });
      s.hangupCall(s.startCall({ from: CALLER, to: AGENT, answer: true }).id);
    });
    const step = callOrder(report);
    assert.equal(step.status, 'pass', formatText(report));
    assert.equal(step.summary, '1 call in 1 order, 4 cut by the window');
    assert.deepEqual(orders(step), [
      `1× ${ANSWERED}`,
      'cut by the window (started before it): 2× dlg_end(cancel), dlg_stop(cancel)',
      'cut by the window (still going at its end): 1× invite, dlg_init, fork_start×3, dlg_call',
      'cut by the window (started before it and still going at its end): 1× dlg_start',
    ]);
  });

  it('shows a completion type the documentation does not name as "other", never its value; odd type names masked', async () => {
    const s = await simulator();
    const connectionid = 'c0ffee00-1111-2222-3333-444455556666.1700000000123';
    const dialogid = 'd1a10900-aaaa-bbbb-cccc-ddddeeeeffff';
    const push = (type: string, data: Record<string, unknown>): void => {
      s.sendToSockets({ frame: ['event', { qid: 9001, class: 'callevents', type, data: { eventid: `${type}-${JSON.stringify(data).length}-e0e0e0e0`, ...data } }] });
    };
    const { report } = await reportWith(s, () => {
      const call = { connectionid, cid: 'c0ffee00-1111-2222-3333-444455556666', dialogid };
      push('invite', { ...call, fromnum: '+79997654321' });
      push('dlg_init', call);
      push('dlg_end', { ...call, reason: '+79991234567' });
      push('dlg_stop', { ...call, reason: { code: 'S3cr3tV4lue' } });
      // A type that is a number, and one with a pasted line break: shown masked.
      push('79990001122', { connectionid: '5550001.1700000000999' });
      push('dlg_call\nrm -rf /', { connectionid: '5550001.1700000000999' });
      // An event that names no call is counted, never ordered.
      push('dlg_start', { dialogid: 'f00dbabe-0000-0000-0000-000000000000' });
    });
    const step = callOrder(report);
    assert.equal(step.status, 'pass', formatText(report));
    assert.deepEqual(orders(step), [
      '1× invite, dlg_init, dlg_end(other), dlg_stop(other)',
      'cut by the window (started before it and still going at its end): 1× <number>, <odd type name>',
      '1 call event named no call (no connectionid, no cid): in no order',
    ]);
    assertShowsNone(report, ['79991234567', '+79997654321', 'S3cr3tV4lue', '79990001122', '5550001', connectionid, dialogid, 'c0ffee00', 'f00dbabe', 'e0e0e0e0']);
    assert.ok(!JSON.stringify(step).includes('rm -rf'));
    assert.deepEqual(formatText(report).split('\n').filter((line) => line.startsWith('rm -rf')), [], 'a line break in a type forges no line of the report');
  });

  it('differs only where an order contradicts the documentation: after a dialog\'s dlg_stop, a dialog under way after its dlg_end, dlg_pickup after dlg_start', async () => {
    const s = await simulator();
    const dialogOf = (events: readonly SimEvent[], id: string): unknown => events.find((e) => e.type === 'dlg_start' && e.data.connectionid === id)?.data.dialogid;
    const { report } = await reportWith(s, (events) => {
      const ended = s.hangupCall(s.startCall({ from: CALLER, to: AGENT, answer: true }).id);
      const data = { connectionid: ended.connectionid, cid: ended.cid, dialogid: dialogOf(events, ended.id) };
      s.sendToSockets({ frame: ['event', { qid: 1, class: 'callevents', type: 'dlg_start', data: { eventid: 'late-start', ...data } }] });
      s.sendToSockets({ frame: ['event', { qid: 2, class: 'callevents', type: 'dlg_pickup', data: { eventid: 'late-pickup', ...data } }] });
      // A second dialog of the same call after its end is the model's question, not a contradiction.
      s.sendToSockets({ frame: ['event', { qid: 3, class: 'callevents', type: 'dlg_init', data: { eventid: 'new-dialog', ...data, dialogid: 'another-dialog' } }] });
      const talking = s.startCall({ from: OTHER_CALLER, to: AGENT, answer: true });
      const pickup = { eventid: 'pickup-after-start', connectionid: talking.connectionid, cid: talking.cid, dialogid: dialogOf(events, talking.id) };
      s.sendToSockets({ frame: ['event', { qid: 4, class: 'callevents', type: 'dlg_pickup', data: pickup }] });
      // A dialog that calls again after its dlg_end (before its dlg_stop).
      const made = { connectionid: 'made-up-call', dialogid: 'made-up-dialog' };
      for (const [qid, type] of [[5, 'invite'], [6, 'dlg_init'], [7, 'dlg_end'], [8, 'dlg_call']] as const) {
        s.sendToSockets({ frame: ['event', { qid, class: 'callevents', type, data: { eventid: `made-up-${qid}`, ...made, ...(type === 'dlg_end' && { reason: 'cancel' }) } }] });
      }
    });
    const step = callOrder(report);
    assert.equal(step.status, 'differs', formatText(report));
    assert.equal(step.summary, 'no call seen whole, 3 cut by the window, 4 contradictions of the documented order');
    assert.deepEqual(orders(step), [
      'cut by the window (still going at its end): 1× invite, dlg_init, dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye), dlg_start, dlg_pickup, dlg_init'
        + ' — dialog 1: dlg_init, dlg_call, dlg_start, dlg_end(bye), dlg_stop(bye), dlg_start, dlg_pickup; dialog 2: dlg_init',
      'cut by the window (still going at its end): 1× invite, dlg_init, dlg_call, dlg_start, dlg_pickup',
      'cut by the window (still going at its end): 1× invite, dlg_init, dlg_end(cancel), dlg_call',
    ]);
    assert.deepEqual(step.details.filter((d) => d.startsWith('differs:')), [
      "differs: 1× dlg_start after its dialog's dlg_stop (documented: dlg_stop is the dialog's end, sent 3 s after dlg_end)",
      "differs: 1× dlg_pickup after its dialog's dlg_stop (documented: dlg_stop is the dialog's end, sent 3 s after dlg_end)",
      "differs: 1× dlg_pickup after its dialog's dlg_start (documented: dlg_pickup comes before dlg_start)",
      "differs: 1× dlg_call after its dialog's dlg_end (documented: at dlg_end the dialog ended)",
    ]);
    assert.equal(report.outcome, 'differs');
  });

  it('summarises a call that never ends: 60 runs and 10 dialogs ordered, the rest counted', async () => {
    const s = await simulator();
    const { report } = await reportWith(s, () => {
      const call = { connectionid: 'endless-call' };
      s.sendToSockets({ frame: ['event', { qid: 1, class: 'callevents', type: 'invite', data: { eventid: 'endless-invite', ...call } }] });
      for (let d = 1; d <= 31; d++) {
        for (const type of ['dlg_init', 'dlg_call']) {
          s.sendToSockets({ frame: ['event', { qid: 1 + d, class: 'callevents', type, data: { eventid: `endless-${type}-${d}`, ...call, dialogid: `dialog-${d}` } }] });
        }
      }
    });
    const runs = ['invite', ...Array.from({ length: 59 }, (_, i) => (i % 2 === 0 ? 'dlg_init' : 'dlg_call'))];
    const dialogs = Array.from({ length: 10 }, (_, i) => `dialog ${i + 1}: dlg_init, dlg_call`);
    assert.deepEqual(orders(callOrder(report)), [
      `cut by the window (still going at its end): 1× ${runs.join(', ')}, … 3 more events — ${dialogs.join('; ')}; … 21 more dialogs`,
    ]);
  });

  it('lists at most 20 orders and counts the rarer ones', async () => {
    const s = await simulator();
    const { report } = await reportWith(s, () => {
      // Ring groups of 1 to 25 phones: 25 orders, one call each.
      for (let size = 1; size <= 25; size++) {
        const phones = Array.from({ length: size }, (_, i) => String(7495000200 + i));
        const call = s.startCall({ from: CALLER, to: GROUP, group: phones });
        s.answerCall(call.id);
        s.hangupCall(call.id);
      }
    });
    const step = callOrder(report);
    assert.equal(step.summary, '25 calls in 25 orders');
    const lines = orders(step);
    assert.equal(lines.length, 21, lines.join('\n'));
    assert.ok(lines.slice(0, 20).every((l) => /^1× invite, dlg_init, fork_start(×\d+)?, dlg_call, dlg_pickup, dlg_start, dlg_end\(bye\), dlg_stop\(bye\)$/.test(l)), lines.join('\n'));
    assert.equal(lines[20], '… 5 more calls in 5 rarer orders, not listed (at most 20 are)');
  });

  it('2,000 calls in the window: the first 1,000 are ordered, the rest counted, the output stays short', async () => {
    const s = await simulator();
    const { report } = await reportWith(s, async () => {
      await s.burst({ calls: 2000 });
    }, 6);
    const step = callOrder(report);
    assert.equal(step.status, 'pass', formatText(report));
    // The first 1,000 calls are followed whatever the pace; how many of the others arrived within the window is the machine's.
    assert.match(step.summary, /^1000 calls in 1 order, (\d+) more not followed$/);
    const [ordered, beyond, ...rest] = orders(step);
    assert.equal(ordered, `1000× ${ANSWERED}`);
    const [, calls, events] = /^(\d+) more calls \((\d+) events\) not followed: the first 1000 calls are$/.exec(beyond ?? '') ?? [];
    assert.ok(Number(calls) >= 1 && Number(calls) <= 1000 && Number(events) >= Number(calls), beyond);
    assert.deepEqual(rest, []);
    assert.ok(formatText(report).length < 20_000, 'a bounded report');
  });

  describe('the command (bin/era-check.js --listen)', () => {
    before(assertBuilt);

    /** A ring group answered by its 2nd phone, two plain calls, and a call still ringing when the window ends. */
    function traffic(s: Simulator): void {
      const group = s.startCall({ from: CALLER, to: GROUP, group: PHONES });
      s.answerCall(group.id, { by: PHONES[1] });
      s.hangupCall(group.id);
      for (let i = 0; i < 2; i++) s.hangupCall(s.startCall({ from: OTHER_CALLER, to: AGENT, answer: true }).id);
      s.startCall({ from: CALLER, to: QUEUE, queue: PHONES });
    }

    async function command(s: Simulator, ...more: string[]): Promise<Awaited<ReturnType<typeof runCheck>>> {
      const running = runCheck(userArgs(s.url, '--listen', '2', ...more), PASSWORD_ENV);
      while (s.subscriptions().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      traffic(s);
      return running;
    }

    const GROUP_ORDER = '1× invite, dlg_init, fork_start×3, dlg_call, dlg_pickup, dlg_start, dlg_end(bye), dlg_stop(bye)';
    const CUT = 'cut by the window (still going at its end): 1× invite, dlg_init, fork_start, dlg_call';

    it('text: the step\'s line and its orders, nothing else of the calls', async () => {
      const s = await simulator();
      const run = await command(s);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(stepLine(run.stdout, 'call-order'), { status: 'PASS', summary: '3 calls in 2 orders, 1 cut by the window' });
      const lines = run.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('PASS     call-order'));
      assert.deepEqual(lines.slice(at + 2, at + 5), [`         2× ${ANSWERED}`, `         ${GROUP_ORDER}`, `         ${CUT}`]);
      assert.match(lines[at + 5]!, /^PASS\s+call-list/);
      assertClean(run);
      for (const number of [CALLER, OTHER_CALLER, GROUP, QUEUE, ...PHONES, AGENT]) assert.ok(!run.stdout.includes(number.replace('+', '')), number);
    });

    it('--json: the same step in the report\'s shape', async () => {
      const s = await simulator();
      const run = await command(s, '--json');
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const report = JSON.parse(run.stdout) as Report;
      const step = callOrder(report);
      assert.deepEqual({ status: step.status, summary: step.summary }, { status: 'pass', summary: '3 calls in 2 orders, 1 cut by the window' });
      assert.deepEqual(orders(step), [`2× ${ANSWERED}`, GROUP_ORDER, CUT]);
      assert.deepEqual(report.steps.map((x) => x.name).slice(8, 10), ['listen', 'call-order']);
      assertClean(run);
    });
  });
});
