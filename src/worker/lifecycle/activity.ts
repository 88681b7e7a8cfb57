import { createPool, type DbSslConfig, type Pool } from '../../db/pool.js';
import type { ModelRef } from '../../config/inventory.js';
import type { Config } from '../../config/schema.js';
import { activityNames } from '../../config/idle-policy.js';

/**
 * When a model last served a request, from LiteLLM's `LiteLLM_SpendLogs` (one row per request):
 * `"startTime"` (TIMESTAMP(3), UTC, without a time zone), `model_group` (the public model name a
 * client asked for) and `model` (the deployment's model).
 */
export class SpendLogActivity {
  private readonly pool: Pool;

  constructor(databaseUrl: string, ssl?: DbSslConfig) {
    this.pool = createPool(databaseUrl, ssl);
  }

  /**
   * The newest request to the model since `since` (ms since the epoch), or null when there was
   * none in that window. Bounding the window lets PostgreSQL use the `startTime` index.
   *
   * Independent of the session's time zone: EXTRACT(EPOCH) of a timestamp without time zone counts
   * its nominal wall-clock seconds (the UTC Prisma wrote), and the bound is turned into UTC wall
   * time with AT TIME ZONE 'UTC'.
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

/** The spend-log reader of `litellm.databaseUrl`, or null when none is configured. */
export function spendLogActivity(config: Pick<Config, 'litellm'>): SpendLogActivity | null {
  return config.litellm.databaseUrl ? new SpendLogActivity(config.litellm.databaseUrl, config.litellm.databaseSsl) : null;
}
