import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** The last `lines` lines of a file, read from its end; a missing file has none. */
export async function tailFile(path: string, lines: number): Promise<string[]> {
  if (lines <= 0) return [];
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    let start = size;
    let text = '';
    while (start > 0 && countNewlines(text) <= lines) {
      const length = Math.min(CHUNK, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      text = buffer.toString('utf8') + text;
    }
    return lastLines(text, lines);
  } finally {
    await handle.close();
  }
}

/** The last `n` non-empty-tail lines of a text. */
export function lastLines(text: string, n: number): string[] {
  const all = text.replace(/\r/g, '').split('\n');
  if (all.at(-1) === '') all.pop();
  return n <= 0 ? [] : all.slice(-n);
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}
