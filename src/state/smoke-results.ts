import { smokeRowSchema, type SmokeRow } from '../contracts/smoke.js';
import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';

/**
 * The last smoke of each model and proxy group, for /status, /models and /doctor: one hash,
 * `<prefix>:smoke:last`, field `<host>/<model>` → the row as JSON. Rows that were not tested (a
 * stopped model) do not replace the last real result.
 */
export const smokeResultsKey = (prefix: string) => key(prefix, 'smoke', 'last');

const field = (row: Pick<SmokeRow, 'host' | 'model'>) => `${row.host}/${row.model}`;

export async function saveSmokeResults(redis: Redis, prefix: string, rows: readonly SmokeRow[]): Promise<void> {
  const tested = rows.filter((r) => r.ok !== null);
  if (tested.length === 0) return;
  await redis.hset(smokeResultsKey(prefix), Object.fromEntries(tested.map((r) => [field(r), JSON.stringify(r)])));
}

/** Every kept row that still parses (a row written by another version that does not is left out), by `<host>/<model>`. */
export async function readSmokeResults(redis: Redis, prefix: string): Promise<Map<string, SmokeRow>> {
  const raw = await redis.hgetall(smokeResultsKey(prefix));
  const rows = new Map<string, SmokeRow>();
  for (const [name, text] of Object.entries(raw)) {
    const parsed = smokeRowSchema.safeParse(parseJson(text));
    if (parsed.success) rows.set(name, parsed.data);
  }
  return rows;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
