import type { ModelRef } from '../../config/inventory.js';
import type { StopOutcome } from '../../contracts/model-start.js';
import { errorMessage, failedError, unavailableError } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import type { EngineState } from '../../engines/engine.js';
import { clearStopIntent, recordStopIntent, type StopIntent } from '../../state/stop-intent.js';
import type { WorkerContext } from '../context.js';
import { measureVram } from './footprint.js';
import { clearStarted } from './started.js';
import { noteModelEvent } from '../vram/model-events.js';

export const isUp = (s: EngineState['state']) => s === 'running' || s === 'starting';

const describe = (s: EngineState) => (s.detail ? `${s.state} (${s.detail})` : s.state);

/**
 * Stops a model and checks that it is down. The caller holds the model's lock. The stop is recorded
 * first (`cause`), so that watchers do not take it for the model going down by itself.
 */
export async function stopModel(
  ctx: WorkerContext,
  ref: ModelRef,
  signal: AbortSignal,
  progress?: (text: string) => void,
  intent: Omit<StopIntent, 'at'> = { cause: 'labops-stop' },
  /** who asked, for the VRAM chart's stop mark */
  by?: string,
): Promise<StopOutcome> {
  const engine = ctx.engineFor(ref);
  const before = await engine.state(signal);
  if (before.state === 'unknown') {
    throw unavailableError(`Cannot tell whether ${ref.name} runs on ${ref.host}: ${before.detail ?? 'unknown state'}.`, 'Nothing was stopped.');
  }
  if (!isUp(before.state)) {
    await clearStarted(ctx, ref);
    return { model: ref.name, alreadyStopped: true, before: describe(before), freedMiB: null };
  }
  // what it frees is told, not needed: a GPU that cannot say does not stop the stop
  const freedMiB = await measureVram(ctx, ref, signal).catch((err: unknown) => {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not read the VRAM the model holds before its stop');
    return null;
  });
  progress?.(`stopping ${ref.name}${freedMiB ? ` (holds ${mib(freedMiB)})` : ''}`);
  await recordStopIntent(ctx.redis, ctx.prefix, ctx.hostName, ref.name, { ...intent, at: Date.now() }).catch((err: unknown) =>
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not record the stop; it may be reported as the model going down'),
  );
  await engine.stop(signal);
  const after = await engine.state(signal);
  if (isUp(after.state)) {
    await clearStopIntent(ctx.redis, ctx.prefix, ctx.hostName, ref.name).catch(() => undefined);
    throw failedError(`${ref.name} is still ${describe(after)} after the stop.`, `Look at its log; pids ${after.pids.join(', ') || '?'}.`);
  }
  await clearStarted(ctx, ref);
  const who = intent.cause === 'idle-unload' ? 'idle unload' : by;
  await noteModelEvent(ctx, { model: ref.name, kind: 'stop', ...(who ? { by: who } : {}) });
  return { model: ref.name, alreadyStopped: false, before: describe(before), freedMiB };
}
