import { actions } from './scenarios/actions';
import { eraEvents } from './scenarios/events';
import { noSecretsShown } from './scenarios/secrets';
import { registeredDeliveries, webhookDeliveries } from './scenarios/webhook';
import { Case } from './support/case';
import { hashPassword } from './support/settings';

// Reserved characters and a percent sign that reads as an escape: the registered URL must keep them as they are.
const BASIC = { user: 'flows', pass: 'e2e-basic:pass%41/@?#' };

describe("Node-RED with httpNodeRoot '/api' and httpNodeAuth (HTTP nodes apart from the editor, behind basic auth)", function () {
  const c = new Case({
    name: 'http-node-root',
    settings: { httpNodeRoot: '/api', httpNodeAuth: { user: BASIC.user, pass: hashPassword(BASIC.pass) } },
    access: { root: '/api', auth: BASIC },
    secrets: { 'the basic auth password': BASIC.pass },
    // Registered as https://flows:<password>@…: the simulator sends them as Basic authentication.
    register: true,
  });

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
  webhookDeliveries(c, { basicAuth: true });
  registeredDeliveries(c);
  noSecretsShown(c);
});
