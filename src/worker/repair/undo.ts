import type pg from 'pg';
import { z } from 'zod';
import type { AuditRow } from '../../audit/entry.js';
import { canonicalJson } from '../../core/canonical-json.js';
import type { LiteLLMKeys } from '../../litellm/crypto.js';
import { readText } from './config-write.js';
import { diffRow, sha256, type Draft, type RowEdit } from './draft.js';
import { unseal } from './seal.js';
import { readRow, REPAIR_TABLES, type RawRow } from './state.js';

/** What a repair's audit row keeps, sealed: each row before and after, and config.yaml's backup. */
export const imageSchema = z.object({
  kind: z.string(),
  rows: z.array(
    z.object({
      table: z.enum(Object.keys(REPAIR_TABLES) as [keyof typeof REPAIR_TABLES]),
      key: z.string(),
      label: z.string().optional(),
      before: z.record(z.string(), z.unknown()).nullable(),
      after: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  file: z.object({ path: z.string(), backup: z.string(), beforeSha256: z.string(), afterSha256: z.string() }).nullable(),
});
export type RepairImage = z.infer<typeof imageSchema>;

/**
 * /repair kind:undo audit:<id>: the repair's rows and config.yaml back to their before-image —
 * only when each is still exactly as the repair left it; else the plan is refused and shows what
 * changed since.
 */
export async function draftUndo(row: AuditRow | null, id: string, keys: LiteLLMKeys, client: pg.ClientBase, lock: boolean): Promise<Draft> {
  const draft: Draft = { changes: [], skipped: [], rows: [], file: null, models: [], checks: [] };
  const refuse = (why: string) => ({ ...draft, refused: why });
  const detail = row?.detail as { image?: unknown; repair?: unknown } | undefined;
  if (!row || typeof detail?.image !== 'string') return refuse(`audit ${id} is not a LiteLLM repair of this lab (see /log)`);
  if (row.outcome !== 'ok') return refuse(`audit ${id} is a repair that did not apply (${row.outcome}): nothing to undo`);
  const image = imageSchema.safeParse(unseal(detail.image, keys));
  if (!image.success) return refuse(`the before-image of audit ${id} does not open with the salt key labops has now`);

  const drift: string[] = [];
  for (const kept of image.data.rows) {
    const current = await readRow(client, kept.table, kept.key, lock);
    const label = kept.label ?? kept.key;
    if (canonicalJson(current) !== canonicalJson(kept.after)) {
      for (const c of diffRow({ table: kept.table, key: kept.key, label, before: kept.after, after: current }, keys)) drift.push(`${c.table} ${c.subject} ${c.field}: ${c.before ?? '(none)'} → ${c.after ?? '(none)'}`);
      if (drift.length === 0) drift.push(`${kept.table} ${label} was rewritten since (same values)`);
      continue;
    }
    const edit: RowEdit = { table: kept.table, key: kept.key, label, before: current as RawRow | null, after: kept.before };
    draft.rows.push(edit);
    draft.changes.push(...diffRow(edit, keys));
    if (kept.table === 'LiteLLM_ProxyModelTable') draft.models.push(String((kept.before ?? current)?.model_name ?? kept.key));
  }
  if (image.data.file) {
    const f = image.data.file;
    const current = await readText(f.path);
    const backup = await readText(f.backup).catch(() => null);
    if (sha256(current) !== f.afterSha256) drift.push(`${f.path} was edited since the repair`);
    else if (backup === null || sha256(backup) !== f.beforeSha256) drift.push(`the backup ${f.backup} is missing or was edited`);
    else {
      draft.file = { path: f.path, before: current, after: backup };
      draft.changes.push({ file: f.path, subject: f.path, field: '(whole file)', before: `sha256 ${f.afterSha256.slice(0, 12)}`, after: `sha256 ${f.beforeSha256.slice(0, 12)} (the backup)` });
    }
  }
  if (drift.length > 0) return refuse(`something changed since the repair (audit ${id}), so it is not undone: ${drift.join('; ')}`);
  draft.models = [...new Set(draft.models)];
  return draft;
}
