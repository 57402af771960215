/**
 * What one run of the suite leaves on the machine: a temporary directory for the tarball and
 * every user directory, and the processes it starts. All of it goes when the run ends, also
 * when it ends early (a failed hook, Ctrl+C, mocha's --exit).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

let work: string | undefined;
const children = new Set<ChildProcess>();

/** The run's temporary directory, made on first use. */
export function workDir(): string {
  work ??= fs.mkdtempSync(path.join(os.tmpdir(), 'era-e2e-'));
  return work;
}

/** A new directory under the run's one, named after what it holds. */
export function freshDir(name: string): string {
  return fs.mkdtempSync(path.join(workDir(), `${name}-`));
}

/** A process the run started: killed at the end if a test left it running. */
export function adopt(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Kills what is still running and removes the temporary directory (synchronous: also runs at exit). */
export function cleanUp(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
  work = undefined;
}

process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
