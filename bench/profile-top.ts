/**
 * Summarises a CPU profile written with BENCH_PROFILE=1: self time by function and by
 * module, over the samples after the first `--skip-ms` (default: the whole profile).
 *   node --require tsx/cjs bench/profile-top.ts bench/out/profiles/events-era-plain.cpuprofile [--skip-ms 3000] [--top 30]
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** node_modules/<package> or the repository-relative path, so that costs group by owner. */
function moduleOf(url: string): string {
  if (!url) return '(native / runtime)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (file.startsWith('node:')) return file;
  return path.relative(path.resolve(__dirname, '..'), file);
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [--skip-ms N] [--top N]');
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const skipUs = option('--skip-ms', 0) * 1000;
  const top = option('--top', 30);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByFn = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  let t = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < skipUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    const mod = moduleOf(url);
    const fn = `${functionName || '(anonymous)'} ${mod}:${lineNumber + 1}`;
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + dt);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + dt);
    total += dt;
  }
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
    }
  };
  console.log(`${(total / 1000).toFixed(0)} ms of busy samples`);
  print('self time by module', selfByModule);
  print('self time by function', selfByFn);
}

main();
