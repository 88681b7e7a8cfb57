import pg from 'pg';
import { litellmDdl as ddl, type LiteLLMSchemaShape } from '../../src/demo/litellm-schema.js';
import { DATABASE_URL, uniqueName } from './env.js';

/**
 * LiteLLM's tables (DDL of LITELLM.md §1.7) in a fresh schema of the test database. `url` puts
 * that schema first on the search_path, so code given it sees the tables unqualified, as LiteLLM's
 * default schema exposes them. `drop()` removes the schema.
 */
export type { LiteLLMSchemaShape };

export interface TestModelRow {
  model_id: string;
  model_name: string;
  /** stored as a JSONB object, or as a JSONB string holding JSON with `paramsAsJsonString` */
  litellm_params: Record<string, unknown>;
  model_info?: Record<string, unknown> | null;
  paramsAsJsonString?: boolean;
  /** 2026 shape only */
  blocked?: boolean;
  created_by?: string;
}

export interface TestUserRow {
  user_id: string;
  user_role?: string | null;
  user_email?: string | null;
}

export interface LiteLLMTestDb {
  url: string;
  schema: string;
  shape: LiteLLMSchemaShape;
  insertModel(row: TestModelRow): Promise<void>;
  deleteModel(modelId: string): Promise<void>;
  insertUser(row: TestUserRow): Promise<void>;
  setConfigRow(name: string, value: unknown): Promise<void>;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export async function createLiteLLMTestDb(opts: { shape?: LiteLLMSchemaShape; baseUrl?: string } = {}): Promise<LiteLLMTestDb> {
  const shape = opts.shape ?? '2026';
  const schema = uniqueName('litellm');
  const baseUrl = opts.baseUrl ?? DATABASE_URL;
  const url = withSearchPath(baseUrl, schema);
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  try {
    await pool.query(ddl(shape));
  } catch (err) {
    await dropSchema(pool, baseUrl, schema);
    throw err;
  }

  return {
    url,
    schema,
    shape,
    async insertModel(row) {
      const params = row.paramsAsJsonString ? JSON.stringify(JSON.stringify(row.litellm_params)) : JSON.stringify(row.litellm_params);
      const info = row.model_info === undefined ? { id: row.model_id } : row.model_info;
      const by = row.created_by ?? 'default_user_id';
      const columns = ['model_id', 'model_name', 'litellm_params', 'model_info', 'created_by', 'updated_by'];
      const values: unknown[] = [row.model_id, row.model_name, params, info === null ? null : JSON.stringify(info), by, by];
      if (row.blocked !== undefined) {
        if (shape !== '2026') throw new Error('the 2025 schema has no "blocked" column');
        columns.push('blocked');
        values.push(row.blocked);
      }
      const placeholders = values.map((_, i) => (columns[i] === 'litellm_params' || columns[i] === 'model_info' ? `$${i + 1}::jsonb` : `$${i + 1}`));
      await pool.query(`INSERT INTO "LiteLLM_ProxyModelTable" (${columns.join(', ')}) VALUES (${placeholders.join(', ')})`, values);
    },
    async deleteModel(modelId) {
      await pool.query(`DELETE FROM "LiteLLM_ProxyModelTable" WHERE model_id = $1`, [modelId]);
    },
    async insertUser(row) {
      await pool.query(
        `INSERT INTO "LiteLLM_UserTable" (user_id, user_role, user_email, teams, models, spend, metadata, model_spend, model_max_budget)
         VALUES ($1, $2, $3, ARRAY[]::TEXT[], ARRAY[]::TEXT[], 0, '{}', '{}', '{}')`,
        [row.user_id, row.user_role ?? null, row.user_email ?? null],
      );
    },
    async setConfigRow(name, value) {
      await pool.query(
        `INSERT INTO "LiteLLM_Config" (param_name, param_value) VALUES ($1, $2::jsonb)
         ON CONFLICT (param_name) DO UPDATE SET param_value = EXCLUDED.param_value`,
        [name, JSON.stringify(value)],
      );
    },
    async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await pool.query<T>(sql, params)).rows;
    },
    async drop() {
      await dropSchema(pool, baseUrl, schema);
    },
  };
}

async function dropSchema(pool: pg.Pool, baseUrl: string, schema: string): Promise<void> {
  await pool.end().catch(() => undefined);
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
}
