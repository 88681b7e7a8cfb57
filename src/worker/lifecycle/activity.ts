import type pg from 'pg';
import { createPool } from '../../db/pool.js';
import type { ModelRef } from '../../config/inventory.js';
import type { Config } from '../../config/schema.js';
import { activityNames } from '../../config/idle-policy.js';

/**
 * When a model last served a request, from LiteLLM's `LiteLLM_SpendLogs` (one row per request):
 * `"startTime"` (TIMESTAMP(3), UTC, without a time zone), `model_group` (the public model name a
 * client asked for) and `model` (the deployment's model).
 */
export class SpendLogActivity {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = createPool(databaseUrl);
    // Prisma writes "startTime" in UTC into a column without a time zone: read and compare it in UTC
    this.pool.on('connect', (client) => {
      client.query(`SET TIME ZONE 'UTC'`).catch(() => undefined);
    });
  }

  /**
   * The newest request to the model since `since` (ms since the epoch), or null when there was
   * none in that window. Bounding the window lets PostgreSQL use the `startTime` index.
   */
  async lastRequest(ref: ModelRef, since: number): Promise<number | null> {
    const names = activityNames(ref);
    const { rows } = await this.pool.query<{ last_ms: string | null }>(
      `SELECT EXTRACT(EPOCH FROM max("startTime")) * 1000 AS last_ms
         FROM "LiteLLM_SpendLogs"
        WHERE "startTime" >= ($2::timestamptz AT TIME ZONE 'UTC')
          AND (model_group = ANY($1::text[]) OR model = ANY($1::text[]))`,
      [names, new Date(since).toISOString()],
    );
    const last = rows[0]?.last_ms;
    return last === null || last === undefined ? null : Math.round(Number(last));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

const sources = new Map<string, SpendLogActivity>();

/** The spend-log reader of `litellm.databaseUrl` (one pool per process), or null when none is configured. */
export function spendLogActivity(config: Pick<Config, 'litellm'>): SpendLogActivity | null {
  const url = config.litellm.databaseUrl;
  if (!url) return null;
  let source = sources.get(url);
  if (!source) {
    source = new SpendLogActivity(url);
    sources.set(url, source);
  }
  return source;
}

export async function closeActivitySources(): Promise<void> {
  const all = [...sources.values()];
  sources.clear();
  await Promise.all(all.map((s) => s.close()));
}
