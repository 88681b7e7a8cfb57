import { z } from 'zod';
import type { Redis } from '../redis/connection.js';
import { stopIntentKey } from './model-keys.js';

/**
 * The record a stop by labops leaves before it stops a model: whoever watches models (the
 * model-down rule, the live state) reads it to tell a stop that labops made from a crash.
 */
export interface StopIntent {
  cause: 'labops-stop' | 'idle-unload';
  at: number;
  jobId?: string;
}

/** Long enough for any watcher to see the stop; the model-down rule also ignores an intent older than the model's last start. */
export const STOP_INTENT_TTL_MS = 10 * 60_000;

const intentSchema = z.object({ cause: z.enum(['labops-stop', 'idle-unload']), at: z.number(), jobId: z.string().optional() });

export async function recordStopIntent(redis: Redis, prefix: string, host: string, model: string, intent: StopIntent): Promise<void> {
  await redis.set(stopIntentKey(prefix, host, model), JSON.stringify(intent), 'PX', STOP_INTENT_TTL_MS);
}

export async function clearStopIntent(redis: Redis, prefix: string, host: string, model: string): Promise<void> {
  await redis.del(stopIntentKey(prefix, host, model));
}

export async function readStopIntent(redis: Redis, prefix: string, host: string, model: string): Promise<StopIntent | null> {
  const raw = await redis.get(stopIntentKey(prefix, host, model));
  if (!raw) return null;
  try {
    const parsed = intentSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
