import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { main, parseArgs } from '../../src/simulator/cli';
import { LOGIN, openReady, TOKEN_WS_PATH, useSimulators, wsUrl } from './helpers';

const ROOT = join(__dirname, '..', '..');

describe('simulator: command line', () => {
  it('parses its arguments', () => {
    assert.deepEqual(parseArgs([]), { help: false, options: { port: 8088 } });
    assert.deepEqual(parseArgs(['--port', '0', '--host=0.0.0.0', '--traffic', '--envelope', 'flat']), {
      help: false,
      options: { port: 0, host: '0.0.0.0', traffic: true, envelope: 'flat' },
    });
    assert.deepEqual(parseArgs(['--help']), { help: true });
    assert.throws(() => parseArgs(['--port', 'x']), /--port/);
    assert.throws(() => parseArgs(['--envelope', 'xml']), /--envelope/);
    assert.throws(() => parseArgs(['--bogus']), /unknown/);
    assert.throws(() => parseArgs(['--port']), /needs a value/);
  });

  it('--strict / --lenient choose the mode; one of them at most; without either the option default holds', async () => {
    assert.deepEqual(parseArgs(['--strict']), { help: false, options: { port: 8088, strict: true } });
    assert.deepEqual(parseArgs(['--lenient']), { help: false, options: { port: 8088, strict: false } });
    assert.equal('strict' in (parseArgs([]) as { options: object }).options, false);
    assert.throws(() => parseArgs(['--strict', '--lenient']), /not both/);
    assert.throws(() => parseArgs(['--lenient', '--strict']), /not both/);
    assert.throws(() => parseArgs(['--strict=false']), /takes no value/);

    let help = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array): boolean => {
      help += chunk.toString();
      return true;
    }) as typeof process.stdout.write;
    try {
      await main(['--help']);
    } finally {
      process.stdout.write = write;
    }
    assert.match(help, /--strict\b.*\n.*\(default\)/, 'strict is the default');
    assert.doesNotMatch(help, /--lenient\b.*\n.*\(default\)/, 'lenient is opt-in');
  });

  it('prints its URL and the demo credentials, serves, and stops cleanly on SIGTERM', async function () {
    this.timeout(15_000);
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', join(ROOT, 'src/simulator/cli.ts'), '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 10_000;
      while (!/listening on (http:\/\/\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url, `no URL in: ${out}`);
      for (const word of ['demo.local', 'operator', 'demo-token']) assert.ok(out.includes(word), word);
      assert.match(out, /^ {2}mode {6}strict\b/m, 'strict unless --lenient');
      const res = await request(`${url}/rest/v1/iam/sessions`, { method: 'POST', body: JSON.stringify(LOGIN), headers: { 'content-type': 'application/json' }, reset: true });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.match(out, /stopped/);
  });
});

describe('simulator: TLS', () => {
  const start = useSimulators();
  const key = readFileSync(join(__dirname, 'fixtures', 'key.pem'));
  const cert = readFileSync(join(__dirname, 'fixtures', 'cert.pem'));

  it('serves https and wss with the given certificate, trusted through a custom CA', async () => {
    const sim = await start({ tls: { key, cert } });
    assert.match(sim.url, /^https:\/\//);
    await assert.rejects(request(`${sim.url}/rest/v1/uc/calls`), /self.signed|certificate/i);
    const trusting = new Agent({ connect: { ca: cert } });
    const res = await request(`${sim.url}/rest/v1/uc/calls`, { method: 'GET', dispatcher: trusting, headers: { authorization: 'Bearer demo-token' } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const custom = await request(`${sim.url}/rest/v1/uc/calls/nope`, { method: 'REFER', dispatcher: trusting, headers: { authorization: 'Bearer demo-token' }, body: '{"to":"1"}' });
    assert.equal(custom.statusCode, 404);
    await custom.body.dump();
    await trusting.close();

    assert.match(wsUrl(sim, TOKEN_WS_PATH), /^wss:\/\//);
    const ws = await openReady(sim, TOKEN_WS_PATH, { ws: { ca: cert } });
    ws.ws.send('["connection_info",{"qid":1}]');
    await ws.next((f) => f[0] === 'connection_info_result');
    assert.match(ws.raw.at(-1) ?? '', /^\["connection_info_result",\{"qid":1,"result":"ok"/);
  });
});
