import type { ModelRef } from '../../config/inventory.js';
import type { GpuProcess } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import type { Action } from '../../core/reply.js';
import { parentMap, withDescendants } from '../../host/proc.js';
import type { WorkerContext } from '../context.js';
import { BUSY_WITHIN_MS } from '../lifecycle/running-models.js';
import { isUp } from '../lifecycle/stop-model.js';
import { modelStatuses } from '../status/model-status.js';

/** A running, unpinned model with no request in the last few minutes, and the VRAM it holds on one GPU. */
export interface IdleModel {
  name: string;
  vramMiB: number;
  /** its last request within the busy window: null none; undefined: no request source */
  lastRequestAt?: number | null;
}

/** The "Stop idle models" button of a VRAM or ghost alert, and the line that says what it frees. */
export interface StopIdleOffer {
  models: IdleModel[];
  freesMiB: number;
  needMiB: number;
  action: Action;
  line: string;
}

/**
 * The idle, unpinned models holding VRAM on one GPU (by the GPU's compute processes and each
 * model's process tree; a one-GPU host also counts what the engine itself reports, e.g. Ollama's
 * size_vram). A model whose requests cannot be read is not offered: it may be busy.
 */
export async function idleModelsOnGpu(ctx: WorkerContext, gpu: { uuid: string }, signal?: AbortSignal, now = Date.now()): Promise<IdleModel[]> {
  const refs = ctx.inventory.models(ctx.hostName).filter((r) => !r.model.pinned);
  if (refs.length === 0) return [];
  const [processes, snapshot] = await Promise.all([ctx.gpu.processes(signal, { maxAgeMs: ctx.host.gpu.appsInterval }), ctx.gpu.snapshot()]);
  const single = snapshot.available && snapshot.gpus.length === 1;
  const statuses = await modelStatuses(ctx, refs, processes, signal);
  const parents = processes.length > 0 ? await parentMap() : new Map<number, number>();
  const out: IdleModel[] = [];
  for (const ref of refs) {
    const s = statuses.find((x) => x.name === ref.name);
    if (!s || !isUp(s.state)) continue;
    const vramMiB = heldOnGpu(processes, withDescendants(s.pids, parents), gpu.uuid) || (single ? (s.vramMiB ?? 0) : 0);
    if (vramMiB <= 0) continue;
    const lastRequestAt = await lastRequest(ctx, ref, now);
    if (lastRequestAt === 'unknown') continue;
    if (typeof lastRequestAt === 'number' && now - lastRequestAt < BUSY_WITHIN_MS) continue;
    out.push({ name: ref.name, vramMiB, ...(lastRequestAt !== undefined ? { lastRequestAt } : {}) });
  }
  return out;
}

function heldOnGpu(processes: GpuProcess[], tree: Set<number>, uuid: string): number {
  return processes.filter((p) => p.gpuUuid === uuid && tree.has(p.pid)).reduce((n, p) => n + p.usedMiB, 0);
}

async function lastRequest(ctx: WorkerContext, ref: ModelRef, now: number): Promise<number | null | undefined | 'unknown'> {
  if (!ctx.activity) return undefined;
  try {
    return await ctx.activity.lastRequest(ref, now - BUSY_WITHIN_MS);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not read the requests of a model; it is not offered for a stop');
    return 'unknown';
  }
}

/** The fewest VRAM to stop: the smallest single model that frees enough, else the largest first until enough; null when all together do not. */
export function pickToFree(idle: readonly IdleModel[], needMiB: number): IdleModel[] | null {
  const single = idle.filter((m) => m.vramMiB >= needMiB).sort((a, b) => a.vramMiB - b.vramMiB || a.name.localeCompare(b.name))[0];
  if (single) return [single];
  const picked: IdleModel[] = [];
  let freed = 0;
  for (const m of [...idle].sort((a, b) => b.vramMiB - a.vramMiB || a.name.localeCompare(b.name))) {
    picked.push(m);
    freed += m.vramMiB;
    if (freed >= needMiB) return picked;
  }
  return null;
}

/** The button opens /stop's own confirmation (one model, and `also` the others), as whoever presses it. */
export function stopIdleOffer(host: string, picked: IdleModel[], needMiB: number, goal: string): StopIdleOffer {
  const [first, ...rest] = picked;
  const freesMiB = picked.reduce((n, m) => n + m.vramMiB, 0);
  const names = picked.map((m) => `${m.name} (${mib(m.vramMiB)})`).join(', ');
  return {
    models: picked,
    freesMiB,
    needMiB,
    action: { label: 'Stop idle models', command: 'stop', options: { model: first!.name, host, ...(rest.length > 0 ? { also: rest.map((m) => m.name).join(',') } : {}) }, style: 'danger' },
    line: `Stopping the idle, unpinned ${picked.length === 1 ? 'model' : 'models'} ${names} frees ${mib(freesMiB)} and ${goal}.`,
  };
}

/** For a rule: the offer for one GPU and what must be freed there, or null when no idle models free enough. */
export async function offerFor(ctx: WorkerContext, gpu: { uuid: string }, needMiB: number, goal: string): Promise<StopIdleOffer | null> {
  const picked = pickToFree(await idleModelsOnGpu(ctx, gpu, AbortSignal.timeout(15_000)), needMiB);
  return picked ? stopIdleOffer(ctx.hostName, picked, needMiB, goal) : null;
}
