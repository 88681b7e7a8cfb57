import type { ProxyStep } from '../../contracts/bringup.js';
import { formatDuration } from '../../core/duration.js';
import { errorMessage, isUserError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import type { LiteLLMClient } from '../../litellm/client.js';
import { failureText } from '../../litellm/failure-text.js';
import { proxyClient } from '../../litellm/from-config.js';
import type { WorkerContext } from '../context.js';
import { isUp } from '../lifecycle/stop-model.js';
import { startModel } from '../lifecycle/start-model.js';

/** How long bringup waits for a proxy it cannot start (no `proxy` model here, or its state unknown): it may be coming up by itself. */
const UNSTARTABLE_WAIT_MS = 10_000;
const DEFAULT_WAIT_MS = 120_000;
const POLL_MS = 500;

/**
 * The proxy's unit (the inventory model of type `proxy` on this host) started if it is down, through
 * the same path as /start; then waited for: `/health/liveliness`, then `/health/readiness` with
 * `db: connected`, within the model's `health.startTimeout` (default 2 min).
 */
export async function bringProxyUp(ctx: WorkerContext, job: { id: string; requestedBy: string | null }, signal: AbortSignal, progress: (text: string) => void): Promise<ProxyStep> {
  const t0 = Date.now();
  const ref = ctx.inventory.models(ctx.hostName).find((m) => m.model.type === 'proxy') ?? null;
  const step: ProxyStep = { model: ref?.name ?? null, before: null, started: false, live: false, ready: false, db: null, elapsedMs: 0, problem: null };
  const done = (problem: string | null): ProxyStep => ({ ...step, problem, elapsedMs: Date.now() - t0 });
  const access = proxyClient(ctx.config);
  if (!access.ok) return done(`${access.why}: the proxy cannot be asked`);

  let canStart = false;
  if (ref) {
    const state = await ctx.engineFor(ref).state(signal).catch((err: unknown) => ({ state: 'unknown' as const, detail: errorMessage(err) }));
    step.before = state.state;
    canStart = state.state !== 'unknown';
    if (canStart && !isUp(state.state)) {
      progress(`starting the proxy (${ref.name}, ${state.state})`);
      try {
        const result = await startModel(ctx, { ref, stopFirst: [], force: false, jobId: job.id, requestId: null, requestedBy: job.requestedBy }, signal, (text) => progress(`proxy: ${text}`));
        if (result.status === 'refused') return done(`${ref.name} was not started: it does not fit in free VRAM`);
        step.started = result.status === 'ready' && !result.resumed;
      } catch (err) {
        if (!isUserError(err)) throw err;
        return done(`${ref.name} did not start: ${err.message}`);
      }
    }
  }
  const timeoutMs = canStart ? (ref?.model.health?.startTimeout ?? DEFAULT_WAIT_MS) : UNSTARTABLE_WAIT_MS;
  return done(await waitReady(access.value, step, { deadline: t0 + timeoutMs, timeoutMs }, signal, progress));
}

/** Liveliness, then readiness with its database; fills `step` as it goes and returns the problem left at the deadline, if any. */
async function waitReady(client: LiteLLMClient, step: ProxyStep, limit: { deadline: number; timeoutMs: number }, signal: AbortSignal, progress: (text: string) => void): Promise<string | null> {
  let last = 'not asked yet';
  for (;;) {
    if (!step.live) {
      const live = await client.liveliness({ signal, timeoutMs: 2_000 });
      step.live = live.ok;
      if (!live.ok) last = `it does not answer /health/liveliness: ${failureText(live)}`;
    }
    if (step.live) {
      const ready = await client.readiness({ signal, timeoutMs: 2_000 });
      step.db = ready.ok ? ready.db : null;
      step.ready = ready.ok && ready.db === 'connected';
      if (step.ready) return null;
      last = ready.ok ? `it is alive, but its database is ${ready.db || 'not reported'} (/health/readiness)` : `it is alive, but /health/readiness failed: ${failureText(ready)}`;
    }
    if (Date.now() >= limit.deadline) return `after ${formatDuration(limit.timeoutMs)} ${last}`;
    progress(`waiting for the proxy: ${last}`);
    await sleep(POLL_MS, signal);
  }
}
