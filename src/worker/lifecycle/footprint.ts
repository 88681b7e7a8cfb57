import type { ModelRef } from '../../config/inventory.js';
import type { GpuProcess } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import type { Footprint } from '../../db/footprints.js';
import type { WorkerContext } from '../context.js';
import { modelStatuses } from '../status/model-status.js';

/** The recorded footprint, or null when none is recorded or the database cannot say (then the declared VRAM is used, and the log says so). */
export async function footprintOf(ctx: WorkerContext, ref: ModelRef): Promise<Footprint | null> {
  try {
    return await ctx.footprints.get(ref.host, ref.name);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not read the model footprint; using the declared VRAM');
    return null;
  }
}

/** The VRAM the model's processes hold now (Ollama: size_vram), or null where nothing is attributed. */
export async function measureVram(ctx: WorkerContext, ref: ModelRef, signal?: AbortSignal, gpuProcesses?: GpuProcess[]): Promise<number | null> {
  const processes = gpuProcesses ?? (await ctx.gpu.processes(signal));
  const [status] = await modelStatuses(ctx, [ref], processes, signal);
  return status?.vramMiB ?? null;
}

/**
 * The VRAM a model settled at after its start: read until two readings 500 ms apart agree (at most
 * `withinMs`), then recorded as its footprint for the next admission. Null when nothing was measured.
 */
export async function recordSettledFootprint(ctx: WorkerContext, ref: ModelRef, signal: AbortSignal, withinMs = 5_000): Promise<number | null> {
  if (!(await ctx.gpu.snapshot()).available) return null;
  const deadline = Date.now() + withinMs;
  const read = () =>
    measureVram(ctx, ref, signal).catch((err: unknown) => {
      ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not read the VRAM of the model');
      return null;
    });
  let last = await read();
  while (Date.now() < deadline) {
    await sleep(500, signal);
    const next = await read();
    if (next === last) break;
    last = next;
  }
  if (last === null || last <= 0) return null;
  try {
    await ctx.footprints.record(ref.host, ref.name, last);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, vramMiB: last, err: errorMessage(err) }, 'could not record the model footprint');
  }
  return last;
}
