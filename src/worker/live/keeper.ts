import type { ModelRef } from '../../config/inventory.js';
import type { GpuSnapshot, ModelState } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import { logChangedErrors } from '../../core/log-on-change.js';
import { runEvery, type Loop } from '../../core/loop.js';
import { probeHealth } from '../../engines/health.js';
import { isAlive, lazyProcessList, parentMap } from '../../host/proc.js';
import { LiveStateWriter, readLiveState, type LiveModel, type TransitionCause } from '../../state/live-state.js';
import { readStopIntent } from '../../state/stop-intent.js';
import type { AlertInputs, GhostVram, ModelTransition } from '../alerts/inputs.js';
import type { WorkerContext } from '../context.js';
import { attribute, withUsers } from './attribute.js';
import { observeModels } from './observe.js';

type Ctx = Pick<WorkerContext, 'inventory' | 'hostName' | 'host' | 'config' | 'engineFor' | 'gpu' | 'facts' | 'redis' | 'prefix' | 'logger'>;

/** How often the pids of running models are checked for an exit between passes (a kill(pid, 0) each). */
const PID_WATCH_MS = 1_000;
const isUp = (s: ModelState) => s === 'running' || s === 'starting';

/**
 * The keeper of its host's live state (src/state/live-state.ts): every model's state, pids, health and
 * VRAM, the GPUs and host facts, in Redis, refreshed by
 * - a reconcile pass every `worker.stateInterval`: every model's engine, cheaply (observe.ts);
 * - events: a model's main pid exiting (checked every second) triggers a pass at once; each sample
 *   of the streaming GPU sampler is written as it comes;
 * - each running model's health probe on its own interval (a GET, never a completion);
 * - an attribution pass every `gpu.appsInterval`: compute processes mapped to models, the rest unknown;
 * - host facts every `worker.factsInterval`.
 * It is also the alert rules' source (AlertInputs): model transitions, and ghost VRAM for every GPU
 * on every attribution pass.
 */
export class LiveStateKeeper implements AlertInputs {
  readonly writer: LiveStateWriter;
  private readonly transitions = new Set<(t: ModelTransition) => void>();
  private readonly ghosts = new Set<(g: GhostVram) => void>();
  private readonly models = new Map<string, LiveModel>();
  /** models this worker has observed itself */
  private readonly seenBefore = new Set<string>();
  private readonly refs: ModelRef[];
  private loops: Loop[] = [];
  private passes = 0;
  private pass: Promise<void> | null = null;
  private again = false;
  private lastGpuWrite = 0;
  private gpuWriting = false;
  private unsubscribeGpu: (() => void) | null = null;
  private readonly log;
  private readonly errors;

  constructor(private readonly ctx: Ctx) {
    this.writer = new LiveStateWriter(ctx.redis, ctx.prefix, ctx.hostName);
    this.refs = ctx.inventory.models(ctx.hostName);
    this.log = ctx.logger.child({ component: 'live-state' });
    this.errors = {
      reconcile: logChangedErrors(this.log, 'could not refresh the live state of the models', {}, { recovered: 'live state of the models refreshed again' }),
      gpus: logChangedErrors(this.log, 'could not attribute the GPU processes'),
      facts: logChangedErrors(this.log, 'could not write the host facts'),
      health: logChangedErrors(this.log, 'could not write a health probe'),
    };
  }

  onModelTransition(listener: (t: ModelTransition) => void): () => void {
    this.transitions.add(listener);
    return () => this.transitions.delete(listener);
  }

  onGhostVram(listener: (g: GhostVram) => void): () => void {
    this.ghosts.add(listener);
    return () => this.ghosts.delete(listener);
  }

  /** Writes a first state (a pass, the GPUs, host facts: so /status has it once the worker beats), then starts every loop. */
  async start(): Promise<void> {
    if (this.loops.length > 0) return;
    await this.restore();
    const { config, host } = this.ctx;
    const w = config.worker;
    const factsBound = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
    await Promise.all([this.reconcile(), Promise.race([this.writeFacts().then(this.errors.facts.reset, this.errors.facts.onError), factsBound])]);
    this.loops.push(runEvery(w.stateInterval, () => this.reconcile()));
    this.loops.push(runEvery(PID_WATCH_MS, () => this.watchPids()));
    this.loops.push(runEvery(w.factsInterval, () => this.writeFacts().then(this.errors.facts.reset), { onError: this.errors.facts.onError }));
    if (host.gpu.enabled) {
      this.loops.push(runEvery(host.gpu.appsInterval, () => this.attribute().then(this.errors.gpus.reset), { immediately: true, onError: this.errors.gpus.onError }));
      this.unsubscribeGpu = this.ctx.gpu.onSample((s) => this.writeGpus(s));
    }
    for (const ref of this.refs) {
      const h = ref.model.health;
      if (!h?.url && !h?.modelsUrl) continue;
      this.loops.push(runEvery(h.interval ?? w.healthInterval, () => this.probe(ref).then(this.errors.health.reset), { onError: this.errors.health.onError }));
    }
  }

  async stop(): Promise<void> {
    this.unsubscribeGpu?.();
    const loops = this.loops;
    this.loops = [];
    await Promise.all(loops.map((l) => l.stop()));
    await this.pass;
  }

  /** A reconcile pass now (one at a time; a call during a pass runs one more after it). */
  async reconcile(): Promise<void> {
    if (this.pass) {
      this.again = true;
      return await this.pass;
    }
    this.pass = (async () => {
      do {
        this.again = false;
        await this.reconcileOnce().then(this.errors.reconcile.reset, this.errors.reconcile.onError);
      } while (this.again);
    })().finally(() => {
      this.pass = null;
    });
    return await this.pass;
  }

  /** After a start or stop: the models and their VRAM, so that the state is current when the job settles. */
  async afterAction(): Promise<void> {
    await this.reconcile();
    if (this.ctx.host.gpu.enabled) await this.attribute().then(this.errors.gpus.reset, this.errors.gpus.onError);
  }

  /** The last state this worker wrote, so that `since` and the last transition survive its restart. */
  private async restore(): Promise<void> {
    try {
      const last = await readLiveState(this.ctx.redis, this.ctx.prefix, this.ctx.hostName);
      for (const ref of this.refs) {
        const m = last.models.get(ref.name);
        if (m) this.models.set(ref.name, m);
      }
      await this.writer.keepOnly(this.refs.map((r) => r.name));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not read the last live state');
    }
  }

  private async reconcileOnce(): Promise<void> {
    const states = await observeModels(this.refs, { engineFor: this.ctx.engineFor, procs: lazyProcessList(), signal: AbortSignal.timeout(15_000) });
    const changed: ModelTransition[] = [];
    for (const ref of this.refs) {
      const s = states.get(ref.name) ?? { state: 'unknown' as const, pids: [], detail: 'not observed' };
      const now = Date.now();
      const before = this.models.get(ref.name);
      const seen = this.seenBefore.has(ref.name);
      const next: LiveModel = {
        at: now,
        state: s.state,
        detail: s.detail ?? null,
        pids: s.pids,
        since: before && before.state === s.state ? before.since : now,
        vramMiB: s.vramMiB ?? (isUp(s.state) ? (before?.vramMiB ?? null) : null),
        vramAt: s.vramMiB !== undefined ? now : isUp(s.state) ? (before?.vramAt ?? null) : null,
        health: isUp(s.state) ? (before?.health ?? null) : null,
        transition: before?.transition ?? null,
      };
      const moved = before !== undefined && before.state !== s.state;
      if (!seen || moved || !before) {
        const cause = moved && !isUp(s.state) ? await this.causeOfStop(ref.name, isUp(before.state) ? before.since : null) : 'observed';
        if (moved || !before) next.transition = { from: before?.state ?? 'unknown', to: s.state, at: now, cause, detail: s.detail ?? null };
        // the rules hear `from: unknown` for a worker's first look (a restored record is not an observation)
        const from: ModelState = seen && before ? before.state : 'unknown';
        changed.push({ host: this.ctx.hostName, model: ref.name, from, to: s.state, at: now, cause, ...(s.detail ? { detail: s.detail } : {}), pinned: ref.model.pinned });
        this.seenBefore.add(ref.name);
      }
      this.models.set(ref.name, next);
    }
    await this.writer.models(this.models);
    await this.writeGpusIfQuiet();
    await this.writer.refresh({ at: Date.now(), passes: ++this.passes, intervalMs: this.ctx.config.worker.stateInterval });
    for (const t of changed) for (const l of this.transitions) l(t);
  }

  private async causeOfStop(model: string, upSince: number | null): Promise<TransitionCause> {
    const intent = await readStopIntent(this.ctx.redis, this.ctx.prefix, this.ctx.hostName, model).catch(() => null);
    return intent && (upSince === null || intent.at >= upSince) ? intent.cause : 'observed';
  }

  /** The event between passes: a running model's main process is gone. */
  private async watchPids(): Promise<void> {
    const mains = [...this.models.values()].filter((m) => isUp(m.state) && m.pids.length > 0).map((m) => m.pids[0]!);
    const alive = await Promise.all(mains.map(isAlive));
    if (alive.includes(false)) await this.reconcile();
  }

  private async probe(ref: ModelRef): Promise<void> {
    const m = this.models.get(ref.name);
    if (!m || !isUp(m.state)) return;
    const r = await probeHealth(ref, AbortSignal.timeout((ref.model.health?.timeout ?? 3_000) + 1_000)).catch((err: unknown) => ({ healthy: false, detail: errorMessage(err) }));
    const now = this.models.get(ref.name);
    if (!now || !isUp(now.state)) return;
    const next = { ...now, health: { ok: r.healthy, detail: r.detail, at: Date.now() } };
    this.models.set(ref.name, next);
    await this.writer.models({ [ref.name]: next });
  }

  private writeGpus(snapshot: GpuSnapshot): void {
    // one write in flight at most: a slow Redis skips samples rather than queueing them
    if (this.gpuWriting) return;
    this.gpuWriting = true;
    const at = Date.now();
    this.writer
      .gpus({ at, snapshot })
      .then(() => {
        this.lastGpuWrite = at;
      })
      .catch(this.errors.gpus.onError)
      .finally(() => {
        this.gpuWriting = false;
      });
  }

  /** Without samples (no GPU, sampling off, the sampler restarting), the pass writes what the monitor says. */
  private async writeGpusIfQuiet(): Promise<void> {
    const quietMs = Math.max(3 * this.ctx.host.gpu.sampleInterval, 5_000);
    if (Date.now() - this.lastGpuWrite <= quietMs) return;
    const snapshot = await this.ctx.gpu.snapshot().catch((err: unknown): GpuSnapshot => ({ available: false, reason: 'nvidia-smi failed', detail: errorMessage(err) }));
    const at = Date.now();
    await this.writer.gpus({ at, snapshot });
    if (!snapshot.available) this.lastGpuWrite = at;
  }

  private async writeFacts(): Promise<void> {
    const at = Date.now();
    const value = await this.ctx.facts.read().then(
      (facts) => ({ at, facts }),
      (err: unknown) => ({ at, error: errorMessage(err) }),
    );
    await this.writer.facts(value);
  }

  /** One attribution pass: compute processes → models, the rest unknown; VRAM per model; ghost VRAM per GPU. */
  async attribute(): Promise<void> {
    const snapshot = await this.ctx.gpu.snapshot();
    if (!snapshot.available) {
      await this.writer.processes({ at: Date.now(), processes: [] });
      return;
    }
    const processes = await this.ctx.gpu.processes(AbortSignal.timeout(15_000));
    const parents = processes.length > 0 ? await parentMap() : new Map<number, number>();
    const ollama = this.refs.filter((r) => r.model.engine.kind === 'ollama');
    const ollamaModel = (ollama.find((r) => isUp(this.models.get(r.name)?.state ?? 'unknown')) ?? ollama[0])?.name ?? null;
    const pids = new Map([...this.models].map(([name, m]) => [name, m.pids]));
    const owned = await withUsers(attribute(processes, { pids, parents, ollamaModel }));
    const at = Date.now();

    const held = new Map<string, number>();
    for (const p of owned) if (p.model) held.set(p.model, (held.get(p.model) ?? 0) + p.usedMiB);
    for (const [name, m] of this.models) {
      if (!isUp(m.state) || m.pids.length === 0) continue; // Ollama's own size_vram stays
      const mib = held.get(name);
      this.models.set(name, { ...m, vramMiB: mib ?? null, vramAt: at });
    }
    await this.writer.processes({ at, processes: owned });
    await this.writer.models(this.models);

    for (const gpu of snapshot.gpus) {
      const mine = owned.filter((p) => p.gpuUuid === gpu.uuid && p.model === null).map((p) => ({ pid: p.pid, name: p.name, user: p.user, usedMiB: p.usedMiB }));
      const g: GhostVram = { host: this.ctx.hostName, gpuIndex: gpu.index, gpuUuid: gpu.uuid, processes: mine, unknownMiB: mine.reduce((n, p) => n + p.usedMiB, 0), at };
      for (const l of this.ghosts) l(g);
    }
  }
}
