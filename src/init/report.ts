import type { Plan } from './plan.js';

/** The table of what was found where: the sources read, the models and the units. */
export function foundTables(plan: Plan): string {
  const width = Math.max(...plan.sources.map((s) => s.what.length)) + 2;
  const parts = [
    plan.sources.map((s) => `${`${s.what}:`.padEnd(width)}${s.where} — ${s.found}`).join('\n'),
    textTable(
      ['model', 'type', 'engine', 'port', 'LiteLLM names', 'VRAM now'],
      plan.models.map((m) => [m.name, m.type, m.found.engine, m.found.port === undefined ? '–' : String(m.found.port), m.found.litellm.join(', ') || '–', m.found.vram]),
    ),
  ];
  if (plan.units.length > 0) parts.push(textTable(['unit', 'state', 'serves'], plan.units.map((u) => [u.unit, u.state, u.serves])));
  const notes = [...plan.litellmNotes, ...plan.hostNotes, ...plan.models.flatMap((m) => m.notes.map((n) => `${m.name}: ${n}`))];
  if (notes.length > 0) parts.push(`To check (also written as comments in the file):\n${notes.map((n) => `  - ${n}`).join('\n')}`);
  return parts.join('\n\n');
}

export function textTable(columns: string[], rows: string[][]): string {
  // every column but the last is capped, so one long path does not push the rest off the screen
  const cap = (s: string, i: number) => (i < columns.length - 1 && s.length > 60 ? `${s.slice(0, 59)}…` : s);
  const cells = rows.map((r) => r.map(cap));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}
