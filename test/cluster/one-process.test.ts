/**
 * Claims with a real Redis and the simulator, inside one Node-RED (node-red-node-test-helper):
 * two era-server nodes with the same cluster section are two replicas that share a process,
 * which lets a test look at every node of both. The cluster section's checks come first.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { clusterSettings } from '../../src/cluster/settings';
import { claimKeys } from '../../src/era/events/claims';
import { EraError } from '../../src/era/errors';
import { PollChangeKeys } from '../../src/era/events/poll-diff';
import type { EraEvent } from '../../src/era/types';
import { eventually, helper, Inbox, load, startRed, StatusLog, stopRed, type FlowNode } from '../support/red';
import { RedisServer } from '../support/redis';
import { simulator, type SimControl, type Simulator } from '../support/sim';
import { TcpProxy } from './proxy';
import { REFUSED_PORT } from '../support/ports';

function settingsError(fields: Record<string, unknown>): EraError {
  try {
    clusterSettings({ cluster: 'redis', redisUrl: '', clusterName: '', redisPassword: undefined, defaultName: 'demo.local', ...fields });
  } catch (err) {
    assert.ok(err instanceof EraError);
    return err;
  }
  assert.fail('no error');
}

describe('cluster settings of era-server', () => {
  it('off unless cluster is redis; a usable redisUrl becomes host, port, TLS, user, database', () => {
    assert.equal(clusterSettings({ cluster: '', redisUrl: 'anything', clusterName: '', redisPassword: undefined, defaultName: 'd' }), undefined);
    assert.equal(clusterSettings({ cluster: undefined, redisUrl: undefined, clusterName: undefined, redisPassword: undefined, defaultName: 'd' }), undefined);
    const s = clusterSettings({ cluster: 'redis', redisUrl: ' rediss://ops@redis.example:6380/2 ', clusterName: '', redisPassword: 'pw', defaultName: 'demo.local' })!;
    assert.deepEqual(s.redis, { host: 'redis.example', port: 6380, tls: true, username: 'ops', password: 'pw', database: 2 });
    assert.equal(s.name, 'demo.local', 'the default name');
    assert.equal(s.shownUrl, 'rediss://redis.example:6380/2', 'no user name in log lines');
    const plain = clusterSettings({ cluster: 'redis', redisUrl: 'redis://[::1]', clusterName: ' crm ', redisPassword: '', defaultName: 'demo.local' })!;
    assert.deepEqual(plain.redis, { host: '::1', port: 6379, tls: false });
    assert.equal(plain.name, 'crm');
  });

  it('a redisUrl that cannot work is ERA_INVALID_INPUT naming the field, never echoing a password', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ redisUrl: '' }, /^Cluster: redisUrl is empty/],
      [{ redisUrl: 'not a url' }, /^Cluster: redisUrl "not a url" is not a URL: write it as redis:\/\/host:6379\/0/],
      [{ redisUrl: 'http://redis:6379' }, /^Cluster: redisUrl "http:\/\/redis:6379" must start with redis:\/\/ or rediss:\/\//],
      [{ redisUrl: 'localhost:6379' }, /^Cluster: redisUrl "localhost:6379" must start with redis:\/\//],
      [{ redisUrl: 'redis://redis:6379/zero' }, /^Cluster: redisUrl .* database number/],
      [{ redisUrl: 'redis://:Hunter2@redis:6379' }, /^Cluster: redisUrl must not contain a password: put it in the Redis password field$/],
      [{ cluster: 'etcd', redisUrl: 'redis://redis' }, /^Cluster: cluster "etcd" is not known/],
      [{ redisUrl: 'redis://redis', defaultName: '' }, /^Cluster: clusterName is empty/],
    ];
    for (const [fields, message] of cases) {
      const err = settingsError(fields);
      assert.equal(err.code, 'ERA_INVALID_INPUT');
      assert.match(err.message, message);
      assert.ok(!err.message.includes('Hunter2'));
    }
    assert.ok(!settingsError({ redisUrl: 'redis://u:Hunter2@@host' }).message.includes('Hunter2'));
  });
});

describe('claim keys', () => {
  const event = (topic: string, payload: Record<string, unknown>, eventId?: string, connectionId?: string): EraEvent => {
    const [cls, type] = topic.split('.') as [string, string];
    return { topic, class: cls, type, payload, eventId, connectionId, callId: undefined, replayed: undefined, call: undefined };
  };

  it('an event by its id; the start and the end of a call also by the call, so a made-up one and the live one are one', () => {
    assert.deepEqual(claimKeys(event('callevents.dlg_start', {}, 'e1', 'c1')), ['e1']);
    assert.deepEqual(claimKeys(event('callevents.invite', {}, 'e2', 'c1')), ['e2', 'call:c1:invite']);
    assert.deepEqual(claimKeys(event('callevents.dlg_end', {}, 'replayed-c1-dlg_end', 'c1')), ['replayed-c1-dlg_end', 'call:c1:end']);
    // A later dialog's end, after the call's own: per dialog, its own id only (era-platform.md §5.4).
    assert.deepEqual(claimKeys(event('callevents.dlg_end', {}, 'e4', 'c1'), false), ['e4']);
    assert.deepEqual(claimKeys(event('ccsevents.call_set_state', { state: 'end' }, 'e3', 'c1')), ['e3']);
  });

  it('an event without an id by a hash of its class, type and fields: the same on every replica', () => {
    const [a] = claimKeys(event('ccsevents.call_dtmf', { dtmf: '1', cid: 'x' }));
    assert.match(a!, /^hash:[\w-]{27}$/);
    assert.equal(claimKeys(event('ccsevents.call_dtmf', { dtmf: '1', cid: 'x' }))[0], a);
    assert.notEqual(claimKeys(event('ccsevents.call_dtmf', { dtmf: '2', cid: 'x' }))[0], a);
    assert.notEqual(claimKeys(event('ccsevents.call_update', { dtmf: '1', cid: 'x' }))[0], a);
  });

  it('poll changes: start and end once per call, a change of state by its place in the call\'s history', () => {
    const keys = new PollChangeKeys();
    const change = (topic: string, state: string) => keys.keysOf({ topic, payload: { state }, connectionId: 'c1' });
    assert.deepEqual(
      [change('callevents.invite', 'ring'), change('callevents.dlg_start', 'talk'), change('ccsevents.call_set_state', 'hold'), change('ccsevents.call_set_state', 'talk'), change('callevents.dlg_end', 'end')],
      [['poll:c1:invite'], ['poll:c1:1:talk'], ['poll:c1:2:hold'], ['poll:c1:3:talk'], ['poll:c1:dlg_end']],
    );
  });
});

describe('cluster: two replicas in one Node-RED, real Redis and simulator', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 0 }));
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async () => {
    statuses.stop();
    // Removed, not just stopped: a stopped era-server hands its live calls to a successor of the same id.
    await helper.setFlows([], 'full');
    await stopRed();
    await sim.stop();
  });

  function server(id: string, extra: Record<string, unknown> = {}): FlowNode {
    return {
      id,
      type: 'era-server',
      url: sim.url,
      domain: 'demo.local',
      authMode: 'token',
      verifyTls: true,
      ca: '',
      pingInterval: 1,
      requestTimeout: 2,
      cluster: 'redis',
      redisUrl: redis.url,
      clusterName: `t-${randomUUID()}`,
      ...extra,
    };
  }

  /** Resolves once node `id` shows a status whose text includes `key` (a catalog key: the helper does not translate). */
  function showing(id: string, key: string, ms = 10_000): Promise<void> {
    return eventually(() => (statuses.of(id).at(-1)?.text ?? '').includes(key), ms, `${id} showing ${key} (${JSON.stringify(statuses.of(id).at(-1))})`);
  }

  it('each event out of one replica\'s era-events, msg.call on it; era-wait and era-call work on either', async () => {
    const name = `t-${randomUUID()}`;
    await load(
      [
        server('srv1', { clusterName: name }),
        server('srv2', { clusterName: name }),
        { id: 'ev1', type: 'era-events', server: 'srv1', events: 'callevents.*', attachCall: true, wires: [['out1']] },
        { id: 'ev2', type: 'era-events', server: 'srv2', events: 'callevents.*', attachCall: true, wires: [['out2']] },
        { id: 'wait2', type: 'era-wait', server: 'srv2', until: 'callevents.dlg_start', untilType: 'str', timeout: '10', timeoutType: 'num', wires: [['yes2'], ['no2']] },
        { id: 'call2', type: 'era-call', server: 'srv2', wires: [['state2']] },
        ...['out1', 'out2', 'yes2', 'no2', 'state2'].map((id) => ({ id, type: 'helper' })),
      ],
      { srv1: { token: 'demo-token' }, srv2: { token: 'demo-token' } },
    );
    const [out1, out2, yes2, state2] = ['out1', 'out2', 'yes2', 'state2'].map((id) => new Inbox(id));
    await Promise.all([showing('ev1', 'status.clusterOk'), showing('ev2', 'status.clusterOk')]);
    await eventually(async () => (await ctl.subscriptions()).length === 2, 5000, 'both subscribed');
    const produced: string[] = [];
    sim.on('event', (e) => e.class === 'callevents' && produced.push(e.data.eventid));
    const calls = Array.from({ length: 20 }, (_, i) => sim.startCall({ from: `+7999000${String(i).padStart(4, '0')}`, to: '101' }));
    await eventually(() => out1!.messages.length + out2!.messages.length === produced.length, 5000, 'the invites out');
    for (const c of calls) helper.getNode('wait2').receive({ connectionId: c.id });
    await sleep(100);
    for (const c of calls) sim.answerCall(c.id);
    for (const c of calls) sim.hangupCall(c.id);
    await eventually(() => out1!.messages.length + out2!.messages.length >= produced.length, 5000, 'every event out');
    await sleep(300);
    const out = [...out1!.messages, ...out2!.messages];
    assert.equal(out.length, 20 * 6);
    assert.deepEqual(new Set(out.map((m) => m.eventId)), new Set(produced), 'each event once');
    for (const m of out) assert.equal((m.call as { connectionId?: string } | undefined)?.connectionId, m.connectionId, 'msg.call attached');
    // era-wait on replica 2 saw every answer, also those replica 1 emitted.
    await yes2!.count(20);
    assert.deepEqual(new Set(yes2!.messages.map((m) => m.connectionId)), new Set(calls.map((c) => c.id)));
    // era-call on replica 2 knows a call whose events all came out of replica 1.
    const onlyOne = calls.find((c) => out.filter((m) => m.connectionId === c.id).every((m) => out1!.messages.includes(m)));
    const any = onlyOne ?? calls[0]!;
    helper.getNode('call2').receive({ connectionId: any.id });
    await state2!.count(1);
    assert.equal((state2!.messages[0]!.call as { state: string }).state, 'ended');
  });

  it('era-calls in poll mode on two replicas: each change of a call out of one of them', async () => {
    const name = `t-${randomUUID()}`;
    await load(
      [
        server('srv1', { clusterName: name }),
        server('srv2', { clusterName: name }),
        { id: 'poll1', type: 'era-calls', server: 'srv1', mode: 'poll', interval: 0.1, wires: [['out']] },
        { id: 'poll2', type: 'era-calls', server: 'srv2', mode: 'poll', interval: 0.13, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { srv1: { token: 'demo-token' }, srv2: { token: 'demo-token' } },
    );
    const out = new Inbox('out');
    const calls = Array.from({ length: 5 }, (_, i) => sim.startCall({ from: `+7999111${String(i).padStart(4, '0')}`, to: '101' }));
    await out.until((m) => m.filter((x) => x.topic === 'callevents.invite').length >= 5, 5000, 'invites');
    for (const c of calls) sim.answerCall(c.id);
    await out.until((m) => m.filter((x) => x.topic === 'callevents.dlg_start').length >= 5, 5000, 'answers');
    for (const c of calls) sim.hangupCall(c.id);
    await out.until((m) => m.filter((x) => x.topic === 'callevents.dlg_end').length >= 5, 5000, 'ends');
    await sleep(500);
    const seen = out.messages.map((m) => `${String(m.connectionId)} ${String(m.topic)}`).sort();
    const expected = calls.flatMap((c) => ['callevents.dlg_end', 'callevents.dlg_start', 'callevents.invite'].map((t) => `${c.id} ${t}`)).sort();
    assert.deepEqual(seen, expected);
  });

  it('a claim not answered within 2 s: events go out anyway, in order; yellow status and one log line until Redis answers', async () => {
    const proxy = await TcpProxy.start(redis.port);
    const inspect = createClient({ url: redis.url });
    await inspect.connect();
    const name = `t-${randomUUID()}`;
    try {
      await load([server('srv', { redisUrl: `redis://127.0.0.1:${proxy.port}`, clusterName: name }), { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] }, { id: 'out', type: 'helper' }], {
        srv: { token: 'demo-token' },
      });
      const out = new Inbox('out');
      await showing('ev', 'status.clusterOk');
      await eventually(async () => (await ctl.subscriptions()).length === 1, 5000, 'subscribed');
      proxy.hold();
      const order: string[] = [];
      sim.on('event', (e) => e.class === 'callevents' && order.push(e.data.eventid));
      const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
      sim.hangupCall(call.id);
      await sleep(1000);
      assert.equal(out.messages.length, 0, 'waiting for the claims');
      await out.count(6, 5000);
      assert.deepEqual(out.messages.map((m) => m.eventId), order, 'in arrival order');
      await showing('ev', 'status.clusterUnreachable');
      assert.equal(statuses.of('ev').at(-1)?.fill, 'yellow');
      // While unreachable, events go out without a claim: none is even sent.
      const next = sim.startCall({ from: '+79990001123', to: '101' });
      await out.until((m) => m.some((x) => x.connectionId === next.id), 5000, 'an event of the next call');
      proxy.release();
      await showing('ev', 'status.clusterOk');
      const held = await inspect.get(`${name}:${String(out.messages[0]!.eventId)}`);
      const unsent = await inspect.get(`${name}:${String(out.messages.find((m) => m.connectionId === next.id)!.eventId)}`);
      assert.ok(held !== null, 'the held claims reached Redis late');
      assert.equal(unsent, null, 'no claim was sent while Redis was unreachable');
      const warned = helper.log().args.filter((a) => /no answer to a claim within 2 s/.test(String((a[0] as { msg?: unknown } | undefined)?.msg)));
      assert.equal(warned.length, 1, 'said once');
    } finally {
      await inspect.close();
      await proxy.stop();
    }
  });

  it('redeploying era-events while its claims are out (Redis 150 ms away) loses, doubles and reorders nothing', async function () {
    const slow = await TcpProxy.start(redis.port, { delayMs: 150 });
    const credentials = { srv: { token: 'demo-token' } };
    const name = `t-${randomUUID()}`;
    const flow = (label: string): FlowNode[] => [
      server('srv', { redisUrl: `redis://127.0.0.1:${slow.port}`, clusterName: name }),
      { id: 'ev', type: 'era-events', name: label, server: 'srv', events: 'callevents.invite, callevents.dlg_end', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    try {
      await load(flow('first'), credentials);
      const out = new Inbox('out');
      await showing('ev', 'status.clusterOk');
      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'a subscription');
      const calls: string[] = [];
      const traffic = setInterval(() => {
        const call = sim.startCall({ from: `+7999${String(calls.length).padStart(7, '0')}`, to: '101' });
        calls.push(call.id);
        setTimeout(() => sim.hangupCall(call.id), 100);
      }, 60);
      try {
        for (let i = 1; i <= 4; i++) {
          await sleep(500);
          await helper.setFlows(flow(`redeployed ${i}`), 'nodes', credentials);
        }
        await sleep(300);
      } finally {
        clearInterval(traffic);
      }
      await sleep(200);
      await out.until((m) => m.length >= calls.length * 2, 10_000, `${calls.length * 2} messages`);
      await sleep(500);
      for (const id of calls) {
        const mine = out.messages.filter((m) => m.connectionId === id).map((m) => m.topic);
        assert.deepEqual(mine, ['callevents.invite', 'callevents.dlg_end'], `call ${id}`);
      }
      assert.equal(out.messages.length, calls.length * 2);
    } finally {
      await slow.stop();
    }
  });

  it('the Redis password is a credential: refused, it says so without showing it; right, claims work', async () => {
    const secured = await RedisServer.start({ password: 'S3cret-Redis' });
    try {
      const flow = () => [
        server('srv', { redisUrl: secured.url }),
        { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.*', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ];
      await load(flow(), { srv: { token: 'demo-token', redisPassword: 'wrong-one' } });
      await showing('ev', 'status.clusterUnreachable');
      const logged = JSON.stringify(helper.log().args);
      assert.match(logged, /is unreachable \(the password \(or user\) was refused\)/);
      assert.ok(!logged.includes('wrong-one'));
      await helper.unload();
      await load(flow(), { srv: { token: 'demo-token', redisPassword: 'S3cret-Redis' } });
      await showing('ev', 'status.clusterOk');
      assert.ok(!JSON.stringify(helper.log().args).includes('S3cret-Redis'));
      assert.ok(!JSON.stringify(statuses.events).includes('S3cret-Redis'));
    } finally {
      await secured.stop();
    }
  });
});

describe('cluster claims: closing', function () {
  this.timeout(30_000);
  let redis: RedisServer;

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis.stop();
  });

  it('leaves nothing behind: a process whose claims were closed (one Redis there, one not) exits by itself', async () => {
    const inspect = createClient({ url: redis.url });
    await inspect.connect();
    const clients = async () => String(await inspect.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
    const before = await clients();
    const script = path.join(__dirname, 'exit-check.ts');
    const nowhere = `redis://127.0.0.1:${REFUSED_PORT}/0`;
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['-r', 'tsx/cjs', script, redis.url, nowhere], { cwd: path.join(__dirname, '..', '..'), timeout: 15_000 }, (err, out, errOut) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: out, stderr: errOut });
      });
    });
    assert.equal(code, 0, `exit ${code}: ${stdout} ${stderr}`);
    assert.match(stdout, /^closed, events=6, live=ok, dead=unreachable\n$/);
    assert.equal(await clients(), before, 'its Redis connection is closed');
    await inspect.close();
  });
});

describe('cluster claims over TLS (rediss://)', function () {
  this.timeout(30_000);
  const fixtures = path.join(__dirname, '..', 'fixtures', 'tls');
  let redis: RedisServer;

  before(async () => {
    redis = await RedisServer.start({ tls: { cert: path.join(fixtures, 'server-cert.pem'), key: path.join(fixtures, 'server-key.pem') } });
  });

  after(async () => {
    await redis.stop();
  });

  function check(env: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const script = path.join(__dirname, 'tls-check.ts');
      execFile(process.execPath, ['-r', 'tsx/cjs', script, redis.url], { cwd: path.join(__dirname, '..', '..'), timeout: 15_000, env: { ...process.env, ...env } }, (err, out, errOut) => {
        if (err) reject(new Error(`${String(err)}: ${out} ${errOut}`));
        else resolve(out);
      });
    });
  }

  it('claims over TLS with a server certificate the process trusts; an untrusted one is unreachable, saying why', async () => {
    assert.equal(await check({ NODE_EXTRA_CA_CERTS: path.join(fixtures, 'ca.pem') }), 'ok; claim true\n');
    assert.match(await check({}), /^unreachable \(.*certificate.*\); claim true\n$/);
  });
});
