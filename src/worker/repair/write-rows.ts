import type pg from 'pg';
import { canonicalJson } from '../../core/canonical-json.js';
import { failedError } from '../../core/errors.js';
import type { RowEdit } from './draft.js';
import { REPAIR_TABLES, type RawRow } from './state.js';

/**
 * Writes a draft's rows inside the caller's transaction, each from its JSON image through
 * `jsonb_populate_record` (so every column type round-trips exactly). Returns the edits with the
 * after-images as PostgreSQL stored them (an insert gets its defaults) for the audit row.
 */
export async function writeRows(client: pg.ClientBase, edits: readonly RowEdit[]): Promise<RowEdit[]> {
  const written: RowEdit[] = [];
  for (const edit of edits) {
    const table = `"${edit.table}"`;
    const pk = REPAIR_TABLES[edit.table];
    let stored: RawRow | null = null;
    if (edit.before === null && edit.after !== null) {
      const cols = Object.keys(edit.after).map(ident).join(', ');
      const { rows } = await client.query<{ row: RawRow }>(
        `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM jsonb_populate_record(NULL::${table}, $1::jsonb) ON CONFLICT DO NOTHING RETURNING to_jsonb(${table}.*) AS row`,
        [JSON.stringify(edit.after)],
      );
      if (!rows[0]) throw failedError(`${edit.table} ${edit.key} was created by someone else since the dry run; nothing was changed.`, 'Run the repair again to see the new plan.');
      stored = rows[0].row;
    } else if (edit.after === null) {
      const { rowCount } = await client.query(`DELETE FROM ${table} WHERE ${pk} = $1`, [edit.key]);
      if (rowCount !== 1) throw failedError(`${edit.table} ${edit.key} is gone since the dry run; nothing was changed.`);
    } else {
      const cols = Object.keys(edit.after).filter((c) => c !== pk && canonicalJson(edit.after![c] ?? null) !== canonicalJson(edit.before?.[c] ?? null));
      if (cols.length === 0) continue;
      const list = cols.map(ident).join(', ');
      const { rows } = await client.query<{ row: RawRow }>(
        `UPDATE ${table} t SET (${list}) = (SELECT ${list} FROM jsonb_populate_record(NULL::${table}, $1::jsonb)) WHERE t.${pk} = $2 RETURNING to_jsonb(t) AS row`,
        [JSON.stringify(edit.after), edit.key],
      );
      if (!rows[0]) throw failedError(`${edit.table} ${edit.key} is gone since the dry run; nothing was changed.`);
      stored = rows[0].row;
    }
    written.push({ ...edit, after: stored });
  }
  return written;
}

function ident(column: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`unexpected column name ${JSON.stringify(column)}`);
  return `"${column}"`;
}
