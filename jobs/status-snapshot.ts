import { errorMessage } from '../src/core/errors.js';
import { VERSION } from '../src/core/version.js';
import type { GpuProcess } from '../src/contracts/lab-data.js';
import { statusSnapshot } from '../src/contracts/status-snapshot.js';
import { defineJob } from '../src/worker/define-job.js';
import { modelStatuses } from '../src/worker/status/model-status.js';

/** What /status and /models show of one host. Reads only: it never starts or wakes a model. */
export default defineJob(statusSnapshot, async (job, ctx, signal) => {
  const [facts, gpu, gpuProcesses] = await Promise.all([
    ctx.facts.read().catch((err: unknown) => ({ error: errorMessage(err) })),
    ctx.gpu.snapshot(),
    ctx.gpu.processes(signal, { maxAgeMs: ctx.host.gpu.appsInterval }).catch(() => [] as GpuProcess[]),
  ]);
  const models = await modelStatuses(ctx, ctx.inventory.models(job.host), gpuProcesses, signal);
  return {
    host: job.host,
    collectedAt: Date.now(),
    worker: { version: VERSION, pid: process.pid, startedAt: ctx.startedAt },
    facts,
    gpu,
    gpuProcesses,
    models,
  };
});
