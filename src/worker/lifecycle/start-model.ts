import type { ModelRef } from '../../config/inventory.js';
import type { StartResult, StopOutcome } from '../../contracts/model-start.js';
import { formatDuration } from '../../core/duration.js';
import { unavailableError } from '../../core/errors.js';
import { probeHealth, waitHealthy } from '../../engines/health.js';
import { modelLockKey } from '../../state/model-keys.js';
import type { WorkerContext } from '../context.js';
import { acquireLocks, releaseAll } from '../lock.js';
import { checkAdmission } from './admission-check.js';
import { measureVram, recordSettledFootprint } from './footprint.js';
import { clearStarted, markStarted, startedAt, startedBy } from './started.js';
import { isUp, stopModel } from './stop-model.js';
import { noteModelEvent } from '../vram/model-events.js';

export interface StartModelRequest {
  ref: ModelRef;
  stopFirst: ModelRef[];
  force: boolean;
  /** the job that starts it: owner of the locks and of the started-at mark */
  jobId: string;
  requestId: string | null;
  requestedBy: string | null;
}

/**
 * Starts a model and waits until it is healthy. Serialised per host+model by a lock owned by the
 * job id; idempotent: it looks at the real state first, so a re-run after a worker crash waits for
 * the copy already starting instead of starting a second one.
 */
export async function startModel(ctx: WorkerContext, request: StartModelRequest, signal: AbortSignal, progress: (text: string) => void): Promise<StartResult> {
  const { ref, stopFirst } = request;
  const locks = await acquireLocks(
    [ref, ...stopFirst].map((r) => modelLockKey(ctx.prefix, ctx.hostName, r.name)),
    {
      redis: ctx.redis,
      owner: request.jobId,
      ttlMs: ctx.config.worker.jobLockDuration,
      signal,
      logger: ctx.logger,
      onWait: (holder) => progress(`waiting for job ${holder}, which is starting or stopping the same model`),
    },
  );
  try {
    return await startLocked(ctx, request, signal, progress);
  } finally {
    await releaseAll(locks);
  }
}

async function startLocked(ctx: WorkerContext, request: StartModelRequest, signal: AbortSignal, progress: (text: string) => void): Promise<StartResult> {
  const { ref, stopFirst, jobId } = request;
  const base = { host: ctx.hostName, model: ref.name, jobId, requestId: request.requestId, requestedBy: request.requestedBy };
  const engine = ctx.engineFor(ref);
  const state = await engine.state(signal);
  if (state.state === 'unknown') {
    throw unavailableError(`Cannot tell whether ${ref.name} runs on ${ctx.hostName}: ${state.detail ?? 'unknown state'}.`, 'Nothing was started.');
  }

  if (isUp(state.state)) {
    const probe = await probeHealth(ref, signal, engine);
    // this very job started it before its worker died: the start goes on, whatever state it reached
    const ownStart = (await startedBy(ctx, ref)) === jobId;
    if (probe.healthy && state.state === 'running' && !ownStart) {
      await markStarted(ctx, ref, { onlyIfUnknown: true });
      return { status: 'already-running', ...base, health: probe.detail, vramMiB: await measureVram(ctx, ref, signal).catch(() => null) };
    }
    // a start under way (this job re-run after its worker died, or a start outside labops): wait for it
    if (!probe.healthy) progress(`${ref.name} is already ${state.state} (${probe.detail}); waiting for health`);
    const since = (await startedAt(ctx, ref)) ?? Date.now();
    await markStarted(ctx, ref, { at: since, onlyIfUnknown: true });
    const ready = await waitHealthy(ref, engine, { signal, onProgress: progress });
    const elapsedMs = Date.now() - since;
    progress(`ready in ${formatDuration(elapsedMs)}`);
    const footprintMiB = await recordSettledFootprint(ctx, ref, signal);
    return { status: 'ready', ...base, elapsedMs, resumed: true, health: ready.detail, admission: null, footprintMiB, stopped: [] };
  }

  const stopped: StopOutcome[] = [];
  for (const other of stopFirst) stopped.push(await stopModel(ctx, other, signal, progress, { cause: 'labops-stop', jobId }, request.requestedBy ?? undefined));
  const freed = stopped.some((s) => !s.alreadyStopped);
  if (freed) progress('waiting for the GPU to show the freed VRAM');
  const admission = await checkAdmission(ctx, ref, { force: request.force, signal, ...(freed ? { freedAfter: Date.now() } : {}) });
  if (admission.verdict === 'refuse') return { status: 'refused', ...base, admission, stopped };

  progress('starting');
  const t0 = Date.now();
  await markStarted(ctx, ref, { at: t0, jobId });
  try {
    await engine.start(signal);
  } catch (err) {
    await clearStarted(ctx, ref);
    throw err;
  }
  await noteModelEvent(ctx, { t: t0, model: ref.name, kind: 'start', ...(request.requestedBy ? { by: request.requestedBy } : {}) });
  const ready = await waitHealthy(ref, engine, { signal, onProgress: progress });
  const elapsedMs = Date.now() - t0;
  progress(`ready in ${formatDuration(elapsedMs)}`);
  const footprintMiB = await recordSettledFootprint(ctx, ref, signal);
  return { status: 'ready', ...base, elapsedMs, resumed: false, health: ready.detail, admission, footprintMiB, stopped };
}
