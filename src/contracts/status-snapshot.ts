import { z } from 'zod';
import { defineContract } from './define.js';
import { gpuProcessSchema, gpuSnapshotSchema, hostFactsSchema, modelStatusSchema } from './lab-data.js';

export const statusSnapshotResult = z.object({
  host: z.string(),
  collectedAt: z.number(),
  worker: z.object({ version: z.string(), pid: z.number(), startedAt: z.number() }),
  facts: z.union([hostFactsSchema, z.object({ error: z.string() })]),
  gpu: gpuSnapshotSchema,
  gpuProcesses: z.array(gpuProcessSchema),
  models: z.array(modelStatusSchema),
});
export type StatusSnapshot = z.infer<typeof statusSnapshotResult>;

/** What /status and /models show of one host. Reads only: it never starts or wakes a model. */
export const statusSnapshot = defineContract({
  kind: 'status.snapshot',
  description: 'host facts, GPUs and the state of every model of the host',
  payload: z.strictObject({}),
  result: statusSnapshotResult,
  timeoutMs: 15_000,
});
