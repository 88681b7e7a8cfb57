import { z } from 'zod';
import type { ModelRef } from '../src/config/inventory.js';
import type { WorkerContext } from '../src/worker/context.js';
import { formatDuration } from '../src/core/duration.js';
import { probeHealth, waitHealthy } from '../src/engines/index.js';
import { permissionError, unavailableError, usageError } from '../src/core/errors.js';
import type { Admission } from '../src/worker/lifecycle/admission.js';
import { checkAdmission } from '../src/worker/lifecycle/admission-check.js';
import { modelLockKey } from '../src/state/model-keys.js';
import { acquireLocks, releaseAll } from '../src/worker/lock.js';
import {
  clearStarted,
  isUp,
  markStarted,
  measureVram,
  modelOnHost,
  recordSettledFootprint,
  startedAt,
  startedBy,
  stopModel,
  type StopOutcome,
} from '../src/worker/lifecycle/model-ops.js';
import { defineJob, type JobRun } from '../src/contracts/define.js';

const modelName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected an inventory model name');

const payload = z.strictObject({
  /** the inventory name (the bot resolved aliases and prefixes) */
  model: modelName,
  /** start even when admission says it does not fit; only for a requester with the admin role */
  force: z.boolean().default(false),
  /** stop these models first, to make room (each must be unpinned) */
  stopFirst: z.array(modelName).max(8).default([]),
  /** an id of the request that queued it: a request whose start was deduplicated gets another job's result, with its id */
  requestId: z.string().max(64).optional(),
});

interface Base {
  host: string;
  model: string;
  jobId: string;
  requestId: string | null;
  requestedBy: string | null;
}

export type StartResult =
  | (Base & { status: 'already-running'; health: string; vramMiB: number | null })
  | (Base & {
      status: 'ready';
      /** from the start (or, when it was already starting, from when labops saw it start) to healthy */
      elapsedMs: number;
      /** it was already starting (a start re-run after its worker died, or one begun outside labops) */
      resumed: boolean;
      health: string;
      /** null when it was already starting */
      admission: Admission | null;
      /** the VRAM it settled at, recorded for the next admission */
      footprintMiB: number | null;
      stopped: StopOutcome[];
    })
  | (Base & { status: 'refused'; admission: Admission; stopped: StopOutcome[] });

/**
 * Starts a model and waits until it is healthy. Serialised per host+model by a lock owned by the
 * job id; idempotent: it looks at the real state first, so a re-run after a worker crash waits for
 * the copy already starting instead of starting a second one.
 */
export default defineJob({
  kind: 'model.start',
  description: 'start a model (after the VRAM admission check) and wait until it is healthy',
  payload,
  // a backstop: the model's own health.startTimeout ends the wait much earlier
  timeoutMs: 30 * 60_000,
  async process(job, ctx, signal): Promise<StartResult> {
    const ref = modelOnHost(ctx, job.data.model);
    const stopFirst = job.data.stopFirst.map((name) => modelOnHost(ctx, name));
    if (stopFirst.some((r) => r.name === ref.name)) throw usageError(`stop_first names ${ref.name} itself.`);
    const pinned = stopFirst.find((r) => r.model.pinned);
    if (pinned) throw usageError(`${pinned.name} is pinned: labops does not stop it to make room.`, `Stop it deliberately with /stop ${pinned.name} first, if you must.`);
    if (job.data.force && job.requestedBy?.role !== 'admin') {
      throw permissionError(`force overrides the VRAM check and needs admin; ${job.requestedBy?.name ?? 'the requester'} is ${job.requestedBy?.role ?? 'no role'}.`);
    }
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
  },
});

async function startLocked(
  job: JobRun<z.output<typeof payload>>,
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
      return { status: 'already-running', ...base, health: probe.detail, vramMiB: await measureVram(ctx, ref, signal) };
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
  for (const other of stopFirst) stopped.push(await stopModel(ctx, other, signal, progress));
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
  const ready = await waitHealthy(ref, engine, { signal, onProgress: progress });
  const elapsedMs = Date.now() - t0;
  progress(`ready in ${formatDuration(elapsedMs)}`);
  const footprintMiB = await recordSettledFootprint(ctx, ref, signal);
  return { status: 'ready', ...base, elapsedMs, resumed: false, health: ready.detail, admission, footprintMiB, stopped };
}
