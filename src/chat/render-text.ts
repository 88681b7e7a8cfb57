import type { Block, Reply, Tone } from '../core/reply.js';
import { printableReply } from './printable.js';

const ICON: Record<Tone, string> = { ok: '✔', info: 'ℹ', warn: '⚠', error: '✖' };

/** The whole reply as plain text, for the shell and exec (escaped: see printable.ts). */
export function renderText(unsafe: Reply): string {
  const reply = printableReply(unsafe);
  const lines: string[] = [`${ICON[reply.tone]} ${reply.title}`];
  for (const block of reply.blocks) lines.push(...renderBlock(block));
  if (reply.hint) lines.push(`→ ${reply.hint}`);
  for (const action of reply.actions ?? []) {
    const opts = Object.entries(action.options).map(([k, v]) => `${k}:${quote(String(v))}`);
    lines.push(`↳ ${action.label}: /${[action.command, ...opts].join(' ')}`);
  }
  return lines.join('\n');
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case 'heading':
      return ['', `── ${block.text} ──`];
    case 'text':
      return block.text.split('\n');
    case 'fields': {
      const width = Math.max(0, ...block.fields.map((f) => f.name.length));
      return block.fields.map((f) => `  ${`${f.name}:`.padEnd(width + 1)} ${f.value.replace(/\n/g, `\n  ${' '.repeat(width + 2)}`)}`);
    }
    case 'table':
      return [...(block.title ? [block.title] : []), ...formatTable(block.columns, block.rows)];
    case 'image':
      return block.alt;
  }
}

/** A cell is at most this wide: one long value must not widen (and multiply) every row. */
export const MAX_CELL = 100;

/** Columns padded to their widest cell (each cell cut at MAX_CELL characters). */
export function formatTable(columns: string[], fullRows: string[][]): string[] {
  const rows = fullRows.map((r) => r.map(clipCell));
  const widths = columns.map((c, i) => Math.max(width(c), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  if (rows.length === 0) return [line(columns), '(none)'];
  return [line(columns), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

function clipCell(cell: string): string {
  const chars = [...cell];
  return chars.length <= MAX_CELL ? cell : `${chars.slice(0, MAX_CELL - 1).join('')}…`;
}

// Code points rather than UTF-16 units, so bars (▓░) and arrows line up.
const width = (s: string) => [...s].length;

const quote = (v: string) => (/\s/.test(v) ? `"${v}"` : v);

export interface Cut {
  text: string;
  /** lines left out of `text` */
  omitted: number;
}

/** Keeps the first `maxLines` lines and says how many were left out. */
export function cutLines(full: string, maxLines: number): Cut {
  const lines = full.split('\n');
  if (lines.length <= maxLines) return { text: full, omitted: 0 };
  const omitted = lines.length - (maxLines - 1);
  return { text: [...lines.slice(0, maxLines - 1), `… ${omitted} more lines`].join('\n'), omitted };
}
