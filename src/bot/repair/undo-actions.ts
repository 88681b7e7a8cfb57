import type { AuditRow } from '../../audit/entry.js';
import type { Action } from '../../core/reply.js';

const MAX_UNDO_BUTTONS = 3;

/** The newest LiteLLM repairs that applied, each as an undo button (its dry run comes first). */
export function undoActions(rows: readonly AuditRow[]): Action[] {
  return rows
    .filter((r) => r.outcome === 'ok' && typeof undoLine(r.detail) === 'string')
    .slice(0, MAX_UNDO_BUTTONS)
    .map((r) => ({ label: `Undo ${String((r.detail as { repair?: unknown }).repair)} (${r.id.slice(0, 8)})`, command: 'repair', options: { kind: 'undo', audit: r.id }, style: 'danger' as const }));
}

/** The `/repair kind:undo audit:<id>` a repair's audit row names, if any. */
export function undoLine(detail: unknown): string | undefined {
  const undo = (detail as { undo?: unknown } | undefined)?.undo;
  return typeof undo === 'string' ? undo : undefined;
}
