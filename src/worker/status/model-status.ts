import type { ModelRef } from '../../config/inventory.js';
import type { WorkerContext } from '../context.js';
import { errorMessage } from '../../core/errors.js';
import type { GpuProcess, ModelStatus } from '../../contracts/lab-data.js';
import { parentMap, withDescendants } from '../../host/proc.js';

/**
 * Each model's state as its engine tells it, and the VRAM its processes hold. Only reads:
 * it never starts, loads or wakes a model.
 */
export async function modelStatuses(ctx: WorkerContext, models: ModelRef[], gpuProcesses: GpuProcess[], signal?: AbortSignal): Promise<ModelStatus[]> {
  const parents = gpuProcesses.length > 0 ? await parentMap() : new Map<number, number>();
  return await Promise.all(
    models.map(async (ref): Promise<ModelStatus> => {
      const base = { name: ref.name, aliases: ref.model.aliases, type: ref.model.type, engine: ref.model.engine.kind };
      try {
        const s = await ctx.engineFor(ref).state(signal);
        const tree = withDescendants(s.pids, parents);
        const held = gpuProcesses.filter((p) => tree.has(p.pid)).reduce((sum, p) => sum + p.usedMiB, 0);
        const vramMiB = s.vramMiB ?? (held > 0 ? held : null);
        return { ...base, state: s.state, detail: s.detail ?? null, pids: s.pids, vramMiB };
      } catch (err) {
        return { ...base, state: 'unknown', detail: errorMessage(err), pids: [], vramMiB: null };
      }
    }),
  );
}
