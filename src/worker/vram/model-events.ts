import { errorMessage } from '../../core/errors.js';
import { recordModelEvent, type StoredModelEvent } from '../../state/vram-history.js';
import type { ModelTransition } from '../alerts/inputs.js';
import type { WorkerContext } from '../context.js';

type Ctx = Pick<WorkerContext, 'redis' | 'prefix' | 'hostName' | 'logger'>;

/** Marks a model's start, stop or crash on the VRAM chart; a failure to write it is logged, never thrown. */
export async function noteModelEvent(ctx: Ctx, event: Omit<StoredModelEvent, 't'> & { t?: number }): Promise<void> {
  try {
    await recordModelEvent(ctx.redis, ctx.prefix, ctx.hostName, { ...event, t: event.t ?? Date.now() });
  } catch (err) {
    ctx.logger.warn({ model: event.model, kind: event.kind, err: errorMessage(err) }, 'could not record the model event for the VRAM chart');
  }
}

const UP = new Set(['running', 'starting']);

/** A model that went down by itself (not a /stop, not an idle unload) is a crash on the chart. */
export function crashOf(t: ModelTransition): Omit<StoredModelEvent, 't'> & { t: number } | null {
  if (!UP.has(t.from) || UP.has(t.to) || t.to === 'unknown' || t.cause !== 'observed') return null;
  return { t: t.at, model: t.model, kind: 'crash' };
}
