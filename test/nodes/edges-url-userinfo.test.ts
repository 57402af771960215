/**
 * A user name and password typed into a URL never show: not in a status, a log line, an error
 * a Catch node gets, the answers of Test connection and Check installation, nor in era-check's
 * report (text and --json). The URL is refused for it, or for whatever else is wrong with it,
 * and the message shows it without its user information.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { log as runtimeLog } from '@node-red/util';
import { clusterSettings } from '../../src/cluster/settings';
import { EraClient } from '../../src/era';
import { EraError, shownUrl } from '../../src/era/errors';
import { assertBuilt, runCheck } from '../check/helpers';
import { errorOf } from '../support/flows';
import { eventually, helper, Inbox, load, serverNode, startRed, StatusLog, stopRed } from '../support/red';
import { simulator, type SimControl, type Simulator } from '../support/sim';

/** URLs as a person might paste them, and what of each must never show. */
const CASES = [
  { url: 'https://alice:Hunter2pw@era.example.ru /x', hidden: ['alice', 'Hunter2pw'], why: 'user information and a space' },
  { url: 'bob:Sw0rdfish@era.example.ru', hidden: ['bob:', 'Sw0rdfish'], why: 'user information and no scheme' },
  { url: 'https://u:p@host/path', hidden: ['u:p', '//u:'], why: 'user information and a path' },
  { url: 'https://carol:Pa ss\nword@era.example.ru', hidden: ['carol', 'Pa ss', 'word@'], why: 'a password with a space and a line break' },
  { url: 'https://dave:pa/ss@era.example.ru', hidden: ['dave', 'pa/ss'], why: 'a password with a slash (the parser takes "dave" for the host)' },
] as const;

function assertHidden(text: string, hidden: readonly string[], where: string): void {
  for (const h of hidden) assert.ok(!text.includes(h), `${where} shows ${JSON.stringify(h)}: ${text}`);
}

describe('a URL\'s user information never shows', function () {
  this.timeout(60_000);

  it('shownUrl: quoted, user information replaced, clipped, control characters escaped', () => {
    assert.equal(shownUrl('https://u:p@host/path'), '"https://…@host/path"');
    assert.equal(shownUrl('bob:Sw0rdfish@era.example.ru'), '"…@era.example.ru"');
    assert.equal(shownUrl(' HTTPS://a:b@c@host'), '" HTTPS://…@host"', 'up to the last @');
    assert.equal(shownUrl('https://era.example.ru\n'), '"https://era.example.ru\\n"');
    assert.equal(shownUrl(`https://${'x'.repeat(100)}.ru`).length, 62, 'clipped');
    assert.equal(shownUrl(42), '42');
  });

  for (const { url, hidden, why } of CASES) {
    it(`the client refuses a URL with ${why}, without showing it`, () => {
      assert.throws(
        () => new EraClient({ url, domain: 'demo.local', login: 'operator', password: 'operator' }),
        (err: unknown) => {
          assert.ok(err instanceof EraError && err.code === 'ERA_INVALID_INPUT');
          assertHidden(err.message, hidden, 'the error');
          assert.match(err.message, /^The server URL /);
          return true;
        },
      );
    });
  }

  it('the cluster\'s redisUrl, with a password and no scheme: refused without showing it', () => {
    for (const redisUrl of ['ops:Hunter2@redis:6379', 'redis://ops:Hunter2@re dis', 'redis://ops@redis/zero']) {
      assert.throws(
        () => clusterSettings({ cluster: 'redis', redisUrl, clusterName: '', redisPassword: undefined, defaultName: 'd' }),
        (err: unknown) => err instanceof EraError && !err.message.includes('Hunter2') && !err.message.includes('ops'),
      );
    }
  });

  describe('in a flow, the dialog\'s buttons and era-check', () => {
    let sim: Simulator;
    let ctl: SimControl;
    const records: unknown[] = [];
    const handler = new EventEmitter().on('log', (record: unknown) => records.push(record));

    before(assertBuilt);

    beforeEach(async () => {
      ({ sim, ctl } = await simulator());
      await startRed();
      records.length = 0;
      runtimeLog.addHandler(handler);
    });

    afterEach(async () => {
      runtimeLog.removeHandler(handler);
      await stopRed();
      await sim.stop();
    });

    for (const { url, hidden, why } of CASES) {
      it(`a server URL with ${why}: statuses, logs, errors, Test connection, Check installation`, async () => {
        const statuses = new StatusLog();
        try {
          await load([
            { id: 'tab', type: 'tab' },
            serverNode(sim, { id: 'bad', url }),
            serverNode(sim),
            { id: 'hangup', z: 'tab', type: 'era-hangup', server: 'bad', wires: [['out']] },
            { id: 'ev', z: 'tab', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
            { id: 'out', z: 'tab', type: 'helper' },
            { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['caught']] },
            { id: 'caught', z: 'tab', type: 'helper' },
          ], { bad: { login: 'operator', password: 'operator' }, srv: { login: 'operator', password: 'operator' } });
          const caught = new Inbox('caught');
          const out = new Inbox('out');
          helper.getNode('hangup').receive({ connectionId: 'c1' });
          await caught.count(1);
          const err = errorOf(caught.messages[0]!);
          assert.equal(err.code, 'ERA_INVALID_INPUT');
          assert.match(String(err.message), /The server URL/);
          await eventually(() => statuses.of('hangup').length > 0, 5000, 'a status on the node');

          const dialog = { id: 'bad', url, domain: 'demo.local', authMode: 'user', verifyTls: true, ca: '', tls: '', credentials: { login: 'operator', password: 'operator' } };
          const tested = await helper.request().post('/era-server/test').send(dialog);
          assert.equal((tested.body as { ok: boolean }).ok, false);
          const checked = await helper.request().post('/era-server/check').send(dialog);
          const report = (checked.body as { report: { steps: Array<{ name: string; status: string; summary: string }> } }).report;
          assert.deepEqual([report.steps[0]!.name, report.steps[0]!.status], ['config', 'fail']);
          assert.match(report.steps[0]!.summary, /The server URL/);

          for (const [where, seen] of Object.entries({ statuses: statuses.events, logs: records, error: err, test: tested.body, check: checked.body })) {
            assertHidden(JSON.stringify(seen), hidden, where);
          }
          // The other server beside it works: its flow goes on.
          await eventually(async () => (await ctl.subscriptions()).length > 0, 10_000, 'the good server subscribed');
          const call = await ctl.startCall();
          await out.until((m) => m.some((msg) => msg.connectionId === call.connectionid), 5000, 'an event through the good server');
        } finally {
          statuses.stop();
        }
      });

      it(`era-check --url with ${why}: the text and the JSON report`, async () => {
        for (const json of [false, true]) {
          const run = await runCheck(['--url', url, '--domain', 'demo.local', '--login', 'operator', '--password-env', 'ERA_PASSWORD', '--listen', '1', ...(json ? ['--json'] : [])], { ERA_PASSWORD: 'operator' });
          assert.equal(run.code, 1, run.stdout + run.stderr);
          assert.match(run.stdout, /config/);
          assertHidden(run.stdout + run.stderr, hidden, json ? 'era-check --json' : 'era-check');
        }
      });
    }
  });
});
