import type pg from 'pg';
import { readParams, type DbModel } from '../../litellm/db.js';

/** The LiteLLM tables a repair writes, with their primary key. */
export const REPAIR_TABLES = {
  LiteLLM_ProxyModelTable: 'model_id',
  LiteLLM_UserTable: 'user_id',
  LiteLLM_Config: 'param_name',
} as const;
export type RepairTable = keyof typeof REPAIR_TABLES;

/** A row as PostgreSQL's `to_jsonb` gives it: every column, exactly (a write of it back restores the row). */
export type RawRow = Record<string, unknown>;

export interface ModelRow {
  raw: RawRow;
  model: DbModel;
}

/** What a repair reads of LiteLLM's database (and, beside it, config.yaml). */
export interface DbState {
  models: ModelRow[];
  /** the admin user's row, or null */
  admin: RawRow | null;
  /** LiteLLM_Config rows by param_name */
  config: Record<string, RawRow>;
}

/**
 * Reads the rows a repair looks at. With `lock` (inside the apply's transaction) every row read is
 * locked FOR UPDATE until the transaction ends, so the plan cannot change under the apply.
 */
export async function readDbState(client: pg.ClientBase, adminId: string, lock: boolean): Promise<DbState> {
  const forUpdate = lock ? ' FOR UPDATE' : '';
  const models = await client.query<{ row: RawRow }>(`SELECT to_jsonb(m) AS row FROM "LiteLLM_ProxyModelTable" m ORDER BY m.model_name, m.model_id${forUpdate}`);
  const admin = await client.query<{ row: RawRow }>(`SELECT to_jsonb(u) AS row FROM "LiteLLM_UserTable" u WHERE u.user_id = $1${forUpdate}`, [adminId]);
  const config = await client.query<{ row: RawRow }>(`SELECT to_jsonb(c) AS row FROM "LiteLLM_Config" c ORDER BY c.param_name${forUpdate}`);
  return {
    models: models.rows.map((r) => ({ raw: r.row, model: toDbModel(r.row) })),
    admin: admin.rows[0]?.row ?? null,
    config: Object.fromEntries(config.rows.map((r) => [String(r.row.param_name), r.row])),
  };
}

/** One row by its key, or null (locked with `lock`). */
export async function readRow(client: pg.ClientBase, table: RepairTable, key: string, lock: boolean): Promise<RawRow | null> {
  const { rows } = await client.query<{ row: RawRow }>(`SELECT to_jsonb(t) AS row FROM "${table}" t WHERE t.${REPAIR_TABLES[table]} = $1${lock ? ' FOR UPDATE' : ''}`, [key]);
  return rows[0]?.row ?? null;
}

export function toDbModel(raw: RawRow): DbModel {
  const { params, storage } = readParams(raw.litellm_params);
  const info = raw.model_info;
  return {
    modelId: String(raw.model_id),
    modelName: String(raw.model_name),
    litellmParams: params,
    paramsStorage: storage,
    modelInfo: info && typeof info === 'object' && !Array.isArray(info) ? (info as Record<string, unknown>) : null,
    blocked: typeof raw.blocked === 'boolean' ? raw.blocked : undefined,
    createdAt: new Date(String(raw.created_at)),
    createdBy: String(raw.created_by),
    updatedAt: new Date(String(raw.updated_at)),
    updatedBy: String(raw.updated_by),
  };
}

/** A model row with new params, stored the way the row stored them (a JSONB object, or JSON text). */
export function withParams(row: ModelRow, params: Record<string, unknown>, by: string): RawRow {
  return { ...row.raw, litellm_params: row.model.paramsStorage === 'json-string' ? JSON.stringify(params) : params, ...touched(by) };
}

/** `updated_at`/`updated_by` as LiteLLM's client sets them (a raw UPDATE does not). */
export function touched(by: string): RawRow {
  return { updated_at: new Date().toISOString().replace('Z', ''), updated_by: by };
}
