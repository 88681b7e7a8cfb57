import { z } from 'zod';

/**
 * The shapes of what a worker reports about its host, shared by the worker that measures them
 * and the bot that shows them.
 */

/** One GPU as nvidia-smi reports it (MiB, %, °C, W; null where nvidia-smi prints [N/A]). */
export const gpuInfoSchema = z.object({
  index: z.number(),
  uuid: z.string(),
  name: z.string(),
  totalMiB: z.number(),
  usedMiB: z.number(),
  freeMiB: z.number(),
  utilPct: z.number().nullable(),
  tempC: z.number().nullable(),
  powerW: z.number().nullable(),
});
export type GpuInfo = z.infer<typeof gpuInfoSchema>;

/** A process holding VRAM (nvidia-smi --query-compute-apps). */
export const gpuProcessSchema = z.object({
  pid: z.number(),
  name: z.string(),
  usedMiB: z.number(),
  gpuUuid: z.string(),
});
export type GpuProcess = z.infer<typeof gpuProcessSchema>;

export const gpuSnapshotSchema = z.discriminatedUnion('available', [
  z.object({ available: z.literal(true), at: z.number(), gpus: z.array(gpuInfoSchema) }),
  z.object({ available: z.literal(false), reason: z.string(), detail: z.string().optional() }),
]);
export type GpuSnapshot = z.infer<typeof gpuSnapshotSchema>;

export const hostFactsSchema = z.object({
  hostname: z.string(),
  os: z.string(),
  kernel: z.string(),
  cpu: z.object({ model: z.string(), cores: z.number(), loadPct: z.number() }),
  memory: z.object({ totalMiB: z.number(), usedMiB: z.number() }),
  disk: z.object({ path: z.string(), mount: z.string(), totalGiB: z.number(), usedGiB: z.number() }).nullable(),
  uptimeS: z.number(),
});
export type HostFactsSnapshot = z.infer<typeof hostFactsSchema>;

export const MODEL_STATES = ['stopped', 'starting', 'running', 'failed', 'unknown'] as const;
export const modelStateSchema = z.enum(MODEL_STATES);
export type ModelState = z.infer<typeof modelStateSchema>;

export const modelStatusSchema = z.object({
  name: z.string(),
  aliases: z.array(z.string()),
  type: z.string(),
  engine: z.string(),
  state: modelStateSchema,
  detail: z.string().nullable(),
  pids: z.array(z.number()),
  /** VRAM its processes hold now (MiB), null where nothing could be attributed */
  vramMiB: z.number().nullable(),
});
export type ModelStatus = z.infer<typeof modelStatusSchema>;
