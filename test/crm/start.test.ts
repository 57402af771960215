/**
 * The CRM examples as a user first deploys them — nothing set yet (no token, no environment
 * variable): every node starts, the event nodes connect, nothing is logged as an error, and a
 * call then parks its request saying what to set rather than failing somewhere obscure.
 */
import assert from 'node:assert/strict';
import { startRed, StatusLog, stopRed } from '../support/red';
import { forgetNodeApp } from '../support/http-nodes';
import { simulator, type SimControl, type Simulator } from '../support/sim';
import { errorMatching, eventually, helper, Inbox, loadExample, readExample } from './support';

const EXAMPLES: Array<[file: string, errorsNode: string, needs: RegExp]> = [
  ['14-bitrix24-call-log.json', 'ex14-errors-debug', /^Bitrix24: the application is not installed yet/],
  ['15-amocrm-call-log.json', 'ex15-errors-debug', /^amoCRM: set AMOCRM_URL to your account's address/],
  ['16-service-desk-callbacks.json', 'ex16-errors-debug', /^Zammad: set ZAMMAD_URL .* and ZAMMAD_TOKEN/],
];

describe('CRM examples, deployed before anything is set', function () {
  let sim: Simulator;
  let ctl: SimControl;
  let statuses: StatusLog;

  beforeEach(async function () {
    ({ sim, ctl } = await simulator({ dlgStopDelayMs: 20 }));
    statuses = new StatusLog();
    await startRed();
  });

  afterEach(async function () {
    statuses.stop();
    await stopRed();
    forgetNodeApp();
    await sim.stop();
  });

  for (const [file, errorsNode, needs] of EXAMPLES) {
    it(`${file}: every node starts with nothing logged as an error; a missed call is parked, naming what to set`, async function () {
      await loadExample(file, { simUrl: sim.url, helpers: [errorsNode] });
      const errors = new Inbox(errorsNode);
      const flow = readExample(file);
      for (const node of flow) assert.ok(helper.getNode(node.id), `${node.id} (${node.type}) started`);
      const listeners = flow.filter((n) => n.type === 'era-events' || n.type === 'era-call-log');
      await eventually(() => listeners.every((n) => statuses.has(n.id, 'green', 'dot')), 10000, 'the event nodes to connect');
      const logged = helper
        .log()
        .args.filter((a) => ((a[0] as { level?: number })?.level ?? 99) <= 20)
        .map((a) => (a[0] as { msg?: unknown }).msg);
      assert.deepEqual(logged, []);

      await eventually(async () => (await ctl.subscriptions()).length > 0, 5000, 'the flow subscribed to events');
      const call = await ctl.startCall({ from: '+79123456789', to: '101' });
      await ctl.hangup(call.id, 'cancel');
      await errorMatching(errors, needs);
      assert.ok(errors.messages.every((m) => (m.error as { code?: string }).code === 'CRM_PARKED'));
    });
  }
});
