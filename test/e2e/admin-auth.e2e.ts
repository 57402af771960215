import { actions } from './scenarios/actions';
import { dialogButtons } from './scenarios/dialog';
import { eraEvents } from './scenarios/events';
import { noSecretsShown } from './scenarios/secrets';
import { webhookDeliveries } from './scenarios/webhook';
import { Case } from './support/case';
import { hashPassword } from './support/settings';

const ADMIN = { username: 'admin', password: 'e2e admin пароль' };
const READER = { username: 'reader', password: 'e2e reader пароль' };

describe('Node-RED with adminAuth (the editor and its API need a login)', function () {
  const c = new Case({
    name: 'admin-auth',
    admin: ADMIN,
    settings: {
      adminAuth: {
        type: 'credentials',
        users: [
          { username: ADMIN.username, password: hashPassword(ADMIN.password), permissions: '*' },
          { username: READER.username, password: hashPassword(READER.password), permissions: 'read' },
        ],
      },
    },
    secrets: { "the admin's password": ADMIN.password, "the reader's password": READER.password },
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
  dialogButtons(c, { reader: READER, check: true });
  actions(c);
  webhookDeliveries(c);
  noSecretsShown(c);
});
