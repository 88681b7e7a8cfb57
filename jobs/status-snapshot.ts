import { z } from 'zod';
import { errorMessage } from '../src/core/errors.js';
import type { HostFactsSnapshot } from '../src/host/facts.js';
import type { GpuProcess, GpuSnapshot } from '../src/gpu/monitor.js';
import { defineJob } from '../src/contracts/define.js';
import { modelStatuses, type ModelStatus } from '../src/worker/status/model-status.js';
import { VERSION } from '../src/core/version.js';

export interface StatusSnapshot {
  host: string;
  collectedAt: number;
  worker: { version: string; pid: number; startedAt: number };
  facts: HostFactsSnapshot | { error: string };
  gpu: GpuSnapshot;
  gpuProcesses: GpuProcess[];
  models: ModelStatus[];
}

/** What /status and /models show of one host. Reads only: it never starts or wakes a model. */
export default defineJob({
  kind: 'status.snapshot',
  description: 'host facts, GPUs and the state of every model of the host',
  payload: z.strictObject({}),
  timeoutMs: 15_000,
  async process(job, ctx, signal): Promise<StatusSnapshot> {
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
  },
});
