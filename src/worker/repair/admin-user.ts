import { diffRow, type Draft, type RowEdit } from './draft.js';
import type { DbState } from './state.js';

/**
 * /repair kind:admin-user: the row LiteLLM's UI login acts as (LITELLM.md §4), with explicit empty
 * arrays and objects so Prisma never reads a NULL list. An existing row is never touched, whatever
 * its role: it is listed instead.
 */
export function draftAdminUser(state: DbState, adminId: string): Draft {
  const draft: Draft = { changes: [], skipped: [], rows: [], file: null, models: [], checks: ['admin-user'] };
  if (state.admin) {
    const role = state.admin.user_role;
    if (role !== 'proxy_admin') draft.skipped.push({ subject: adminId, reason: `exists with role ${typeof role === 'string' ? role : 'none'}; an existing row is left alone (set its role in LiteLLM's UI or /user/update)` });
    return draft;
  }
  const now = new Date().toISOString().replace('Z', '');
  const after = { user_id: adminId, user_role: 'proxy_admin', teams: [], models: [], spend: 0, metadata: {}, model_spend: {}, model_max_budget: {}, created_at: now, updated_at: now };
  const edit: RowEdit = { table: 'LiteLLM_UserTable', key: adminId, before: null, after };
  draft.rows.push(edit);
  draft.changes.push(...diffRow(edit, null, 'inserted: LiteLLM_UserTable had no row for the admin'));
  return draft;
}
