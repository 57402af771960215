import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { actions } from './scenarios/actions';
import { eraEvents } from './scenarios/events';
import { noSecretsShown } from './scenarios/secrets';
import { webhookDeliveries } from './scenarios/webhook';
import { Case } from './support/case';
import { ID } from './support/flow';

const CREDENTIAL_SECRET = 'e2e credential secret ключ';

describe('Node-RED with credentialSecret, restarted on the same user directory', function () {
  const c = new Case({ name: 'credential-secret', settings: { credentialSecret: CREDENTIAL_SECRET }, secrets: { 'credentialSecret': CREDENTIAL_SECRET } });

  before(async function () {
    this.timeout(180_000);
    await c.start();
  });

  after(async function () {
    this.timeout(30_000);
    await c.stop();
  });

  eraEvents(c);

  describe('the restart', function () {
    it('keeps the credentials encrypted in flows_cred.json', function () {
      const stored = JSON.parse(fs.readFileSync(path.join(c.red.userDir, 'flows_cred.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(stored), ['$']);
    });

    it('after a stop and a start, with no deploy, decrypts the credentials, logs in and connects again', async function () {
      this.timeout(60_000);
      await c.ctl.clearRequests();
      await c.restart();
      await c.comms.until(ID.events, (s) => s.fill === 'green', 'green');
      const logins = (await c.ctl.requests()).filter((r) => r.kind === 'rest' && r.path === '/rest/v1/iam/sessions');
      assert.ok(
        logins.some((r) => r.status === 200 && (r.body as { login?: string }).login === c.platform.login),
        `a login with the stored login name succeeded: ${JSON.stringify(logins.map((r) => r.status))}`,
      );
      assert.doesNotMatch(c.red.output, /Error loading credentials|Error decrypting/i);
    });
  });

  describe('after the restart', function () {
    eraEvents(c);
    actions(c);
    webhookDeliveries(c);
    noSecretsShown(c);
  });
});
