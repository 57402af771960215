/**
 * Fuzzing of the input validation of every action node: seeded random commands through
 * validateCommand, then seeded random messages through each node in a running flow against
 * the simulator. Every message must end in exactly one output or one clear error, and input
 * the validation refuses must never reach the platform.
 */
import assert from 'node:assert/strict';
import { validateCommand } from '../../src/era/commands/validate';
import { type ValidCommand } from '../../src/era/types';
import { EraError } from '../../src/era/errors';
import { PATHS } from '../../src/era/protocol/paths';
import { buildCallRequest } from '../../src/era/protocol/commands';
import { isObject } from '../../src/era/protocol/values';
import type { SimRequestLog } from '../../src/simulator';
import { eventually, helper, Inbox, load, serverNode, startRed, stopRed, type FlowNode } from '../support/red';
import { simulator, type Simulator } from '../support/sim';
import { seeded, type Rng } from './prng';
import { objectWith, randomJson, randomValue } from './values';

type Msg = Record<string, unknown>;

/** An error message a person can read: there, and not a wall of echoed input. */
const MAX_MESSAGE = 1000;
const CODE = /^ERA_[A-Z_]+$/;

const prototypeKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

/** What validateCommand said: the command it made, or the ERA_INVALID_INPUT it threw. */
function validate(input: unknown): { ok: true; cmd: ValidCommand } | { ok: false; err: EraError } {
  try {
    return { ok: true, cmd: validateCommand(input) };
  } catch (err) {
    if (!(err instanceof EraError)) throw new Error(`validateCommand threw a ${explain(err)} instead of an EraError`);
    return { ok: false, err };
  }
}

function explain(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : typeof err;
}

function jsonable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Commands for validateCommand

const MODES: Record<string, readonly string[]> = {
  dial: ['post', 'invite', 'ivr'],
  transfer: ['blind', 'attended'],
  conference: ['switch', 'join'],
};

const FIELDS: Record<string, readonly string[]> = {
  dial: ['mode', 'from', 'to', 'ivr', 'extra'],
  transfer: ['mode', 'call', 'to', 'replaces', 'leg', 'extra'],
  conference: ['mode', 'call', 'conference', 'extra'],
  hold: ['call', 'leg', 'extra'],
  unhold: ['call', 'leg', 'extra'],
  answer: ['call', 'leg', 'extra'],
  dtmf: ['call', 'leg', 'digits', 'extra'],
  record: ['call', 'record', 'extra'],
  hangup: ['call'],
  lookup: ['key', 'extra'],
  list: ['offset', 'limit'],
  get: ['call'],
};
const OPS = Object.keys(FIELDS);

/** A value the validator must accept for `field` of `op`. */
function goodValue(rng: Rng, op: string, field: string): unknown {
  switch (field) {
    case 'mode':
      return rng.pick([...MODES[op]!, undefined, null, '']);
    case 'digits':
      return rng.pick(['1', '12#', ' *0# ', 'abcd', '0123456789*#ABCD', '9'.repeat(64), 5]);
    case 'record':
      return rng.chance(0.5);
    case 'extra':
      return rng.pick([undefined, null, {}, { idcall: 'leg-1' }, objectWith([['__proto__', { polluted: true }]]), Object.create(null) as unknown]);
    case 'offset':
    case 'limit':
      return rng.pick([undefined, null, '', 0, 10, 1000]);
    default:
      return rng.pick(['101', ' +79990001122 ', 42, 'a.b', '../../x', 'звонок', `${'7'.repeat(5000)}`]);
  }
}

/** A command built only from acceptable values, with every field its mode needs. */
function goodCommand(rng: Rng): Record<string, unknown> {
  const op = rng.pick(OPS);
  const cmd: Record<string, unknown> = { op };
  for (const field of FIELDS[op]!) cmd[field] = goodValue(rng, op, field);
  // Fields a mode needs must not be left empty.
  const needed = ['call', 'to', 'digits', 'key', 'record'];
  if (op === 'dial' && cmd.mode === 'ivr') needed.push('ivr');
  if (op === 'transfer') needed.splice(needed.indexOf('to'), 1, cmd.mode === 'attended' ? 'replaces' : 'to');
  if (op === 'conference' && cmd.mode === 'join') needed.push('conference');
  for (const field of needed) if (field in cmd && (cmd[field] === undefined || cmd[field] === null)) cmd[field] = field === 'record' ? true : '101';
  return cmd;
}

/** A command with random values in its fields, sometimes not a command at all. */
function randomCommand(rng: Rng): unknown {
  if (rng.chance(0.03)) return randomValue(rng);
  const op = rng.chance(0.05) ? randomValue(rng) : rng.pick(OPS);
  const fields = typeof op === 'string' && Object.hasOwn(FIELDS, op) ? FIELDS[op]! : ['call', 'to'];
  const cmd: Record<string, unknown> = { op };
  for (const field of fields) {
    const roll = rng.float();
    if (roll < 0.4) cmd[field] = goodValue(rng, typeof op === 'string' ? op : '', field);
    else if (roll < 0.9) cmd[field] = randomValue(rng);
  }
  if (rng.chance(0.05)) Object.defineProperty(cmd, rng.pick(['__proto__', 'constructor']), { value: randomJson(rng), enumerable: true });
  return cmd;
}

const TEXT_FIELDS = ['from', 'to', 'ivr', 'call', 'replaces', 'leg', 'conference', 'key'] as const;

/** What a command the validator accepted must look like, and the request it makes. */
function checkAccepted(input: Record<string, unknown>, cmd: ValidCommand): void {
  const out = cmd as Record<string, unknown>;
  assert.equal(out.op, input.op);
  for (const field of TEXT_FIELDS) {
    const value = out[field];
    if (value === undefined) continue;
    assert.equal(typeof value, 'string', `${field} is text`);
    const text = value as string;
    assert.ok(text !== '' && text === text.trim(), `${field} is trimmed and not empty`);
    const given = input[field];
    assert.equal(text, typeof given === 'number' ? String(given) : String(given).trim(), `${field} is what was given`);
  }
  if ('mode' in out) assert.ok(MODES[cmd.op]!.includes(String(out.mode)), `mode ${String(out.mode)}`);
  if (cmd.op === 'dtmf') {
    assert.match(cmd.digits, /^[0-9*#A-D]{1,64}$/);
    assert.equal(cmd.digits, String(input.digits).trim().toUpperCase());
  }
  if ('extra' in out && out.extra !== undefined) assert.equal(out.extra, input.extra, 'extra is the object given');
  let req: ReturnType<typeof buildCallRequest>;
  try {
    req = buildCallRequest(cmd);
  } catch (err) {
    throw new Error(`the request for an accepted command could not be built (${explain(err)}); call ${JSON.stringify(out.call)}`);
  }
  assert.match(req.method, /^[A-Z_]+$/);
  if ('call' in cmd) {
    // Whatever the id holds ("../", "/", "?"), it stays one path segment.
    const segment = req.path.slice(PATHS.calls.length + 1);
    assert.equal(req.path, `${PATHS.calls}/${segment}`);
    assert.ok(!segment.includes('/') && !segment.includes('?') && !segment.includes('#'), `one segment: ${req.path.slice(0, 80)}`);
    assert.equal(decodeURIComponent(segment), cmd.call);
  } else {
    assert.equal(req.path, PATHS.calls);
  }
  if (req.body !== undefined) {
    const extra = isObject(input.extra) ? input.extra : {};
    const unset = Object.keys(req.body).filter((k) => req.body![k] === undefined && !Object.hasOwn(extra, k));
    assert.deepEqual(unset, [], 'an empty optional field is left out of the body');
  }
}

function checkRefused(err: EraError): void {
  assert.equal(err.code, 'ERA_INVALID_INPUT');
  assert.ok(err.message.trim().length > 0, 'the refusal says why');
  assert.ok(err.message.length <= MAX_MESSAGE, `the refusal is short enough to read (${err.message.length} characters): ${err.message.slice(0, 120)}…`);
}

describe('fuzz: validateCommand', function () {
  it('accepts every well-formed command, normalised, and builds a request that stays on its path', function () {
    const rng = seeded('validateCommand, valid');
    for (let i = 0; i < 3000; i++) {
      const input = goodCommand(rng);
      const result = validate(input);
      if (!result.ok) assert.fail(`#${i} (seed ${rng.seed}) refused a good command ${String(input.op)}: ${result.err.message.slice(0, 200)}`);
      try {
        checkAccepted(input, result.cmd);
      } catch (err) {
        throw new Error(`#${i} (seed ${rng.seed}) ${String(input.op)}: ${explain(err)}`);
      }
    }
  });

  it('answers any input with a normalised command or a clear ERA_INVALID_INPUT, never anything else', function () {
    const rng = seeded('validateCommand, random');
    const before = prototypeKeys();
    let refused = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const input = randomCommand(rng);
      try {
        const result = validate(input);
        if (result.ok) checkAccepted(input as Record<string, unknown>, result.cmd);
        else {
          refused++;
          checkRefused(result.err);
        }
      } catch (err) {
        throw new Error(`#${i} (seed ${rng.seed}): ${explain(err)}`);
      }
    }
    assert.deepEqual(prototypeKeys(), before, 'Object.prototype is unchanged');
    assert.ok(refused > N / 10 && refused < N * 0.95, `a useful mix: ${refused} of ${N} refused`);
  });
});

// ---------------------------------------------------------------------------------------
// Messages through the nodes

/** What the simulator knows that a message can point at. */
interface World {
  calls: string[];
  legs: string[];
  recordingKey: string;
}

/** Values that make sense for a message property, mixed with random ones, or left out. */
function field(rng: Rng, good: readonly unknown[]): unknown {
  const roll = rng.float();
  if (roll < 0.45) return rng.pick(good);
  if (roll < 0.9) return randomValue(rng);
  return undefined;
}

/** A random message with every property the fuzzed nodes read. */
function randomMessage(rng: Rng, world: World): Msg {
  const msg: Msg = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) msg[key] = value;
  };
  set('connectionId', field(rng, [...world.calls, 'no-such-call.1', 12345]));
  set('payload', field(rng, ['+79990001122', '102', '12#', 'abcd', {}, { key: world.recordingKey }, { key: 'fs:main1:none.mp3' }, { key: '../x' }]));
  set('mode', field(rng, ['post', 'invite', 'ivr', 'blind', 'attended', 'switch', 'join']));
  set('hold', field(rng, [true, false]));
  set('from', field(rng, ['101', 101]));
  set('ivr', field(rng, ['menu1']));
  set('replaces', field(rng, world.calls));
  set('leg', field(rng, ['', ...world.legs]));
  set('conference', field(rng, ['conf-1']));
  set('extra', field(rng, [{}, { priority: 5 }]));
  set('method', field(rng, ['GET', 'POST', 'DELETE', 'connection_info', ' GET ']));
  set('path', field(rng, ['/rest/v1/uc/calls', `/rest/v1/uc/calls/${rng.pick(world.calls)}`, '/rest/v1/../../etc/passwd', 'rest/v1/uc/calls']));
  set('until', field(rng, ['callevents.dlg_start', 'talking', 'ringing', 'ended', 'held', '*.*']));
  // era-wait waits as long as the timeout says: only short ones, or ones it must refuse.
  set('timeout', rng.pick([0.01, '0.02', 0.03, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, 86_401, 'soon', null, undefined, {}, [], Symbol('t'), false]));
  return msg;
}

/** Whether a command must be refused: the validator refuses it, or its extra fields cannot be sent as JSON. */
function refuses(input: Record<string, unknown>): boolean {
  const result = validate(input);
  return !result.ok || (isObject(input.extra) && !jsonable(input.extra));
}

const empty = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const STATES = ['ringing', 'talking', 'held', 'ended'];

/** era-wait's timeout: whatever converts to a number of seconds in (0, 86400]. */
function waitTimeoutOk(v: unknown): boolean {
  let seconds: number;
  try {
    seconds = Number(v);
  } catch {
    return false; // a Symbol, or an object that cannot become a number
  }
  return Number.isFinite(seconds) && seconds > 0 && seconds <= 86_400;
}

/** A node under test: its flow definition and whether the spec says it must refuse a message. */
interface Subject {
  type: string;
  config: Record<string, unknown>;
  outputs?: number;
  invalid(msg: Msg): boolean;
  /** A message that must succeed, to show the node still works after the fuzzing. */
  valid(world: World, sim: Simulator): Promise<Msg> | Msg;
}

const fromMsg = (name: string) => ({ [name]: name, [`${name}Type`]: 'msg' });
const CALL = { call: 'connectionId', callType: 'msg' };

function freshCall(sim: Simulator, answer = true): string {
  const call = sim.startCall({ from: '+79990009999', to: '101' });
  if (answer) sim.answerCall(call.id);
  return call.id;
}

const SUBJECTS: Subject[] = [
  {
    type: 'era-dial',
    config: { mode: 'msg', ...fromMsg('from'), to: 'payload', toType: 'msg', ...fromMsg('ivr'), ...fromMsg('extra') },
    invalid: (m) => refuses({ op: 'dial', mode: m.mode, from: m.from, to: m.payload, ivr: m.ivr, extra: m.extra }),
    valid: () => ({ payload: '+79990001122', from: '101' }),
  },
  {
    type: 'era-transfer',
    config: { mode: 'msg', ...CALL, to: 'payload', toType: 'msg', ...fromMsg('replaces'), ...fromMsg('leg'), ...fromMsg('extra') },
    invalid: (m) => refuses({ op: 'transfer', mode: m.mode, call: m.connectionId, to: m.payload, replaces: m.replaces, leg: m.leg, extra: m.extra }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim), payload: '102' }),
  },
  {
    type: 'era-conference',
    config: { mode: 'msg', ...CALL, ...fromMsg('conference'), ...fromMsg('extra') },
    invalid: (m) => refuses({ op: 'conference', mode: m.mode, call: m.connectionId, conference: m.conference, extra: m.extra }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim) }),
  },
  {
    type: 'era-hold',
    config: { action: 'msg', ...CALL, ...fromMsg('leg'), ...fromMsg('extra') },
    invalid: (m) => typeof m.hold !== 'boolean' || refuses({ op: m.hold ? 'hold' : 'unhold', call: m.connectionId, leg: m.leg, extra: m.extra }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim), hold: true }),
  },
  {
    type: 'era-dtmf',
    config: { ...CALL, ...fromMsg('leg'), digits: 'payload', digitsType: 'msg', ...fromMsg('extra') },
    invalid: (m) => refuses({ op: 'dtmf', call: m.connectionId, leg: m.leg, digits: m.payload, extra: m.extra }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim), payload: '12#' }),
  },
  {
    type: 'era-hangup',
    config: { ...CALL },
    invalid: (m) => refuses({ op: 'hangup', call: m.connectionId }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim) }),
  },
  {
    type: 'era-answer',
    config: { ...CALL, ...fromMsg('leg'), ...fromMsg('extra') },
    invalid: (m) => refuses({ op: 'answer', call: m.connectionId, leg: m.leg, extra: m.extra }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim, false) }),
  },
  {
    type: 'era-recording',
    config: { key: 'payload.key', keyType: 'msg', output: 'url' },
    invalid: (m) => {
      // Node-RED cannot read payload.key of a payload that is not there.
      if (m.payload === undefined || m.payload === null) return true;
      const key = (m.payload as Record<string, unknown>).key;
      return typeof key !== 'string' || key.trim() === '' || /(^|[\\/:])\.\.([\\/]|$)/.test(key) || key.includes('\0');
    },
    valid: (w) => ({ payload: { key: w.recordingKey } }),
  },
  {
    type: 'era-calls',
    config: { mode: 'get', ...CALL },
    invalid: (m) => !empty(m.connectionId) && refuses({ op: 'get', call: m.connectionId }),
    valid: () => ({}),
  },
  {
    type: 'era-call',
    config: { ...CALL },
    invalid: (m) => empty(m.connectionId) || refuses({ op: 'get', call: m.connectionId }),
    valid: (_w, sim) => ({ connectionId: freshCall(sim) }),
  },
  {
    type: 'era-request',
    config: { kind: 'rest', ...fromMsg('method'), ...fromMsg('path'), body: 'payload', bodyType: 'msg' },
    invalid: (m) =>
      typeof m.method !== 'string' ||
      !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$/.test(m.method.trim()) ||
      typeof m.path !== 'string' ||
      // A request target is ASCII without spaces; anything else must be percent-encoded.
      !/^\/[\x21-\x7e]*$/.test(m.path.trim()) ||
      !jsonable(m.payload),
    valid: () => ({ method: 'GET', path: '/rest/v1/uc/calls' }),
  },
  {
    type: 'era-request',
    config: { kind: 'ws', ...fromMsg('method'), body: 'payload', bodyType: 'msg' },
    invalid: (m) =>
      typeof m.method !== 'string' ||
      m.method.trim() === '' ||
      (m.payload !== undefined && (!isObject(m.payload) || !jsonable(m.payload))),
    valid: () => ({ method: 'connection_info', payload: {} }),
  },
  {
    type: 'era-wait',
    config: { ...CALL, ...fromMsg('until'), ...fromMsg('timeout') },
    outputs: 2,
    invalid: (m) =>
      empty(m.connectionId) ||
      refuses({ op: 'get', call: m.connectionId }) ||
      typeof m.until !== 'string' ||
      !(STATES.includes(m.until.trim()) || /^[A-Za-z0-9_*-]+\.[A-Za-z0-9_*-]+$/.test(m.until.trim())) ||
      !waitTimeoutOk(m.timeout),
    valid: (_w, sim) => {
      const id = freshCall(sim, false);
      setTimeout(() => sim.answerCall(id), 50);
      return { connectionId: id, until: 'talking', timeout: 1 };
    },
  },
];

/** The connection's own WebSocket requests: its setup, its login, its subscriptions. */
const CONNECTION_METHODS = new Set(['upgrade', 'setup', 'login', 'subscribe']);

/** Requests a message made: REST calls (not the login) and WebSocket requests (not the connection's own, nor acks). */
function madeRequests(log: SimRequestLog[]): SimRequestLog[] {
  return log.filter((r) =>
    r.kind === 'rest'
      ? !(r.method === 'POST' && r.path === PATHS.sessions) && !r.path.startsWith('/_sim/')
      : !CONNECTION_METHODS.has(r.method) && !r.method.endsWith('_result'),
  );
}

function shortJson(msg: Msg): string {
  const shown: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg)) {
    let text: string;
    try {
      text = typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function' ? String(v) : (JSON.stringify(v) ?? String(v));
    } catch {
      text = Object.prototype.toString.call(v);
    }
    shown[k] = text.length > 60 ? `${text.slice(0, 60)}…(${text.length})` : text;
  }
  return JSON.stringify(shown);
}

/**
 * Values that have broken nodes before: one at a time over a message the node accepts. Each
 * is deterministic, so these run whatever the seed.
 */
function hostileValues(): Array<[string, unknown]> {
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  const huge = 'я'.repeat(100_000);
  return [
    ...(['connectionId', 'replaces'] as const).flatMap((key): Array<[string, unknown]> => [
      [key, {}],
      [key, []],
      [key, true],
      [key, Number.NaN],
      [key, Object.create(null) as unknown],
      [key, objectWith([['toString', {}]])],
      [key, '\ud800abc'],
      [key, huge],
    ]),
    ['extra', { n: 1n }],
    ['extra', loop],
    ['mode', huge],
    ['hold', 1n],
    ['hold', loop],
    ['hold', huge],
    ['payload', 1n],
    ['payload', loop],
    ['payload', huge],
    ['payload', { key: huge }],
    ['method', huge],
    ['path', '/a b'],
    ['path', '/звонки'],
    ['path', `/${huge}`],
    ['until', objectWith([['toString', {}]])],
    ['until', huge],
    ['timeout', Symbol('t')],
    ['timeout', objectWith([['valueOf', {}]])],
  ];
}

describe('fuzz: action nodes in a flow', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let sink: Inbox;
  let world: World;
  let count = 0;

  before(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 0 }));
    await startRed();
    await load([
      { id: 'tab', type: 'tab' },
      serverNode(sim),
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['sink']] },
      { id: 'sink', z: 'tab', type: 'helper' },
      ...SUBJECTS.map((s, i): FlowNode => ({
        id: `n${i}`,
        z: 'tab',
        type: s.type,
        server: 'srv',
        ...s.config,
        wires: Array.from({ length: s.outputs ?? 1 }, () => ['sink']),
      })),
    ]);
    sink = new Inbox('sink');
    // The first connection learns the calls going on (era-wait follows the table): that list
    // request is the server's, not a message's, so it must be over before messages are judged.
    await eventually(() => sim.requests().some((r) => r.kind === 'rest' && r.method === 'GET' && r.path === PATHS.calls), 15_000, 'the first connection learnt the calls going on');
    const recorded = sim.startCall({ from: '+79990001111', to: '101', record: true, answer: true });
    sim.hangupCall(recorded.id);
    world = { calls: [], legs: [], recordingKey: sim.getCall(recorded.id).recordingKey ?? 'none' };
    for (let i = 0; i < 3; i++) refill(world, sim, true);
  });

  after(async function () {
    await stopRed();
    await sim.stop();
  });

  /** Sends one message to a node and says what went wrong with its outcome, if anything. */
  async function run(index: number, msg: Msg): Promise<{ problem?: string; outcome?: Msg }> {
    const subject = SUBJECTS[index]!;
    msg.fuzz = count;
    const invalid = subject.invalid(msg);
    sim.clearRequests();
    helper.getNode(`n${index}`).receive(msg);
    count++;
    await sink.count(count, 8000).catch(() => undefined);
    const got = sink.messages.slice(count - 1);
    count = sink.messages.length; // whatever happened, the next message starts from here
    const problem = judge(got, msg, invalid, madeRequests(sim.requests()));
    const name = `${subject.type}${subject.config.kind ? `/${String(subject.config.kind)}` : ''}`;
    return { problem: problem && `${name}: ${problem}\n    msg ${shortJson(msg)}`, outcome: got[0] };
  }

  it('refuses values that broke nodes before, clearly and without sending anything', async function () {
    const failures: string[] = [];
    for (const [key, value] of hostileValues()) {
      for (let index = 0; index < SUBJECTS.length; index++) {
        const msg: Msg = { ...(await SUBJECTS[index]!.valid(world, sim)), [key]: value };
        const { problem } = await run(index, msg);
        if (problem) failures.push(`${key}: ${problem}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} message(s) ended wrong:\n${failures.slice(0, 30).join('\n')}`);
  });

  it('ends every random message in one output or one clear error, and sends nothing the validation refuses', async function () {
    const rng = seeded('action nodes');
    const PER_NODE = 200;
    const tally = { invalid: 0, output: 0, error: 0 };
    const failures: string[] = [];
    for (let index = 0; index < SUBJECTS.length; index++) {
      for (let i = 0; i < PER_NODE; i++) {
        if (i % 25 === 0) refill(world, sim, rng.chance(0.7));
        const msg = randomMessage(rng, world);
        const { problem, outcome } = await run(index, msg);
        if (problem) failures.push(`#${i} ${problem}`);
        if (SUBJECTS[index]!.invalid(msg)) tally.invalid++;
        else if (outcome?.error) tally.error++;
        else tally.output++;
      }
    }
    assert.deepEqual(failures, [], `seed ${rng.seed}: ${failures.length} message(s) ended wrong:\n${failures.slice(0, 30).join('\n')}`);
    assert.ok(tally.invalid > 100 && tally.output > 100, `a useful mix: ${JSON.stringify(tally)}`);

    // Still working: a well-formed message to each node succeeds.
    for (let index = 0; index < SUBJECTS.length; index++) {
      const { problem, outcome } = await run(index, await SUBJECTS[index]!.valid(world, sim));
      assert.equal(problem, undefined);
      assert.equal(outcome?.error, undefined, `${SUBJECTS[index]!.type} after the fuzzing: ${JSON.stringify(outcome?.error)}`);
    }
  });
});

/** A new call in the simulator for messages to point at (the oldest ones are forgotten). */
function refill(world: World, sim: Simulator, answer: boolean): void {
  const call = sim.startCall({ from: '+79990002222', to: '101', answer });
  world.calls = [...world.calls.slice(-5), call.id];
  world.legs = [...world.legs.slice(-5), call.acallid, call.bcallid];
}

/** Why the outcome of one message is wrong, or undefined when it is right. */
function judge(got: Msg[], msg: Msg, invalid: boolean, requests: SimRequestLog[]): string | undefined {
  if (got.length === 0) return 'no output and no error within 8 s';
  if (got.length > 1) return `${got.length} outcomes for one message`;
  const out = got[0]!;
  if (out.fuzz !== msg.fuzz) return `the outcome belongs to message ${String(out.fuzz)}`;
  const error = out.error as { code?: unknown; message?: unknown } | undefined;
  if (invalid) {
    if (!error) return 'input the validation refuses was accepted';
    if (error.code !== 'ERA_INVALID_INPUT') return `refused with ${String(error.code)} instead of ERA_INVALID_INPUT: ${String(error.message).slice(0, 150)}`;
    if (requests.length > 0) return `refused input reached the platform: ${requests[0]!.method} ${requests[0]!.path}`;
  }
  if (error) {
    if (typeof error.code !== 'string' || !CODE.test(error.code)) return `error without an ERA_ code: ${String(error.message).slice(0, 150)}`;
    if (!invalid && error.code === 'ERA_INVALID_INPUT') return `valid input refused: ${String(error.message).slice(0, 150)}`;
    if (typeof error.message !== 'string' || error.message.trim() === '') return 'error without a message';
    if (error.message.length > MAX_MESSAGE) return `error message of ${error.message.length} characters: ${error.message.slice(0, 100)}…`;
  }
  return undefined;
}
