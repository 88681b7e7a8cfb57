import { checkStartRequest, modelStart } from '../src/contracts/model-start.js';
import { defineJob } from '../src/worker/define-job.js';
import { modelOnHost } from '../src/worker/lifecycle/model-on-host.js';
import { startModel } from '../src/worker/lifecycle/start-model.js';

/** Starts a model and waits until it is healthy (src/worker/lifecycle/start-model.ts). */
export default defineJob(modelStart, async (job, ctx, signal) => {
  const ref = modelOnHost(ctx, job.data.model);
  const stopFirst = job.data.stopFirst.map((name) => modelOnHost(ctx, name));
  const requester = { name: job.requestedBy?.name ?? 'the requester', role: job.requestedBy?.role ?? null };
  checkStartRequest(ctx.inventory, { host: ctx.hostName, model: ref.name, force: job.data.force, stopFirst: job.data.stopFirst }, requester);
  const progress = (text: string) => void job.progress(text).catch(() => undefined);
  return await startModel(
    ctx,
    { ref, stopFirst, force: job.data.force, jobId: job.id, requestId: job.data.requestId ?? null, requestedBy: job.requestedBy?.name ?? null },
    signal,
    progress,
  );
});
