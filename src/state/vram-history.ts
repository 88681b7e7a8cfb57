import { z } from 'zod';
import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';

/**
 * The VRAM history of each host's GPUs, kept in Redis at bounded size: one sample a second for the
 * last 10 minutes and one a minute (the minute's highest) for the last 25 hours, in two sorted sets
 * per GPU scored by time and trimmed on every write; plus the host's model start/stop/crash events.
 * The worker writes it from its GPU sampler; `/vram` reads it, also when the worker is offline.
 */

export const FINE_STEP_MS = 1_000;
export const FINE_KEEP_MS = 10 * 60_000;
export const COARSE_STEP_MS = 60_000;
export const COARSE_KEEP_MS = 25 * 3_600_000;
export const EVENTS_KEEP_MS = COARSE_KEEP_MS;
/** the most entries a set may hold, whatever the clock does */
export const FINE_CAP = 2 * (FINE_KEEP_MS / FINE_STEP_MS);
export const COARSE_CAP = 2 * (COARSE_KEEP_MS / COARSE_STEP_MS);
export const EVENTS_CAP = 1_000;
/** keys of a host whose worker is gone for good go away after this */
const KEY_TTL_MS = COARSE_KEEP_MS + 3_600_000;

export type Resolution = 'fine' | 'coarse';

export const vramKeys = {
  samples: (prefix: string, host: string, gpu: number, res: Resolution) => key(prefix, 'vram', host, 'gpu', String(gpu), res === 'fine' ? '1s' : '1m'),
  gpus: (prefix: string, host: string) => key(prefix, 'vram', host, 'gpus'),
  events: (prefix: string, host: string) => key(prefix, 'vram', host, 'events'),
};

const storedSampleSchema = z.object({ t: z.number(), u: z.number(), m: z.record(z.string(), z.number()).optional() });

/** One sample of one GPU: time (epoch ms), used MiB, and the MiB each model held. */
export interface StoredSample {
  t: number;
  usedMiB: number;
  byModel?: Record<string, number>;
}

const gpuMetaSchema = z.object({ index: z.number(), uuid: z.string(), name: z.string(), totalMiB: z.number() });
export type GpuMeta = z.infer<typeof gpuMetaSchema>;

export const MODEL_EVENT_KINDS = ['start', 'stop', 'crash'] as const;
const modelEventSchema = z.object({ t: z.number(), model: z.string(), kind: z.enum(MODEL_EVENT_KINDS), by: z.string().optional() });
export type StoredModelEvent = z.infer<typeof modelEventSchema>;

export interface SampleBatch {
  /** the GPUs as they are now (name and total) */
  gpus: GpuMeta[];
  /** per GPU index */
  fine: Map<number, StoredSample>;
  coarse: Map<number, StoredSample>;
}

const encode = (s: StoredSample) => JSON.stringify({ t: s.t, u: s.usedMiB, ...(s.byModel && Object.keys(s.byModel).length ? { m: s.byModel } : {}) });

/**
 * Writes a batch of samples in one round trip. With `housekeeping` (the default) each set it writes
 * is also trimmed by age and by count and the host's GPU list and the keys' expiry are renewed; a
 * writer of one sample a second may do that every few seconds instead (the caps leave room for it).
 */
export async function writeSamples(redis: Redis, prefix: string, host: string, batch: SampleBatch, opts: { housekeeping?: boolean } = {}): Promise<void> {
  const housekeeping = opts.housekeeping ?? true;
  const multi = redis.multi();
  const add = (res: Resolution, gpu: number, s: StoredSample) => {
    const k = vramKeys.samples(prefix, host, gpu, res);
    multi.zadd(k, s.t, encode(s));
    // the per-minute sets are trimmed on every write: it is once a minute
    if (!housekeeping && res === 'fine') return;
    const [keep, cap] = res === 'fine' ? [FINE_KEEP_MS, FINE_CAP] : [COARSE_KEEP_MS, COARSE_CAP];
    multi.zremrangebyscore(k, '-inf', `(${s.t - keep}`).zremrangebyrank(k, 0, -(cap + 1)).pexpire(k, KEY_TTL_MS);
  };
  for (const [gpu, s] of batch.fine) add('fine', gpu, s);
  for (const [gpu, s] of batch.coarse) add('coarse', gpu, s);
  if (housekeeping || batch.coarse.size > 0) multi.set(vramKeys.gpus(prefix, host), JSON.stringify(batch.gpus), 'PX', KEY_TTL_MS);
  await multi.exec();
}

/** A model's start, stop or crash on a host, shown on the chart. */
export async function recordModelEvent(redis: Redis, prefix: string, host: string, event: StoredModelEvent): Promise<void> {
  const k = vramKeys.events(prefix, host);
  await redis
    .multi()
    .zadd(k, event.t, JSON.stringify(event))
    .zremrangebyscore(k, '-inf', `(${event.t - EVENTS_KEEP_MS}`)
    .zremrangebyrank(k, 0, -(EVENTS_CAP + 1))
    .pexpire(k, KEY_TTL_MS)
    .exec();
}

export interface StoredHistory {
  host: string;
  gpus: (GpuMeta & { samples: StoredSample[] })[];
  events: StoredModelEvent[];
}

function parseAll<T>(raw: unknown, schema: z.ZodType<T>): T[] {
  if (!Array.isArray(raw)) return [];
  const out: T[] = [];
  for (const member of raw) {
    try {
      const parsed = schema.safeParse(JSON.parse(String(member)));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // a member that is not JSON is skipped, not fatal
    }
  }
  return out;
}

/**
 * The history of one host's GPUs over [now − windowMs, now]: the per-minute samples up to where
 * the per-second ones begin, then those (in time order). Two round trips.
 */
export async function readHistory(redis: Redis, prefix: string, host: string, opts: { now: number; windowMs: number }): Promise<StoredHistory> {
  const from = opts.now - opts.windowMs;
  const metaRaw = await redis.get(vramKeys.gpus(prefix, host));
  let gpus: GpuMeta[] = [];
  if (metaRaw) {
    try {
      gpus = z.array(gpuMetaSchema).parse(JSON.parse(metaRaw));
    } catch {
      gpus = [];
    }
  }
  const pipe = redis.pipeline();
  // one sample before the window lets the chart reach its left edge
  for (const g of gpus) {
    pipe.zrangebyscore(vramKeys.samples(prefix, host, g.index, 'coarse'), from - COARSE_STEP_MS, opts.now);
    pipe.zrangebyscore(vramKeys.samples(prefix, host, g.index, 'fine'), from - FINE_STEP_MS, opts.now);
  }
  pipe.zrangebyscore(vramKeys.events(prefix, host), from, opts.now);
  const results = (await pipe.exec()) ?? [];
  const value = (i: number) => {
    const [err, v] = results[i] ?? [null, []];
    if (err) throw err;
    return v;
  };
  const toSample = (s: z.infer<typeof storedSampleSchema>): StoredSample => ({ t: s.t, usedMiB: s.u, ...(s.m ? { byModel: s.m } : {}) });
  return {
    host,
    gpus: gpus.map((g, i) => {
      const coarse = parseAll(value(2 * i), storedSampleSchema).map(toSample);
      const fine = parseAll(value(2 * i + 1), storedSampleSchema).map(toSample);
      const fineFrom = fine[0]?.t ?? Number.POSITIVE_INFINITY;
      return { ...g, samples: [...coarse.filter((s) => s.t < fineFrom), ...fine] };
    }),
    events: parseAll(value(2 * gpus.length), modelEventSchema),
  };
}
