import { actions } from './scenarios/actions';
import { dialogButtons, eraCheckCommand } from './scenarios/dialog';
import { eraEvents, redeployMidCall } from './scenarios/events';
import { noSecretsShown } from './scenarios/secrets';
import { registeredDeliveries, registrationAcrossRestart, webhookDeliveries } from './scenarios/webhook';
import { Case } from './support/case';

describe('Node-RED with its own settings.js (editor and HTTP nodes on /)', function () {
  const c = new Case({ name: 'default', register: true });

  before(async function () {
    this.timeout(180_000);
    await c.start();
  });

  after(async function () {
    this.timeout(30_000);
    await c.stop();
  });

  eraEvents(c);
  actions(c);
  dialogButtons(c);
  eraCheckCommand(c);
  webhookDeliveries(c);
  registeredDeliveries(c);
  redeployMidCall(c);
  registrationAcrossRestart(c);
  noSecretsShown(c);
});
