/**
 * Node-RED stopped in the middle of a busy flow (events flowing, 100 actions in flight
 * against a platform that never answers them, waits pending, era-calls polling): the flow
 * closes within 5 s and leaves nothing behind — no connection to the platform, no
 * subscription, no listener, no timer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { EraClient } from '../../src/era';
import { EraError } from '../../src/era/errors';
import { eventually, helper, load, serverNode, startRed, stopRed } from '../support/red';
import { simulator, type Simulator } from '../support/sim';
import { busyFlow, startBusy } from './close-flow';
import { CountingRelay } from './helpers';

describe('faults: Node-RED stopped in the middle of a busy flow', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let relay: CountingRelay;

  beforeEach(async function () {
    ({ sim } = await simulator({ dlgStopDelayMs: 0 }));
    relay = new CountingRelay(sim.port);
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await relay.stop();
    await sim.stop();
  });

  it('closes within 5 s and leaves no connection, subscription or listener', async function () {
    await load(busyFlow({ ...serverNode(sim), url: await relay.start() }));
    const busy = await startBusy(sim);
    const client = (helper.getNode('srv') as unknown as { client: EraClient }).client;
    assert.ok(relay.connections > 1, `the socket and the REST pool go through the relay (${relay.connections})`);

    const started = Date.now();
    await helper.unload();
    const took = Date.now() - started;
    busy.stop();
    assert.ok(took < 5000, `unload took ${took} ms`);

    await eventually(() => relay.connections === 0, 1000, `no connection left (${relay.connections} open)`);
    assert.deepEqual(sim.subscriptions(), [], 'no subscription left at the platform');
    assert.equal(client.listenerCount('state'), 0, 'no state listener left on the client');
    assert.throws(() => client.listen({ events: ['callevents.*'] }, () => undefined), (err: unknown) => err instanceof EraError && err.code === 'ERA_NOT_CONNECTED');
  });

  it('leaves no timer or socket: a process that stops such a flow exits by itself', async function () {
    const root = path.join(__dirname, '..', '..');
    const script = path.join(__dirname, 'close-child.ts');
    const { code, stdout, stderr } = await new Promise<{ code: number | string | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['-r', 'tsx/cjs', script], { cwd: root, timeout: 20_000 }, (err, out, errOut) => {
        resolve({ code: err ? ((err as { code?: number | string }).code ?? null) : 0, stdout: out, stderr: errOut });
      });
    });
    assert.equal(code, 0, `exit ${String(code)}: ${stdout} ${stderr}`);
    const events = Number(/^stopped, events=(\d+)\n$/.exec(stdout)?.[1]);
    assert.ok(events > 20, `events were flowing when it stopped: ${stdout}`);
  });
});
