/**
 * The package as a user gets it: packed once per run (`npm pack`, what `npm publish` would
 * upload), then installed into each fresh user directory the way Node-RED's palette manager
 * installs a module (`npm install <tarball>` with the flags of @node-red/registry's
 * installer), so the user directory gets the runtime dependencies from the registry.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freshDir, ROOT } from './work';

const run = promisify(execFile);

/** @node-red/registry/lib/installer.js, plus --prefer-offline: the npm cache serves what it holds. */
const INSTALLER_FLAGS = ['--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict', '--prefer-offline'];

const PACKAGE_NAME = '@era-cti/node-red-era';

let tarball: Promise<string> | undefined;

async function pack(): Promise<string> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes', 'era-server.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does)');
  const dir = freshDir('pack');
  // The scripts would build again: the caller has just built.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
  const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
  return path.join(dir, info!.filename);
}

/** The tarball of this checkout, packed on the first call of the run. */
export function packedOnce(): Promise<string> {
  tarball ??= pack();
  return tarball;
}

/** A new user directory with the package installed from the tarball, as the palette manager leaves it. */
export async function installedUserDir(name: string): Promise<string> {
  const userDir = freshDir(name);
  // What Node-RED writes into a new user directory; without it npm would install into the first package.json above.
  fs.writeFileSync(
    path.join(userDir, 'package.json'),
    JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 4),
  );
  await run('npm', ['install', ...INSTALLER_FLAGS, '--', await packedOnce()], { cwd: userDir });
  return userDir;
}

/** A file of the package as installed in a user directory. */
export function installedFile(userDir: string, ...parts: string[]): string {
  return path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'), ...parts);
}
