/**
 * Corporate proxies (HTTP_PROXY / HTTPS_PROXY / NO_PROXY), with a real CONNECT proxy in the
 * test: REST and the WebSocket both go through it, over http and https.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { EraClient, EraClientOptions } from '../../src/era';
import type { EraError } from '../../src/era/errors';
import { tlsStep } from '../../src/check/tls';
import { Collector, TEST_CA, newLog, sim, startCall, subscribed, tokenClient, userClient, waitForState, type Simulator } from './helpers';

/** A forward proxy that only tunnels (CONNECT), as corporate proxies do for https. */
class ConnectProxy {
  readonly tunnels: string[] = [];
  readonly authorizations: Array<string | undefined> = [];
  private readonly server = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly refuse?: number) {
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      this.authorizations.push(req.headers['proxy-authorization']);
      if (this.refuse !== undefined) {
        client.end(`HTTP/1.1 ${this.refuse} ${http.STATUS_CODES[this.refuse]}\r\n\r\n`);
        return;
      }
      this.tunnels.push(String(req.url));
      const [host, port] = String(req.url).split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${this.port}`;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** Builds a client with these proxy variables in the environment; the client decides at construction. */
function withProxyEnv(env: Record<string, string>, make: () => EraClient): EraClient {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return make();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('client: through a proxy', function () {
  let s: Simulator;
  let proxy: ConnectProxy;
  const clients: EraClient[] = [];
  const track = (c: EraClient) => (clients.push(c), c);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy.stop();
    await s.stop();
  });

  async function listeningThrough(env: (proxyUrl: string) => Record<string, string>, extra: Partial<EraClientOptions> = {}) {
    const proxyUrl = await proxy.start();
    const c = track(withProxyEnv(env(proxyUrl), () => userClient(s.url, extra)));
    const got = new Collector();
    c.listen({ events: ['callevents.invite'] }, got.push);
    return { c, got };
  }

  it('sends REST and the WebSocket through an HTTP_PROXY that only does CONNECT, with its credentials', async () => {
    s = await sim();
    proxy = new ConnectProxy();
    const { c, got } = await listeningThrough((p) => ({ HTTP_PROXY: p.replace('http://', 'http://corp%20user:s3cr%40t@') }));
    await waitForState(c, 'connected');
    await subscribed(s);
    const call = await startCall(s);
    await got.waitFor('an event through the tunnel', (e) => e.connectionId === call.id);
    assert.equal((await c.command({ op: 'list' })).statusCode, 200);
    const target = new URL(s.url).host;
    assert.ok(proxy.tunnels.length >= 2, `REST and WebSocket tunnels: ${proxy.tunnels.join(', ')}`);
    assert.ok(proxy.tunnels.every((t) => t === target));
    const basic = `Basic ${Buffer.from('corp user:s3cr@t').toString('base64')}`;
    assert.ok(proxy.authorizations.every((a) => a === basic), 'the proxy credentials went on every tunnel');
  });

  it('goes through HTTPS_PROXY to an https platform, checking its certificate against the private CA', async () => {
    const dir = path.join(__dirname, '..', 'fixtures', 'tls');
    s = await sim({ tls: { key: fs.readFileSync(path.join(dir, 'server-key.pem')), cert: fs.readFileSync(path.join(dir, 'server-cert.pem')) } });
    proxy = new ConnectProxy();
    const { c, got } = await listeningThrough((p) => ({ HTTPS_PROXY: p }), { ca: TEST_CA });
    await waitForState(c, 'connected');
    await subscribed(s);
    const call = await startCall(s);
    await got.waitFor('an event over wss through the tunnel', (e) => e.connectionId === call.id);
    assert.ok(proxy.tunnels.length >= 2);
  });

  it('the compatibility report\'s TLS step goes through the proxy too, as the client does', async () => {
    const dir = path.join(__dirname, '..', 'fixtures', 'tls');
    s = await sim({ tls: { key: fs.readFileSync(path.join(dir, 'server-key.pem')), cert: fs.readFileSync(path.join(dir, 'server-cert.pem')) } });
    proxy = new ConnectProxy();
    const proxyUrl = await proxy.start();
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = proxyUrl;
    try {
      const step = await tlsStep(new URL(s.url), { ca: TEST_CA, verifyTls: true }, 3000);
      assert.equal(step.status, 'pass', step.summary);
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
    assert.deepEqual(proxy.tunnels, [new URL(s.url).host]);
  });

  it('goes direct to a host NO_PROXY names', async () => {
    s = await sim();
    proxy = new ConnectProxy();
    const { c, got } = await listeningThrough((p) => ({ HTTP_PROXY: p, NO_PROXY: 'example.org, 127.0.0.1' }));
    await waitForState(c, 'connected');
    await subscribed(s);
    const call = await startCall(s);
    await got.waitFor('an event, directly', (e) => e.connectionId === call.id);
    assert.deepEqual(proxy.tunnels, []);
  });

  it('a proxy that refuses: a clear reason on REST and on the socket, never the proxy\'s password', async () => {
    s = await sim();
    proxy = new ConnectProxy(407);
    const log = newLog();
    const { c } = await listeningThrough((p) => ({ HTTP_PROXY: p.replace('http://', 'http://user:hunter22@') }), { logger: { debug: (m) => log.debug.push(m), warn: (m) => log.warn.push(m) } });
    const detail = await waitForState(c, 'disconnected');
    assert.match(String(detail), /the proxy refused a tunnel to the platform \(HTTP 407\)$/, 'the REST login met the proxy first');
    const token = track(withProxyEnv({ HTTP_PROXY: `http://user:hunter22@127.0.0.1:${proxy.port}` }, () => tokenClient(s.url)));
    token.listen({ events: ['callevents.*'] }, () => undefined);
    const tunnelDetail = await waitForState(token, 'disconnected');
    assert.match(String(tunnelDetail), /^the proxy http:\/\/127\.0\.0\.1:\d+ refused a tunnel to 127\.0\.0\.1:\d+ \(HTTP 407 Proxy Authentication Required\)$/);
    await assert.rejects(c.command({ op: 'list' }), (err: EraError) => {
      assert.equal(err.code, 'ERA_NOT_CONNECTED');
      assert.match(err.message, /the proxy refused a tunnel to the platform \(HTTP 407\)/);
      assert.ok(!err.message.includes('hunter22'));
      return true;
    });
    assert.ok(![...log.debug, ...log.warn, String(detail), String(tunnelDetail)].some((line) => line.includes('hunter22')));
  });

  it('refuses a proxy variable that is not a URL, naming it', async () => {
    s = await sim();
    proxy = new ConnectProxy();
    assert.throws(() => withProxyEnv({ HTTP_PROXY: 'http://exa mple:80' }, () => userClient(s.url)), (err: EraError) => {
      assert.equal(err.code, 'ERA_INVALID_INPUT');
      assert.equal(err.message, 'The environment variable HTTP_PROXY is not a proxy URL (expected http://host:port)');
      return true;
    });
    assert.throws(() => withProxyEnv({ HTTP_PROXY: 'socks5://127.0.0.1:1080' }, () => userClient(s.url)), /only http:\/\/ and https:\/\/ proxies are supported/);
  });
});
