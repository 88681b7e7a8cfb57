import type { ModelRef } from '../../config/inventory.js';
import type { WorkerContext } from '../context.js';
import { formatDuration } from '../../core/duration.js';
import { logChangedErrors } from '../../core/log-on-change.js';
import { idlePolicy } from '../../config/idle-policy.js';
import { idlePassKey } from '../../state/model-keys.js';
import { clearStarted, markStarted, startedAt } from './started.js';

export type IdleCheck =
  | { idle: false; applies: false; note: string }
  | {
      idle: boolean;
      applies: true;
      ttlMs: number;
      /** the newest request within the window looked at, or null */
      lastRequestAt: number | null;
      startedAt: number;
      /** from the later of the last request and the start */
      idleForMs: number;
      note: string;
    };

/** Requests this much older than the TTL are not looked for: they cannot matter. */
const WINDOW_SLACK_MS = 60_000;

/**
 * Whether a running model has been idle for its TTL: idle is measured from the later of its last
 * request (LiteLLM's spend logs) and its start (when labops started it, or first saw it running).
 */
export async function idleCheck(ctx: WorkerContext, ref: ModelRef, now = Date.now()): Promise<IdleCheck> {
  const policy = idlePolicy(ctx.config, ref);
  const source = ctx.activity;
  if (policy.mode !== 'spend-logs' || !source) return { idle: false, applies: false, note: policy.note };
  let started = await startedAt(ctx, ref);
  if (started === null) {
    await markStarted(ctx, ref, { at: now, onlyIfUnknown: true });
    started = (await startedAt(ctx, ref)) ?? now;
  }
  const lastRequestAt = await source.lastRequest(ref, now - policy.ttlMs - WINDOW_SLACK_MS);
  const idleForMs = now - Math.max(lastRequestAt ?? 0, started);
  const idle = idleForMs >= policy.ttlMs;
  const since = lastRequestAt !== null && lastRequestAt >= started ? 'its last request' : 'its start';
  return {
    idle,
    applies: true,
    ttlMs: policy.ttlMs,
    lastRequestAt,
    startedAt: started,
    idleForMs,
    note: `idle for ${formatDuration(idleForMs)} since ${since} (idle TTL ${formatDuration(policy.ttlMs)})`,
  };
}

export interface IdleUnloadOptions {
  intervalMs: number;
  /** queues a `model.stop` of an idle model (the serialised path, audited) */
  submit(ref: ModelRef, ttlMs: number): Promise<void>;
}

export interface IdleUnloader {
  /** one pass now (the loop runs them on its interval) */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The worker's idle-unload loop: every `intervalMs`, each running model of the host whose requests
 * labops can see (LiteLLM's spend logs) and that has been idle for its `idleTtl` gets a `model.stop`
 * job. Pinned models and models without a request source are never touched.
 */
export function startIdleUnload(ctx: WorkerContext, opts: IdleUnloadOptions): IdleUnloader {
  const log = ctx.logger.child({ component: 'idle-unload' });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const problems = new Map<string, ReturnType<typeof logChangedErrors>>();
  const problemsOf = (model: string) => problems.get(model) ?? problems.set(model, logChangedErrors(log, 'idle check failed; the model is left running', { model })).get(model)!;
  let passes = 0;

  const checkOne = async (ref: ModelRef) => {
    const state = await ctx.engineFor(ref).state();
    if (state.state !== 'running') {
      if (state.state === 'stopped' || state.state === 'failed') await clearStarted(ctx, ref);
      return;
    }
    const check = await idleCheck(ctx, ref);
    if (!check.applies || !check.idle) return;
    log.info({ model: ref.name, idleForMs: check.idleForMs }, `queueing a stop of ${ref.name}: ${check.note}`);
    await opts.submit(ref, check.ttlMs);
  };

  const tick = async () => {
    const startedAt = Date.now();
    const refs = ctx.inventory.models(ctx.hostName).filter((ref) => idlePolicy(ctx.config, ref).mode === 'spend-logs');
    for (const ref of refs) {
      if (stopped) return;
      try {
        await checkOne(ref);
        problemsOf(ref.name).reset();
      } catch (err) {
        problemsOf(ref.name).onError(err);
      }
    }
    // a pass is observable (tests wait for one; /status may show when it last ran)
    passes++;
    await ctx.redis.hset(idlePassKey(ctx.prefix, ctx.hostName), { passes, startedAt, finishedAt: Date.now() }).catch(() => undefined);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = null;
        schedule();
      });
    }, opts.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
