import type { z } from 'zod';
import type { ModelRef } from '../src/config/inventory.js';
import type { JobRun } from '../src/contracts/define.js';
import { checkStartRequest, modelStart, type StartResult, type StopOutcome } from '../src/contracts/model-start.js';
import { formatDuration } from '../src/core/duration.js';
import { unavailableError } from '../src/core/errors.js';
import { probeHealth, waitHealthy } from '../src/engines/health.js';
import { modelLockKey } from '../src/state/model-keys.js';
import type { WorkerContext } from '../src/worker/context.js';
import { defineJob } from '../src/worker/define-job.js';
import { checkAdmission } from '../src/worker/lifecycle/admission-check.js';
import { measureVram, recordSettledFootprint } from '../src/worker/lifecycle/footprint.js';
import { modelOnHost } from '../src/worker/lifecycle/model-on-host.js';
import { clearStarted, markStarted, startedAt, startedBy } from '../src/worker/lifecycle/started.js';
import { isUp, stopModel } from '../src/worker/lifecycle/stop-model.js';
import { noteModelEvent } from '../src/worker/vram/model-events.js';
import { acquireLocks, releaseAll } from '../src/worker/lock.js';

type Base = Pick<StartResult, 'host' | 'model' | 'jobId' | 'requestId' | 'requestedBy'>;

/**
 * Starts a model and waits until it is healthy. Serialised per host+model by a lock owned by the
 * job id; idempotent: it looks at the real state first, so a re-run after a worker crash waits for
 * the copy already starting instead of starting a second one.
 */
export default defineJob(modelStart, async (job, ctx, signal) => {
  const ref = modelOnHost(ctx, job.data.model);
  const stopFirst = job.data.stopFirst.map((name) => modelOnHost(ctx, name));
  const requester = { name: job.requestedBy?.name ?? 'the requester', role: job.requestedBy?.role ?? null };
  checkStartRequest(ctx.inventory, { host: ctx.hostName, model: ref.name, force: job.data.force, stopFirst: job.data.stopFirst }, requester);
  const progress = (text: string) => void job.progress(text).catch(() => undefined);
  const locks = await acquireLocks(
    [ref, ...stopFirst].map((r) => modelLockKey(ctx.prefix, ctx.hostName, r.name)),
    {
      redis: ctx.redis,
      owner: job.id,
      ttlMs: ctx.config.worker.jobLockDuration,
      signal,
      logger: ctx.logger,
      onWait: (holder) => progress(`waiting for job ${holder}, which is starting or stopping the same model`),
    },
  );
  try {
    return await startLocked(job, ctx, signal, ref, stopFirst, progress);
  } finally {
    await releaseAll(locks);
  }
});

async function startLocked(
  job: JobRun<z.output<typeof modelStart.payload>>,
  ctx: WorkerContext,
  signal: AbortSignal,
  ref: ModelRef,
  stopFirst: ModelRef[],
  progress: (text: string) => void,
): Promise<StartResult> {
  const base: Base = { host: ctx.hostName, model: ref.name, jobId: job.id, requestId: job.data.requestId ?? null, requestedBy: job.requestedBy?.name ?? null };
  const engine = ctx.engineFor(ref);
  const state = await engine.state(signal);
  if (state.state === 'unknown') {
    throw unavailableError(`Cannot tell whether ${ref.name} runs on ${ctx.hostName}: ${state.detail ?? 'unknown state'}.`, 'Nothing was started.');
  }

  if (isUp(state.state)) {
    const probe = await probeHealth(ref, signal, engine);
    // this very job started it before its worker died: the start goes on, whatever state it reached
    const ownStart = (await startedBy(ctx, ref)) === job.id;
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
  for (const other of stopFirst) stopped.push(await stopModel(ctx, other, signal, progress, { cause: 'labops-stop', jobId: job.id }, job.requestedBy?.name));
  const freed = stopped.some((s) => !s.alreadyStopped);
  if (freed) progress('waiting for the GPU to show the freed VRAM');
  const admission = await checkAdmission(ctx, ref, { force: job.data.force, signal, ...(freed ? { freedAfter: Date.now() } : {}) });
  if (admission.verdict === 'refuse') return { status: 'refused', ...base, admission, stopped };

  progress('starting');
  const t0 = Date.now();
  await markStarted(ctx, ref, { at: t0, jobId: job.id });
  try {
    await engine.start(signal);
  } catch (err) {
    await clearStarted(ctx, ref);
    throw err;
  }
  await noteModelEvent(ctx, { t: t0, model: ref.name, kind: 'start', ...(job.requestedBy?.name ? { by: job.requestedBy.name } : {}) });
  const ready = await waitHealthy(ref, engine, { signal, onProgress: progress });
  const elapsedMs = Date.now() - t0;
  progress(`ready in ${formatDuration(elapsedMs)}`);
  const footprintMiB = await recordSettledFootprint(ctx, ref, signal);
  return { status: 'ready', ...base, elapsedMs, resumed: false, health: ready.detail, admission, footprintMiB, stopped };
}
