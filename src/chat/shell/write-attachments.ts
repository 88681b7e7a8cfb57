import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Attachment } from '../../core/reply.js';

const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'attachment';

/**
 * `exec --out <file>`: the reply's attachment goes to that file; with several, each goes beside it,
 * named after it (`chart.png` → `chart-vram-gpu-1.png`, …). Returns the files written.
 */
export function writeAttachments(attachments: readonly Attachment[], out: string): string[] {
  if (attachments.length === 1) {
    writeFileSync(out, attachments[0]!.data);
    return [out];
  }
  const ext = extname(out);
  const base = ext ? out.slice(0, -ext.length) : out;
  return attachments.map((a) => {
    const file = `${base}-${safe(a.name.replace(/\.[^.]*$/, ''))}${extname(a.name) || ext}`;
    writeFileSync(file, a.data);
    return file;
  });
}

/** The shell's way to show an attachment: a file under the temp dir, whose path it prints. */
export function saveAttachments(attachments: readonly Attachment[]): string[] {
  const dir = join(tmpdir(), 'labops');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return attachments.map((a) => {
    const file = join(dir, `${stamp}-${safe(a.name)}`);
    writeFileSync(file, a.data);
    return file;
  });
}
