import { z } from 'zod';
import { usageError } from '../../core/errors.js';
import { key, type Redis } from '../../redis/connection.js';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const holderSchema = z.object({ jobId: z.string(), who: z.string(), kind: z.string(), since: z.number() });

/**
 * One repair at a time per proxy: a Redis key taken with NX (never waited for). A second repair is
 * refused with who holds it; a holder that crashed loses it after `ttlMs`.
 */
export async function takeRepairLock(redis: Redis, prefix: string, proxy: string, holder: { jobId: string; who: string; kind: string }, ttlMs = 10 * 60_000): Promise<() => Promise<void>> {
  const lockKey = key(prefix, 'repair-lock', proxy);
  const value = JSON.stringify({ ...holder, since: Date.now() });
  for (let tries = 0; tries < 2; tries++) {
    if ((await redis.set(lockKey, value, 'PX', ttlMs, 'NX')) === 'OK') return async () => void (await redis.eval(RELEASE, 1, lockKey, value));
    const current = holderSchema.safeParse(parseJson(await redis.get(lockKey)));
    if (current.success && current.data.jobId === holder.jobId) {
      // the same job re-run after its worker died: it takes its lock back
      await redis.set(lockKey, value, 'PX', ttlMs);
      return async () => void (await redis.eval(RELEASE, 1, lockKey, value));
    }
    if (current.success) {
      const h = current.data;
      throw usageError(
        `Another repair is running on the proxy of ${proxy}: ${h.kind} by ${h.who} (job ${h.jobId}, since ${new Date(h.since).toISOString().slice(11, 19)} UTC). Nothing was changed.`,
        'Run it again when that repair has finished.',
      );
    }
  }
  throw usageError(`Another repair is running on the proxy of ${proxy}. Nothing was changed.`, 'Run it again when that repair has finished.');
}

function parseJson(text: string | null): unknown {
  try {
    return text === null ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}
