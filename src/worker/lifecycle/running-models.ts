import type { GpuProcess } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import type { Footprint } from '../../db/footprints.js';
import type { WorkerContext } from '../context.js';
import { modelStatuses } from '../status/model-status.js';
import type { RunningModel } from './admission.js';
import { isUp } from './stop-model.js';

/** Requests within this long make a running model busy: admission does not offer to stop it. */
export const BUSY_WITHIN_MS = 5 * 60_000;

/**
 * Every model of the host that runs or is starting, with the VRAM its stop would free and its last
 * request. Fails closed: a model whose requests cannot be read carries the reason, and admission
 * does not offer it for a stop.
 */
export async function runningModels(ctx: WorkerContext, signal: AbortSignal): Promise<RunningModel[]> {
  const refs = ctx.inventory.models(ctx.hostName);
  const [processes, known] = await Promise.all([
    ctx.gpu.processes(signal).catch((err: unknown) => {
      ctx.logger.warn({ err: errorMessage(err) }, 'could not read the GPU processes; running models count with their recorded or declared VRAM');
      return [] as GpuProcess[];
    }),
    ctx.footprints.all([ctx.hostName]).catch((err: unknown) => {
      ctx.logger.warn({ err: errorMessage(err) }, 'could not read the recorded footprints; running models count with their declared VRAM');
      return new Map<string, Footprint>();
    }),
  ]);
  const statuses = await modelStatuses(ctx, refs, processes, signal);
  const now = Date.now();
  const out: RunningModel[] = [];
  for (const ref of refs) {
    const s = statuses.find((x) => x.name === ref.name);
    if (!s || !isUp(s.state)) continue;
    const model: RunningModel = {
      name: ref.name,
      vramMiB: s.vramMiB ?? known.get(`${ref.host}/${ref.name}`)?.vramMiB ?? ref.model.vramMiB,
      pinned: ref.model.pinned,
    };
    if (ctx.activity) {
      try {
        model.lastRequestAt = await ctx.activity.lastRequest(ref, now - BUSY_WITHIN_MS);
      } catch (err) {
        model.activityError = `its requests could not be read (${errorMessage(err)})`;
      }
    }
    out.push(model);
  }
  return out;
}
