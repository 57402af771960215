/**
 * `npm run validate`: the Flow Library's scorecard (`node-red-dev validate`) on this package,
 * run through node-red-dev's own checks, offline by default.
 *
 * node-red-dev fetches catalogue.nodered.org (checks P08 "similar package names" and N01
 * "node names unique in the catalogue") and the npm registry (P06/P07 against the latest
 * Node-RED, D02 dependency tree, D03 "dependencies at their latest version"). Here:
 *   - catalogue.nodered.org is never asked: P08 and N01 are reported as not checked;
 *   - offline (default): P06/P07 are checked against the Node-RED installed in node_modules
 *     (the version the tests run) instead of the registry's latest; D02 walks the production
 *     dependency tree of package-lock.json instead of asking the registry; D03 is not checked;
 *   - `--online`: P06, P07, D02 and D03 ask the npm registry as node-red-dev does.
 * Every warning or error of a check that ran fails the run (exit 1). The scorecard is written
 * to test/out/scorecard.json.
 */
import fs from 'node:fs';
import path from 'node:path';

type Scorecard = Record<string, unknown>;
interface Cli {
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown): never;
}
type Check = (path: string, cli: Cli, scorecard: Scorecard, npmMetadata: unknown) => Promise<Scorecard>;

const root = path.resolve(__dirname, '..', '..');
const online = process.argv.includes('--online');
const devDir = path.dirname(require.resolve('node-red-dev/package.json', { paths: [root] }));
const lib = (name: string) => require(path.join(devDir, 'src', 'libs', name)) as Check;

const problems: string[] = [];
const notChecked: string[] = [];
const accepted: string[] = [];
let passed = 0;

/** node-red-dev's HTTP client, so its requests can be answered here. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const axios = require(require.resolve('axios', { paths: [devDir] })) as { get(url: string, ...rest: unknown[]): Promise<{ data: unknown }> };
const realGet = axios.get.bind(axios);
const ownPackage = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  engines?: { node?: string };
};
let catalogueAsked = false;
let nodeRedAsked = 0;
axios.get = async (url: string, ...rest: unknown[]) => {
  const host = new URL(url).host;
  if (host === 'catalogue.nodered.org') {
    catalogueAsked = true;
    return { data: { modules: [] } };
  }
  if (!online && host === 'registry.npmjs.org' && new URL(url).pathname === '/node-red') {
    // P06 (first request): the Node-RED the tests run stands for the registry's current ones.
    // P07 (second): the minimum Node.js of the newest Node-RED cannot be known offline.
    const nr = JSON.parse(fs.readFileSync(require.resolve('node-red/package.json', { paths: [root] }), 'utf8')) as { version: string; engines: unknown };
    const engines = ++nodeRedAsked === 1 ? nr.engines : { node: ownPackage.engines?.node ?? '*' };
    return { data: { 'dist-tags': { latest: nr.version }, versions: { [nr.version]: { engines } } } };
  }
  if (!online) throw new Error(`offline: node-red-dev asked ${url}`);
  return realGet(url, ...rest);
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require(require.resolve('semver', { paths: [devDir] })) as {
  satisfies(v: string, r: string): boolean;
  minVersion(r: string): { version: string } | null;
};

/**
 * D03 flags a dependency whose latest major this package does not use. When that major needs
 * a newer Node.js than the package supports (engines.node), it cannot be taken: accepted.
 */
async function acceptedD03(line: string): Promise<string | undefined> {
  const m = /^D03 (\S+) is not at latest version/.exec(line);
  if (!m) return undefined;
  const latest = (await realGet(`https://registry.npmjs.org/${m[1]}/latest`)).data as { version: string; engines?: { node?: string } };
  const ours = semver.minVersion(ownPackage.engines?.node ?? '*')?.version;
  if (ours && latest.engines?.node && !semver.satisfies(ours, latest.engines.node)) {
    return `${m[1]}@${latest.version} needs Node.js ${latest.engines.node}; this package supports Node.js ${ownPackage.engines?.node}`;
  }
  return undefined;
}
const pendingWarnings: Array<Promise<void>> = [];

const text = (msg: unknown) => (msg instanceof Error ? msg.message : String(msg));
const cli: Cli = {
  log(msg) {
    let line = text(msg);
    if (!online && /^✅ Compatible NodeJS Version found/.test(line)) {
      line = '⏭  P07 not checked offline: the minimum Node.js of the newest Node-RED needs the npm registry (npm run validate -- --online)';
      notChecked.push('P07');
    } else if (!online && /^✅ Compatible with Node-RED v/.test(line)) {
      passed++;
      line += ' (offline: the version in node_modules, not the registry\'s)';
    } else if (catalogueAsked && /No similar named packages found|Nodes all have unique names/.test(line)) {
      const code = /similar/.test(line) ? 'P08' : 'N01';
      line = `⏭  ${code} not checked: it needs catalogue.nodered.org, which this machine cannot reach`;
      notChecked.push(code);
      catalogueAsked = false;
    } else if (line.startsWith('✅')) {
      passed++;
    }
    console.log(line);
  },
  warn(msg) {
    const line = text(msg);
    if (/^D03 /.test(line)) {
      // Decided after a registry look-up; the check's own flow does not wait for it.
      pendingWarnings.push(
        acceptedD03(line).then((why) => {
          if (why) {
            accepted.push(`${line} — ${why}`);
            console.log(`⚠️  ${line}\n    accepted, cannot be fixed: ${why}`);
          } else {
            problems.push(`warning: ${line}`);
            console.log(`⚠️  ${line}`);
          }
        }),
      );
      return;
    }
    problems.push(`warning: ${line}`);
    console.log(`⚠️  ${line}`);
  },
  error(msg) {
    problems.push(`error: ${text(msg)}`);
    console.log(`❌ ${text(msg)}`);
    throw msg instanceof Error ? msg : new Error(text(msg));
  },
};

/** D01 and D02 as node-red-dev does them, with the tree from package-lock.json instead of the registry. */
function offlineDeps(scorecard: Scorecard): void {
  cli.log('    ---Validating Dependencies---');
  const count = Object.keys(ownPackage.dependencies ?? {}).length;
  if (count <= 6) cli.log(`✅ Package has ${count} dependencies`);
  else cli.warn(`D01 Package has a large number of dependencies (${count})`);
  scorecard.D01 = { test: count <= 6, total: count };

  const bad = JSON.parse(fs.readFileSync(path.join(devDir, 'src', 'badpackages.json'), 'utf8')) as Record<string, string>;
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean }>;
  };
  const found: string[] = [];
  for (const [where, info] of Object.entries(lock.packages)) {
    if (!where || info.dev || info.devOptional || !info.version) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (bad[name] && semver.satisfies(info.version, bad[name])) found.push(`${name}@${info.version}`);
  }
  for (const f of found) cli.warn(`D02 Incompatible package ${f} found in the dependency tree`);
  if (found.length === 0) cli.log('✅ No incompatible packages found in dependency tree (package-lock.json)');
  scorecard.D02 = found.length ? { test: false, packages: found } : { test: true };

  cli.log('⏭  D03 not checked offline: "dependencies at their latest version" needs the npm registry (npm run validate -- --online)');
  notChecked.push('D03');
}

async function main(): Promise<void> {
  const missing = fs.readdirSync(path.join(root, 'nodes')).filter((f) => f.endsWith('.html') && !fs.existsSync(path.join(root, 'dist', 'nodes', f)));
  if (missing.length) throw new Error(`dist/nodes lacks ${missing.join(', ')}: run npm run build first`);
  // node-red-dev reads the editor file beside each runtime file and says only "Unable to parse".
  const log = console.log;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Unable to parse')) problems.push(`error: ${args.join(' ')}`);
    log(...args);
  };

  const scorecard: Scorecard = {};
  console.log(`node-red-dev validate -p . (${online ? 'online: the npm registry is asked' : 'offline'})`);
  await lib('checkpackage')(root, cli, scorecard, false);
  await lib('checknodes')(root, cli, scorecard, false);
  if (online) await lib('checkdeps')(root, cli, scorecard, false);
  else offlineDeps(scorecard);
  await Promise.all(pendingWarnings);
  if (accepted.length && scorecard.D03) (scorecard.D03 as Record<string, unknown>).accepted = accepted;
  for (const code of notChecked) scorecard[code] = { test: null, notChecked: true };

  const out = path.join(root, 'test', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'scorecard.json'), `${JSON.stringify(scorecard, null, 2)}\n`);
  console.log = log;
}

main()
  .catch((err: unknown) => {
    if (!problems.some((p) => p.includes(text(err)))) problems.push(`error: ${text(err)}`);
  })
  .finally(() => {
    console.log('');
    if (problems.length) for (const p of problems) console.log(`  - ${p}`);
    if (accepted.length) console.log(`accepted (cannot be fixed): ${accepted.length}`);
    if (notChecked.length) console.log(`not checked here: ${notChecked.join(', ')}`);
    console.log(`scorecard: ${passed} passed, ${problems.length} failed`);
    // node-red-dev holds stdin open (a readline it never uses): leave explicitly.
    process.exit(problems.length ? 1 : 0);
  });
