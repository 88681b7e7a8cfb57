import type { ModelRef } from '../../config/inventory.js';
import type { WorkerContext } from '../context.js';
import { sleep } from '../../core/sleep.js';
import type { Admission } from '../../contracts/model-start.js';
import { admit, gpuFree } from './admission.js';
import { footprintOf } from './footprint.js';
import { BUSY_WITHIN_MS, runningModels } from './running-models.js';

/** How long a start made room for waits for the GPU to show the freed VRAM. */
export const VRAM_SETTLE_MS = 10_000;

/**
 * Admission of a start on this worker's host, with live numbers: the model's footprint (measured,
 * else declared), the GPUs' free VRAM, the host's reserve, and — only where it does not fit — the
 * running models that could make room.
 *
 * `freedAfter`: models were just stopped to make room; wait (at most VRAM_SETTLE_MS) for a GPU
 * sample taken after that time which shows the room.
 */
export async function checkAdmission(ctx: WorkerContext, ref: ModelRef, opts: { force: boolean; signal: AbortSignal; freedAfter?: number }): Promise<Admission> {
  const footprint = await footprintOf(ctx, ref);
  const needMiB = footprint?.vramMiB ?? ref.model.vramMiB;
  const needSource = footprint ? ('measured' as const) : ('declared' as const);
  const evaluate = async (withRunning: boolean): Promise<Admission> =>
    admit({
      model: ref.name,
      needMiB,
      needSource,
      gpu: gpuFree(await ctx.gpu.snapshot()),
      reserveMiB: ctx.host.vramReserveMiB,
      running: withRunning ? await runningModels(ctx, opts.signal) : [],
      force: opts.force,
      now: Date.now(),
      busyWithinMs: BUSY_WITHIN_MS,
    });

  if (opts.freedAfter !== undefined) {
    const deadline = Date.now() + VRAM_SETTLE_MS;
    for (;;) {
      const snapshot = await ctx.gpu.snapshot();
      if (!snapshot.available) break;
      if (snapshot.at >= opts.freedAfter) {
        const a = await evaluate(false);
        if (a.verdict !== 'refuse') return a;
      }
      if (Date.now() >= deadline) break;
      await sleep(250, opts.signal);
    }
  }
  const quick = await evaluate(false);
  return quick.verdict === 'refuse' ? await evaluate(true) : quick;
}
