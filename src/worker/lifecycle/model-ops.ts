import { closest, type ModelRef } from '../../config/inventory.js';
import type { WorkerContext } from '../context.js';
import type { EngineState } from '../../engines/engine.js';
import { sleep } from '../../core/sleep.js';
import { errorMessage, failedError, unavailableError, usageError } from '../../core/errors.js';
import type { GpuProcess } from '../../gpu/monitor.js';
import { modelStatuses } from '../status/model-status.js';
import { mib } from '../../core/format.js';
import { spendLogActivity } from './activity.js';
import type { RunningModel } from './admission.js';
import { FootprintStore, type Footprint } from '../../db/footprints.js';
import { startedAtKey, startedByKey } from '../../state/model-keys.js';

/** Requests within this long make a running model busy: admission does not offer to stop it. */
export const BUSY_WITHIN_MS = 5 * 60_000;

/**
 * The model of this worker's host with exactly this name. The bot resolved aliases and prefixes;
 * the worker takes only inventory names (a job's payload is untrusted input).
 */
export function modelOnHost(ctx: WorkerContext, name: string): ModelRef {
  const models = ctx.inventory.models(ctx.hostName);
  const ref = models.find((m) => m.name === name);
  if (ref) return ref;
  throw usageError(
    `The worker on ${ctx.hostName} has no model "${name}" in its inventory.`,
    models.length > 0 ? `Its models: ${closest(name, models.map((m) => m.name)).slice(0, 5).join(', ')}` : 'This host has no models in labops.yaml.',
  );
}

export function footprints(ctx: Pick<WorkerContext, 'audit'>): FootprintStore {
  return new FootprintStore(ctx.audit.database, ctx.audit.schema);
}

/** The recorded footprint, or null when none is recorded or the database cannot say. */
export async function footprintOf(ctx: WorkerContext, ref: ModelRef): Promise<Footprint | null> {
  try {
    return await footprints(ctx).get(ref.host, ref.name);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not read the model footprint; using the declared VRAM');
    return null;
  }
}

/** The VRAM the model's processes hold now (Ollama: size_vram), or null where nothing is attributed. */
export async function measureVram(ctx: WorkerContext, ref: ModelRef, signal?: AbortSignal, gpuProcesses?: GpuProcess[]): Promise<number | null> {
  const processes = gpuProcesses ?? (await ctx.gpu.processes(signal).catch(() => [] as GpuProcess[]));
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
  let last = await measureVram(ctx, ref, signal);
  while (Date.now() < deadline) {
    await sleep(500, signal);
    const next = await measureVram(ctx, ref, signal);
    if (next === last) break;
    last = next;
  }
  if (last === null || last <= 0) return null;
  try {
    await footprints(ctx).record(ref.host, ref.name, last);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, vramMiB: last, err: errorMessage(err) }, 'could not record the model footprint');
  }
  return last;
}

// ---- when a model started (the idle clock starts there when no request came later)

export async function markStarted(ctx: WorkerContext, ref: ModelRef, opts: { at?: number; onlyIfUnknown?: boolean; jobId?: string } = {}): Promise<void> {
  const key = startedAtKey(ctx.prefix, ref.host, ref.name);
  const at = String(opts.at ?? Date.now());
  try {
    if (opts.onlyIfUnknown) await ctx.redis.set(key, at, 'NX');
    else await ctx.redis.set(key, at);
    if (opts.jobId) await ctx.redis.set(startedByKey(ctx.prefix, ref.host, ref.name), opts.jobId);
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err: errorMessage(err) }, 'could not record when the model started');
  }
}

export async function clearStarted(ctx: WorkerContext, ref: ModelRef): Promise<void> {
  await ctx.redis.del(startedAtKey(ctx.prefix, ref.host, ref.name), startedByKey(ctx.prefix, ref.host, ref.name)).catch(() => undefined);
}

export async function startedAt(ctx: WorkerContext, ref: ModelRef): Promise<number | null> {
  const value = await ctx.redis.get(startedAtKey(ctx.prefix, ref.host, ref.name));
  const n = Number(value);
  return value !== null && Number.isFinite(n) && n > 0 ? n : null;
}

/** The id of the job that started the model, if labops started it. */
export async function startedBy(ctx: WorkerContext, ref: ModelRef): Promise<string | null> {
  return await ctx.redis.get(startedByKey(ctx.prefix, ref.host, ref.name)).catch(() => null);
}

// ---- stop

export const isUp = (s: EngineState['state']) => s === 'running' || s === 'starting';

export interface StopOutcome {
  model: string;
  /** it was not running: nothing was done */
  alreadyStopped: boolean;
  /** its state before (with the engine's note) */
  before: string;
  /** VRAM its processes held just before the stop, MiB */
  freedMiB: number | null;
}

/** Stops a model and checks that it is down. The caller holds the model's lock. */
export async function stopModel(ctx: WorkerContext, ref: ModelRef, signal: AbortSignal, progress?: (text: string) => void): Promise<StopOutcome> {
  const engine = ctx.engineFor(ref);
  const before = await engine.state(signal);
  const describe = (s: EngineState) => (s.detail ? `${s.state} (${s.detail})` : s.state);
  if (before.state === 'unknown') {
    throw unavailableError(`Cannot tell whether ${ref.name} runs on ${ref.host}: ${before.detail ?? 'unknown state'}.`, 'Nothing was stopped.');
  }
  if (!isUp(before.state)) {
    await clearStarted(ctx, ref);
    return { model: ref.name, alreadyStopped: true, before: describe(before), freedMiB: null };
  }
  const freedMiB = await measureVram(ctx, ref, signal);
  progress?.(`stopping ${ref.name}${freedMiB ? ` (holds ${mib(freedMiB)})` : ''}`);
  await engine.stop(signal);
  const after = await engine.state(signal);
  if (isUp(after.state)) {
    throw failedError(`${ref.name} is still ${describe(after)} after the stop.`, `Look at its log; pids ${after.pids.join(', ') || '?'}.`);
  }
  await clearStarted(ctx, ref);
  return { model: ref.name, alreadyStopped: false, before: describe(before), freedMiB };
}

// ---- what runs now, for admission

/** Every model of the host that runs or is starting, with the VRAM its stop would free and its last request. */
export async function runningModels(ctx: WorkerContext, signal: AbortSignal): Promise<RunningModel[]> {
  const refs = ctx.inventory.models(ctx.hostName);
  const processes = await ctx.gpu.processes(signal).catch(() => [] as GpuProcess[]);
  const [statuses, known] = await Promise.all([
    modelStatuses(ctx, refs, processes, signal),
    footprints(ctx)
      .all([ctx.hostName])
      .catch(() => new Map<string, Footprint>()),
  ]);
  const activity = spendLogActivity(ctx.config);
  const now = Date.now();
  const out: RunningModel[] = [];
  for (const ref of refs) {
    const s = statuses.find((x) => x.name === ref.name);
    if (!s || !isUp(s.state)) continue;
    let lastRequestAt: number | null | undefined;
    if (activity) lastRequestAt = await activity.lastRequest(ref, now - BUSY_WITHIN_MS).catch(() => undefined);
    out.push({
      name: ref.name,
      vramMiB: s.vramMiB ?? known.get(`${ref.host}/${ref.name}`)?.vramMiB ?? ref.model.vramMiB,
      pinned: ref.model.pinned,
      ...(lastRequestAt !== undefined ? { lastRequestAt } : {}),
    });
  }
  return out;
}
