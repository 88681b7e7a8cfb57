import type { GpuProcess } from '../../contracts/lab-data.js';
import { withDescendants } from '../../host/proc.js';
import { processUser } from '../../host/users.js';
import type { LiveProcess } from '../../state/live-state.js';

export interface Owners {
  /** each model's own pids (main pid first), as its engine gave them */
  pids: ReadonlyMap<string, readonly number[]>;
  /** parent of every live process (/proc) */
  parents: Map<number, number>;
  /** the model that owns processes named like `ollama` (Ollama gives no pids); null without one */
  ollamaModel: string | null;
}

/**
 * Which model each compute process belongs to: the model whose pids (or their descendants) include
 * it; an `ollama` process goes to the host's Ollama model. The rest are unknown (`model: null`).
 */
export function attribute(processes: readonly GpuProcess[], owners: Owners): (GpuProcess & { model: string | null })[] {
  const trees = [...owners.pids].map(([model, pids]) => ({ model, tree: withDescendants(pids, owners.parents) }));
  return processes.map((p) => {
    const owner = trees.find((t) => t.tree.has(p.pid))?.model ?? (owners.ollamaModel && /ollama/i.test(p.name) ? owners.ollamaModel : null);
    return { ...p, model: owner };
  });
}

/** The attributed processes with the user each runs as. */
export async function withUsers(processes: readonly (GpuProcess & { model: string | null })[]): Promise<LiveProcess[]> {
  return await Promise.all(processes.map(async (p) => ({ ...p, user: await processUser(p.pid) })));
}
