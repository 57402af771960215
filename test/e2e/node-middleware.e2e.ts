import { actions } from './scenarios/actions';
import { eraEvents } from './scenarios/events';
import { noSecretsShown } from './scenarios/secrets';
import { registeredDeliveries, webhookDeliveries } from './scenarios/webhook';
import { Case } from './support/case';
import { Code, expressParser } from './support/settings';

/** Marks what it let through, and refuses what a client asks it to: shows a route is behind it. */
const GATE = new Code(`function e2eGate(req, res, next) {
    if (req.headers['x-e2e-gate'] === 'closed') return res.status(403).send('closed by httpNodeMiddleware');
    res.setHeader('X-E2E-Middleware', 'seen');
    next();
}`);

describe("Node-RED with a body-reading httpNodeMiddleware (express's json and text parsers, and a gate)", function () {
  const c = new Case({
    name: 'node-middleware',
    register: true,
    settings: { httpNodeMiddleware: [expressParser('json'), expressParser('text'), GATE] },
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
  webhookDeliveries(c, { middleware: true });
  registeredDeliveries(c);
  noSecretsShown(c);
});
