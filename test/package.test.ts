import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const TYPES = [
  'era-server', 'era-events', 'era-dial', 'era-transfer', 'era-conference', 'era-hold', 'era-dtmf',
  'era-hangup', 'era-answer', 'era-recording', 'era-calls', 'era-request', 'era-call', 'era-wait', 'era-webhook', 'era-call-log', 'era-stats',
];

describe('the published package', function () {
  let files: Set<string>;

  before(function () {
    this.timeout(60000);
    const root = path.join(__dirname, '..');
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    files = new Set(pack.files.map((f) => f.path));
  });

  it('holds every node Node-RED loads, with its editor, help and catalogs in both languages', function () {
    const pkg = require('../package.json') as { 'node-red': { nodes: Record<string, string> } };
    assert.deepEqual(Object.keys(pkg['node-red'].nodes).sort(), [...TYPES].sort());
    for (const type of TYPES) {
      const runtime = pkg['node-red'].nodes[type];
      for (const file of [runtime, runtime.replace(/\.js$/, '.html')]) assert.ok(files.has(file), `${file} is packed`);
      for (const lang of ['en-US', 'ru']) {
        for (const ext of ['json', 'html']) assert.ok(files.has(`dist/nodes/locales/${lang}/${type}.${ext}`), `${lang}/${type}.${ext}`);
      }
    }
  });

  it('holds the shared editor script (without it the whole editor hangs while loading)', function () {
    assert.ok(files.has('resources/era-editor.js'));
  });

  it('holds the compatibility report command (npx era-check)', function () {
    const pkg = require('../package.json') as { bin: Record<string, string> };
    assert.equal(pkg.bin['era-check'], 'bin/era-check.js');
    assert.ok(files.has('bin/era-check.js'));
    assert.ok(files.has('dist/check/cli.js'));
  });

  it('holds the simulator command, the examples and the licence, and no sources or tests', function () {
    assert.ok(files.has('bin/era-simulator.js'));
    assert.ok(files.has('dist/simulator/cli.js'));
    assert.ok(files.has('LICENSE'));
    assert.ok([...files].some((f) => f.startsWith('examples/') && f.endsWith('.json')), 'examples');
    assert.ok(![...files].some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests');
  });
});
