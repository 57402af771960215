import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EraError } from '../../era/errors';

/**
 * The path of `name` inside `directory`, refusing anything that could land elsewhere: a
 * name must be a plain file name (no separators, no `..`, not absolute).
 */
export function fileInside(directory: string, name: string): string {
  if (!directory.trim()) {
    throw new EraError('ERA_INVALID_INPUT', 'No directory is configured to save recordings in');
  }
  if (!name || name === '.' || name === '..' || /[\\/\0]/.test(name) || path.isAbsolute(name)) {
    throw new EraError('ERA_INVALID_INPUT', `Refused file name "${name}": it must be a plain name inside the directory`);
  }
  const root = path.resolve(directory);
  const target = path.resolve(root, name);
  if (path.dirname(target) !== root) {
    throw new EraError('ERA_INVALID_INPUT', `Refused file name "${name}": it must be a plain name inside the directory`);
  }
  return target;
}

/** Writes through a temporary file and a rename, so no reader ever sees half a file. */
export async function writeAtomically(target: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
  try {
    await writeFile(temp, data);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
