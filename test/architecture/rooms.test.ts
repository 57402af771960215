/**
 * The client's rooms (docs/ARCHITECTURE.md): imports run one way, from the facade down to the
 * wire shapes, and everything outside the client comes in by its one door, src/era/index.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const ERA = path.join(SRC, 'era');

/** A room's height: a file may import its own room and lower ones, never a higher one. */
const HEIGHT: Array<[RegExp, number]> = [
  [/^(util\/[^/]+|types|errors)$/, 0],
  [/^protocol\/[^/]+$/, 1],
  [/^(connection|calls)\/[^/]+$/, 2],
  [/^(events|commands)\/[^/]+$/, 3],
  [/^(client|api)$/, 4],
  [/^index$/, 5],
];

function height(module: string): number {
  const found = HEIGHT.find(([pattern]) => pattern.test(module));
  if (found === undefined) throw new Error(`src/era/${module}.ts is in no room: add its folder to the test's HEIGHT`);
  return found[1];
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative module specifiers of a file's static and dynamic imports and re-exports. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'([^']+)'/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/(?:import|require)\(\s*'([^']+)'\s*\)/g)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith('.'));
}

function eraModule(file: string): string {
  return path.relative(ERA, file).replace(/\.ts$/, '').split(path.sep).join('/');
}

describe('architecture: the client\'s rooms', () => {
  it('every import inside src/era points to the same room or a lower one', () => {
    const upward: string[] = [];
    for (const file of tsFiles(ERA)) {
      const from = eraModule(file);
      for (const spec of imports(file)) {
        const target = path.resolve(path.dirname(file), spec);
        const to = eraModule(target);
        if (to.startsWith('..')) {
          upward.push(`${from} imports ${spec}, outside the client`);
        } else if (height(to) > height(from)) {
          upward.push(`${from} imports ${to}`);
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  it('nodes, era-check, the cluster and the demo come in by src/era/index.ts only', () => {
    const sideDoors: string[] = [];
    for (const room of ['nodes', 'check', 'cluster', 'demo']) {
      for (const file of tsFiles(path.join(SRC, room))) {
        for (const spec of imports(file)) {
          const target = path.resolve(path.dirname(file), spec);
          if (path.relative(ERA, target).startsWith('..')) continue;
          if (target !== ERA && target !== path.join(ERA, 'index')) sideDoors.push(`${path.relative(SRC, file)} imports ${spec}`);
        }
      }
    }
    assert.deepEqual(sideDoors, []);
  });

  it('each folder of the client opens with a comment saying its job', () => {
    const silent = fs.readdirSync(ERA, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .filter((e) => !fs.existsSync(path.join(ERA, e.name, 'README.md')))
      .map((e) => e.name);
    assert.deepEqual(silent, []);
  });
});
