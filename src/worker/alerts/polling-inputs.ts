import type { ModelRef } from '../../config/inventory.js';
import type { GpuProcess, ModelState } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import { logChangedErrors } from '../../core/log-on-change.js';
import { runEvery, type Loop } from '../../core/loop.js';
import { parentMap, withDescendants } from '../../host/proc.js';
import { processUser } from '../../host/users.js';
import { key } from '../../redis/connection.js';
import { readStopIntent } from '../../state/stop-intent.js';
import type { WorkerContext } from '../context.js';
import type { AlertInputs, GhostVram, ModelTransition, TransitionCause } from './inputs.js';

/** The passes of the driver on a host: `{ models, modelsAt, ghosts, ghostsAt }` (observable, as the idle-unload loop's). */
export const alertInputsPassKey = (prefix: string, host: string) => key(prefix, 'alert-inputs', host);

type Ctx = Pick<WorkerContext, 'inventory' | 'hostName' | 'engineFor' | 'gpu' | 'redis' | 'prefix' | 'logger'>;

export interface PollingInputsOptions {
  /** how often every model's engine is asked for its state; null: never (no model transitions) */
  modelsEveryMs: number | null;
  /** how often the GPUs' compute processes are read; null: never (no ghost VRAM) */
  ghostEveryMs: number | null;
}

/**
 * A stand-in for the live state's events: polls each engine's `state()` and nvidia-smi's compute
 * processes, and emits what changed as ModelTransition and GhostVram events. A stop by labops is
 * told from a crash by the stop intent the stop path records (`src/state/stop-intent.ts`).
 *
 * Attribution is simple: a process belongs to a model when it is in the process tree of the
 * engine's pids; Ollama gives no pids, so processes named like `ollama` count as Ollama's when the
 * host has an Ollama model.
 */
export class PollingAlertInputs implements AlertInputs {
  private readonly transitions = new Set<(t: ModelTransition) => void>();
  private readonly ghosts = new Set<(g: GhostVram) => void>();
  private readonly last = new Map<string, { state: ModelState; upSince: number | null }>();
  /** every model's pids as of the last model pass (the ghost pass reuses them while they are fresh) */
  private pids: { at: number; list: number[] } | null = null;
  private loops: Loop[] = [];
  private passes = { models: 0, ghosts: 0 };
  private readonly log;

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: PollingInputsOptions,
  ) {
    this.log = ctx.logger.child({ component: 'alert-inputs' });
  }

  onModelTransition(listener: (t: ModelTransition) => void): () => void {
    this.transitions.add(listener);
    return () => this.transitions.delete(listener);
  }

  onGhostVram(listener: (g: GhostVram) => void): () => void {
    this.ghosts.add(listener);
    return () => this.ghosts.delete(listener);
  }

  start(): void {
    if (this.loops.length > 0) return;
    const modelErrors = logChangedErrors(this.log, 'could not poll the models for alerts');
    const ghostErrors = logChangedErrors(this.log, 'could not read the GPU processes for the ghost VRAM alert');
    // the first passes come one interval after the start, not in the worker's own start-up burst
    if (this.opts.modelsEveryMs !== null) this.loops.push(runEvery(this.opts.modelsEveryMs, () => this.pollModels().then(modelErrors.reset), { onError: modelErrors.onError }));
    if (this.opts.ghostEveryMs !== null) this.loops.push(runEvery(this.opts.ghostEveryMs, () => this.pollGhosts().then(ghostErrors.reset), { onError: ghostErrors.onError }));
  }

  async stop(): Promise<void> {
    const loops = this.loops;
    this.loops = [];
    await Promise.all(loops.map((l) => l.stop()));
  }

  /** One pass over the models (the loop runs them on its interval). */
  async pollModels(): Promise<void> {
    const refs = this.ctx.inventory.models(this.ctx.hostName);
    // one engine at a time: a pass is a trickle of small calls, not a burst of processes
    const states: { ref: ModelRef; s: Awaited<ReturnType<PollingAlertInputs['stateOf']>> }[] = [];
    for (const ref of refs) states.push({ ref, s: await this.stateOf(ref) });
    this.pids = { at: Date.now(), list: states.flatMap(({ s }) => s.pids) };
    for (const { ref, s } of states) {
      const now = Date.now();
      const before = this.last.get(ref.name);
      const up = s.state === 'running' || s.state === 'starting';
      const upSince = up ? (before?.upSince ?? now) : null;
      this.last.set(ref.name, { state: s.state, upSince });
      if (before && before.state === s.state) continue;
      const from: ModelState = before?.state ?? 'unknown';
      const cause = before && !up ? await this.causeOfStop(ref, before.upSince) : 'observed';
      this.emitTransition({ host: this.ctx.hostName, model: ref.name, from, to: s.state, at: now, cause, ...(s.detail ? { detail: s.detail } : {}), pinned: ref.model.pinned });
    }
    await this.pass('models');
  }

  /** One pass over the GPUs' compute processes. */
  async pollGhosts(): Promise<void> {
    const snapshot = await this.ctx.gpu.snapshot();
    if (!snapshot.available) return;
    const processes = await this.ctx.gpu.processes(AbortSignal.timeout(15_000));
    const unknown = await this.unowned(processes);
    const at = Date.now();
    const users = new Map(await Promise.all(unknown.map(async (p) => [p.pid, await processUser(p.pid)] as const)));
    for (const gpu of snapshot.gpus) {
      const mine = unknown.filter((p) => p.gpuUuid === gpu.uuid).map((p) => ({ pid: p.pid, name: p.name, user: users.get(p.pid) ?? '?', usedMiB: p.usedMiB }));
      this.emitGhost({ host: this.ctx.hostName, gpuIndex: gpu.index, gpuUuid: gpu.uuid, processes: mine, unknownMiB: mine.reduce((n, p) => n + p.usedMiB, 0), at });
    }
    await this.pass('ghosts');
  }

  private async pass(what: 'models' | 'ghosts'): Promise<void> {
    const n = ++this.passes[what];
    await this.ctx.redis.hset(alertInputsPassKey(this.ctx.prefix, this.ctx.hostName), { [what]: n, [`${what}At`]: Date.now() }).catch(() => undefined);
  }

  private async stateOf(ref: ModelRef): Promise<{ state: ModelState; detail?: string; pids: number[] }> {
    try {
      return await this.ctx.engineFor(ref).state(AbortSignal.timeout(10_000));
    } catch (err) {
      return { state: 'unknown', detail: errorMessage(err), pids: [] };
    }
  }

  private async causeOfStop(ref: ModelRef, upSince: number | null): Promise<TransitionCause> {
    const intent = await readStopIntent(this.ctx.redis, this.ctx.prefix, this.ctx.hostName, ref.name).catch(() => null);
    return intent && (upSince === null || intent.at >= upSince) ? intent.cause : 'observed';
  }

  private async unowned(processes: GpuProcess[]): Promise<GpuProcess[]> {
    if (processes.length === 0) return [];
    const refs = this.ctx.inventory.models(this.ctx.hostName);
    const ollama = refs.some((r) => r.model.engine.kind === 'ollama');
    const parents = await parentMap();
    const unowned = (pids: number[]) => {
      const owned = withDescendants(pids, parents);
      return processes.filter((p) => !owned.has(p.pid) && !(ollama && /ollama/i.test(p.name)));
    };
    // the pids of the last model pass while fresh; asked again only when they leave a process unowned
    const cached = this.pids && this.opts.modelsEveryMs !== null && Date.now() - this.pids.at <= 2 * this.opts.modelsEveryMs ? unowned(this.pids.list) : null;
    if (cached && cached.length === 0) return cached;
    const pids: number[] = [];
    for (const ref of refs) pids.push(...(await this.stateOf(ref)).pids);
    return unowned(pids);
  }

  private emitTransition(t: ModelTransition): void {
    for (const l of this.transitions) l(t);
  }

  private emitGhost(g: GhostVram): void {
    for (const l of this.ghosts) l(g);
  }
}
