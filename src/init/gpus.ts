import type { GpuProcess, GpuSnapshot } from '../gpu/monitor.js';
import { NvidiaSmiError, queryApps, queryGpus } from '../gpu/nvidia-smi.js';
import { processTree } from '../host/proc.js';

export interface GpusFound {
  snapshot: GpuSnapshot;
  /** processes holding VRAM now */
  apps: GpuProcess[];
  /** why the per-process query failed, when it did */
  appsProblem?: string;
}

export async function readGpus(bin = 'nvidia-smi', signal?: AbortSignal): Promise<GpusFound> {
  const snapshot = await queryGpus(bin, { signal });
  if (!snapshot.available) return { snapshot, apps: [] };
  try {
    return { snapshot, apps: await queryApps(bin, { signal }) };
  } catch (err) {
    if (err instanceof NvidiaSmiError) return { snapshot, apps: [], appsProblem: err.message };
    throw err;
  }
}

/**
 * The VRAM a running server holds: what nvidia-smi attributes to its main process and the
 * processes under it (a start script's server, vLLM's workers). Undefined when none of them holds VRAM.
 */
export async function vramOfProcess(mainPid: number, apps: readonly GpuProcess[]): Promise<number | undefined> {
  if (mainPid <= 0 || apps.length === 0) return undefined;
  const tree = new Set(await processTree([mainPid]));
  const held = apps.filter((a) => tree.has(a.pid));
  return held.length > 0 ? held.reduce((sum, a) => sum + a.usedMiB, 0) : undefined;
}

export function describeGpus(snapshot: GpuSnapshot): string {
  if (!snapshot.available) return `${snapshot.reason}${snapshot.detail ? ` (${snapshot.detail})` : ''}`;
  const byName = new Map<string, { count: number; totalMiB: number }>();
  for (const gpu of snapshot.gpus) {
    const entry = byName.get(gpu.name) ?? { count: 0, totalMiB: 0 };
    entry.count += 1;
    entry.totalMiB += gpu.totalMiB;
    byName.set(gpu.name, entry);
  }
  return [...byName].map(([name, { count, totalMiB }]) => `${count}× ${name} (${totalMiB} MiB)`).join(', ') || 'none';
}
