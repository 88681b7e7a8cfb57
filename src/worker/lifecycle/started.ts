import type { ModelRef } from '../../config/inventory.js';
import { errorMessage } from '../../core/errors.js';
import { startedAtKey, startedByKey } from '../../state/model-keys.js';
import type { WorkerContext } from '../context.js';

/** When a model started, and which job started it: the idle clock starts there when no request came later. */

type Ctx = Pick<WorkerContext, 'redis' | 'prefix' | 'logger'>;

export async function markStarted(ctx: Ctx, ref: ModelRef, opts: { at?: number; onlyIfUnknown?: boolean; jobId?: string } = {}): Promise<void> {
  const key = startedAtKey(ctx.prefix, ref.host, ref.name);
  const at = String(opts.at ?? Date.now());
  try {
    if (opts.onlyIfUnknown) await ctx.redis.set(key, at, 'NX');
    else await ctx.redis.set(key, at);
    if (opts.jobId) await ctx.redis.set(startedByKey(ctx.prefix, ref.host, ref.name), opts.jobId);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not record when the model started');
  }
}

export async function clearStarted(ctx: Ctx, ref: ModelRef): Promise<void> {
  await ctx.redis.del(startedAtKey(ctx.prefix, ref.host, ref.name), startedByKey(ctx.prefix, ref.host, ref.name)).catch(() => undefined);
}

export async function startedAt(ctx: Ctx, ref: ModelRef): Promise<number | null> {
  const value = await ctx.redis.get(startedAtKey(ctx.prefix, ref.host, ref.name));
  const n = Number(value);
  return value !== null && Number.isFinite(n) && n > 0 ? n : null;
}

/** The id of the job that started the model, if labops started it. */
export async function startedBy(ctx: Ctx, ref: ModelRef): Promise<string | null> {
  return await ctx.redis.get(startedByKey(ctx.prefix, ref.host, ref.name));
}
