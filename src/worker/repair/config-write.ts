import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { failedError } from '../../core/errors.js';

/**
 * Replaces config.yaml atomically: its current text must still be `before`; a backup of it is
 * written beside it first, then the new text to a temporary file in the same directory, renamed
 * over the file (same mode). Any failure leaves the file as it was.
 */
export async function writeConfigAtomically(path: string, before: string, after: string, backupPath: string): Promise<void> {
  const current = await readText(path);
  if (current !== before) throw failedError(`${path} changed since the dry run; nothing was changed.`, 'Run the repair again to see the new plan.');
  const { mode } = await stat(path);
  try {
    await writeFile(backupPath, before, { mode, flag: 'wx' });
  } catch (err) {
    throw failedError(`Could not write the backup ${backupPath}: ${describe(err)}; nothing was changed.`, 'The directory of config.yaml must be writable by the worker.');
  }
  await replaceText(path, after, mode);
}

/** Writes `text` over `path` through a temporary file and a rename. */
export async function replaceText(path: string, text: string, mode?: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.labops-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { mode: mode ?? (await stat(path)).mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw failedError(`Could not write ${path}: ${describe(err)}; nothing was changed.`, 'The directory of config.yaml must be writable by the worker.');
  }
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw failedError(`Could not read ${path}: ${describe(err)}.`, 'Check litellm.configPath in labops.yaml.');
  }
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOENT' ? 'not found' : (code ?? String(err));
}
