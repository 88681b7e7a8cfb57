import pg from 'pg';
import { ensureDatabase } from '../db/pool.js';
import { DEMO_OLD_SALT_KEY, DEMO_SALT_KEY, VISION } from './lab.js';
import { litellmDdl } from './litellm-schema.js';
import { fakeEncrypt } from './litellm-stand-in.js';

/** `url` with `schema` first on the search_path: LiteLLM's code sees the tables unqualified, as in its default schema. */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/**
 * The demo's two schemas of the configured PostgreSQL, dropped and made again: labops' own tables
 * (created by labops at start) and LiteLLM's, seeded with the incident's database side — the vision
 * model's `custom_llm_provider` written under an old salt key (LiteLLM then answers 500), and no
 * admin user (the UI login fails).
 */
export async function resetDemoDatabase(databaseUrl: string, schemas: { labops: string; litellm: string }, visionBase: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const schema of [schemas.labops, schemas.litellm]) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schemas.litellm)}`);
    await client.query(`SET search_path TO ${pg.escapeIdentifier(schemas.litellm)}`);
    await client.query(litellmDdl('2026'));
    const sealed = (value: string, key = DEMO_SALT_KEY) => fakeEncrypt(value, key);
    const params = {
      model: sealed('openai/qwen3-vl-4b'),
      api_base: sealed(visionBase),
      api_key: sealed('none'),
      custom_llm_provider: sealed('openai', DEMO_OLD_SALT_KEY),
      timeout: 120,
      rpm: 10,
      max_tokens: 4096,
    };
    await client.query(
      `INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, model_info, created_by, updated_by)
       VALUES ($1, $2, $3::jsonb, $4::jsonb, 'default_user_id', 'default_user_id')`,
      ['db-vision-qwen3-vl', VISION, JSON.stringify(params), JSON.stringify({ id: 'db-vision-qwen3-vl', mode: 'chat', supports_vision: true })],
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
