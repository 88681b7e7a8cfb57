import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The shell's "attachment": the whole text of a cut reply, in a file the user can open. */
export function saveFullOutput(command: string, text: string): string {
  const dir = join(tmpdir(), 'labops');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${command}-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
  writeFileSync(file, text + '\n');
  return file;
}
