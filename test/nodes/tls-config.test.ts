import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, Inbox, load, serverNode, startRed, stopRed, StatusLog, USER_CREDENTIALS, type FlowNode } from '../support/red';
import { startSimulator, type Simulator } from '../support/sim';

const dir = path.join(__dirname, '..', 'fixtures', 'tls');
const pem = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

describe('era-server with a core tls-config node (client certificate)', function () {
  // The control API shares the port that demands a client certificate: the tests use the simulator's own API.
  let sim: Simulator;

  beforeEach(async function () {
    sim = await startSimulator({ port: 0, tls: { key: pem('server-key.pem'), cert: pem('server-cert.pem'), clientCa: pem('client-ca.pem') } });
    await startRed();
  });

  afterEach(async function () {
    await stopRed();
    await sim.stop();
  });

  const flow = (tls: string | undefined): FlowNode[] => [
    { id: 'tlsnode', type: 'tls-config', name: 'client cert', cert: '', key: '', ca: '', certname: 'client-cert.pem', keyname: 'client-key.pem', caname: 'ca.pem', servername: '', verifyservercert: true },
    serverNode(sim, { ca: pem('ca.pem'), ...(tls !== undefined && { tls }) }),
    { id: 'ev', type: 'era-events', server: 'srv', events: 'callevents.invite', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
  const credentials = { ...USER_CREDENTIALS, tlsnode: { certdata: pem('client-cert.pem'), keydata: pem('client-key.pem'), cadata: pem('ca.pem') } };

  it('presents the tls-config node\'s certificate, and events flow over wss', async function () {
    await load(flow('tlsnode'), credentials);
    const out = new Inbox('out');
    await eventually(() => sim.subscriptions().length > 0, 8000, 'a subscription over wss with a client certificate');
    const call = sim.startCall({ from: '+79990001122', to: '101' });
    await out.until((m) => m.some((x) => x.connectionId === call.connectionid), 5000, 'the invite');
  });

  it('without it, the platform that demands a certificate is unreachable, and the status says so', async function () {
    const statuses = new StatusLog();
    try {
      await load(flow(undefined), credentials);
      await eventually(() => statuses.of('ev').some((s) => s.fill === 'red' && s.shape === 'ring'), 8000, 'disconnected on era-events');
      assert.equal(sim.subscriptions().length, 0);
    } finally {
      statuses.stop();
    }
  });

  it('a tls property naming a node that does not exist is a configuration error, not a crash', async function () {
    const statuses = new StatusLog();
    try {
      await load(flow('nosuchnode').filter((n) => n.id !== 'tlsnode'), USER_CREDENTIALS);
      await eventually(() => statuses.of('ev').some((s) => s.fill === 'red' && s.shape === 'dot' && /TLS configuration/.test(String(s.text))), 5000, 'a red dot naming the TLS configuration');
    } finally {
      statuses.stop();
    }
  });
});
