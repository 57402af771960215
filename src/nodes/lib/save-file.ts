import path from 'node:path';
import { EraError } from '../../era';

/**
 * A directory as the core file node resolves a file name: a relative one under Node-RED's
 * `fileWorkingDirectory` when the settings set it, else under the process's working directory.
 */
export function resolveDirectory(directory: string, fileWorkingDirectory: unknown): string {
  if (typeof fileWorkingDirectory === 'string' && fileWorkingDirectory && !path.isAbsolute(directory)) {
    return path.resolve(path.join(fileWorkingDirectory, directory));
  }
  return path.resolve(directory);
}

/**
 * The path of `name` inside `directory` (resolved by resolveDirectory), refusing anything that
 * could land elsewhere: a name must be a plain file name (no separators, no `..`, not absolute).
 */
export function fileInside(directory: string, name: string, fileWorkingDirectory: unknown): string {
  if (!directory.trim()) {
    throw new EraError('ERA_INVALID_INPUT', 'No directory is configured to save recordings in');
  }
  if (!name || name === '.' || name === '..' || /[\\/\0]/.test(name) || path.isAbsolute(name)) {
    throw new EraError('ERA_INVALID_INPUT', `Refused file name "${name}": it must be a plain name inside the directory`);
  }
  const root = resolveDirectory(directory, fileWorkingDirectory);
  const target = path.resolve(root, name);
  if (path.dirname(target) !== root) {
    throw new EraError('ERA_INVALID_INPUT', `Refused file name "${name}": it must be a plain name inside the directory`);
  }
  return target;
}
