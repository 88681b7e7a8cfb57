import { z } from 'zod';
import { defineContract, inventoryName } from './define.js';

export const stopResultSchema = z.object({
  status: z.enum(['stopped', 'already-stopped', 'kept']),
  host: z.string(),
  model: z.string(),
  jobId: z.string(),
  requestId: z.string().nullable(),
  requestedBy: z.string().nullable(),
  /** its state before */
  before: z.string(),
  /** VRAM its processes held just before the stop */
  freedMiB: z.number().nullable(),
  /** automatic stops: why it was stopped, or kept */
  reason: z.string().nullable(),
});
export type StopResult = z.infer<typeof stopResultSchema>;

/** Stops a model; an idle unload (`ifIdle`) re-checks under the model's lock that it is still idle and not pinned. */
export const modelStop = defineContract({
  kind: 'model.stop',
  description: 'stop a model (idle unloads re-check that it is still idle)',
  payload: z.strictObject({
    model: inventoryName,
    /** an automatic stop: only if the model is still idle for this long when the job runs (and never a pinned one) */
    ifIdle: z.strictObject({ ttlMs: z.number().int().positive() }).optional(),
    requestId: z.string().max(64).optional(),
  }),
  result: stopResultSchema,
  timeoutMs: 5 * 60_000,
});
