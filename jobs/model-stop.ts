import { modelStop, type StopResult } from '../src/contracts/model-stop.js';
import { errorMessage } from '../src/core/errors.js';
import { mib } from '../src/core/format.js';
import { info } from '../src/core/reply.js';
import { modelLockKey } from '../src/state/model-keys.js';
import { defineJob } from '../src/worker/define-job.js';
import { idleCheck } from '../src/worker/lifecycle/idle-unload.js';
import { modelOnHost } from '../src/worker/lifecycle/model-on-host.js';
import { isUp, stopModel } from '../src/worker/lifecycle/stop-model.js';
import { acquireLock } from '../src/worker/lock.js';

/**
 * Stops a model. Serialised with its starts and stops by the same lock; idempotent (a stopped
 * model is left alone). An automatic (idle) stop re-checks, under the lock, that the model is still
 * idle and not pinned, and is announced in the log channel.
 */
export default defineJob(modelStop, async (job, ctx, signal): Promise<StopResult> => {
    const ref = modelOnHost(ctx, job.data.model);
    const progress = (text: string) => void job.progress(text).catch(() => undefined);
    const base = { host: ctx.hostName, model: ref.name, jobId: job.id, requestId: job.data.requestId ?? null, requestedBy: job.requestedBy?.name ?? null };
    const lock = await acquireLock({
      redis: ctx.redis,
      key: modelLockKey(ctx.prefix, ctx.hostName, ref.name),
      owner: job.id,
      ttlMs: ctx.config.worker.jobLockDuration,
      signal,
      logger: ctx.logger,
      onWait: (holder) => progress(`waiting for job ${holder}, which is starting or stopping ${ref.name}`),
    });
    try {
      let reason: string | null = null;
      if (job.data.ifIdle && isUp((await ctx.engineFor(ref).state(signal)).state)) {
        if (ref.model.pinned) return { status: 'kept', ...base, before: 'running', freedMiB: null, reason: 'pinned' };
        let check;
        try {
          check = await idleCheck(ctx, ref);
        } catch (err) {
          return { status: 'kept', ...base, before: 'running', freedMiB: null, reason: `cannot tell whether it is idle: ${errorMessage(err)}` };
        }
        if (!check.applies || !check.idle) return { status: 'kept', ...base, before: 'running', freedMiB: null, reason: check.note };
        reason = check.note;
      }
      const outcome = await stopModel(ctx, ref, signal, progress, { cause: job.data.ifIdle ? 'idle-unload' : 'labops-stop', jobId: job.id }, job.requestedBy?.name);
      const result: StopResult = { status: outcome.alreadyStopped ? 'already-stopped' : 'stopped', ...base, before: outcome.before, freedMiB: outcome.freedMiB, reason };
      if (job.data.ifIdle && !outcome.alreadyStopped) {
        await ctx.notify.post(
          'log',
          info(`Stopped ${ref.name} on ${ctx.hostName}: ${reason}`, [], {
            hint: `Freed ${outcome.freedMiB ? mib(outcome.freedMiB) : 'its VRAM'}; /start ${ref.name} loads it again.`,
            data: { notice: 'idle-unload', ...result },
          }),
        );
      }
      return result;
    } finally {
      await lock.release();
    }
  });
