import type { Redis } from '../../redis/connection.js';
import { liveStateKey, processesFieldSchema, type LiveProcess } from '../../state/live-state.js';
import type { VramAttribution } from './history-recorder.js';

/** MiB per model on each GPU (by uuid); processes of no model are left out (the chart shows them as unknown). */
export function byModelPerGpu(processes: readonly LiveProcess[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const p of processes) {
    if (p.model === null) continue;
    const gpu = out.get(p.gpuUuid) ?? {};
    gpu[p.model] = (gpu[p.model] ?? 0) + p.usedMiB;
    out.set(p.gpuUuid, gpu);
  }
  return out;
}

/**
 * The attribution the history stores with each sample: the live state's attributed processes,
 * re-read at most every `everyMs` (the live state refreshes them at the compute-apps pace anyway).
 */
export function liveAttribution(redis: Redis, prefix: string, host: string, everyMs: number): VramAttribution {
  let current = new Map<string, Record<string, number>>();
  let readAt = 0;
  let reading = false;
  return () => {
    if (!reading && Date.now() - readAt >= everyMs) {
      reading = true;
      readAt = Date.now();
      redis
        .hget(liveStateKey(prefix, host), 'processes')
        .then((raw) => {
          const parsed = raw ? processesFieldSchema.safeParse(JSON.parse(raw)) : null;
          current = byModelPerGpu(parsed?.success ? parsed.data.processes : []);
        })
        .catch(() => undefined) // the history writer logs Redis trouble
        .finally(() => {
          reading = false;
        });
    }
    return current;
  };
}
