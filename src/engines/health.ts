import type { ModelRef } from '../config/inventory.js';
import { formatDuration } from '../core/duration.js';
import { failedError } from '../core/errors.js';
import { safeUrl } from '../core/redact.js';
import type { Engine } from './engine.js';
import { excerpt, fetchTimed, FetchFailure } from '../core/http.js';
import { sleep } from '../core/sleep.js';

export interface HealthResult {
  healthy: boolean;
  detail: string;
}

const DEFAULT_PROBE_TIMEOUT = 3_000;
const DEFAULT_START_TIMEOUT = 120_000;
const LOG_LINES = 15;

/**
 * One cheap probe, never a completion: `health.url` must answer 200, `health.modelsUrl` must list
 * `health.id` (default: the model's LiteLLM name, else its inventory name) in its `data[].id`.
 * A model without a probe is healthy when its engine says running, if an engine is given.
 */
export async function probeHealth(ref: ModelRef, signal?: AbortSignal, engine?: Engine): Promise<HealthResult> {
  const health = ref.model.health;
  if (!health?.url && !health?.modelsUrl) {
    if (!engine) return { healthy: false, detail: 'no health probe configured' };
    const s = await engine.state(signal);
    return { healthy: s.state === 'running', detail: s.detail ? `${s.state} (${s.detail})` : s.state };
  }
  const timeoutMs = health.timeout ?? DEFAULT_PROBE_TIMEOUT;
  try {
    if (health.url) {
      const result = await probeUrl(health.url, signal, timeoutMs);
      if (!result.healthy || !health.modelsUrl) return result;
    }
    return await probeModels(health.modelsUrl!, health.id ?? ref.model.litellmName ?? ref.name, signal, timeoutMs);
  } catch (err) {
    if (err instanceof FetchFailure) return { healthy: false, detail: err.message };
    throw err;
  }
}

async function probeUrl(url: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<HealthResult> {
  const res = await fetchTimed(url, { headers: { accept: 'application/json' } }, { signal, timeoutMs });
  const body = await res.text();
  if (res.status === 200) return { healthy: true, detail: `${safeUrl(url)}: 200` };
  return { healthy: false, detail: `${safeUrl(url)}: ${res.status}${describeBody(body)}` };
}

async function probeModels(url: string, id: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<HealthResult> {
  const res = await fetchTimed(url, { headers: { accept: 'application/json' } }, { signal, timeoutMs });
  const body = await res.text();
  if (res.status !== 200) return { healthy: false, detail: `${safeUrl(url)}: ${res.status}${describeBody(body)}` };
  let ids: string[];
  try {
    ids = ((JSON.parse(body) as { data?: { id?: unknown }[] }).data ?? []).map((m) => String(m.id));
  } catch {
    return { healthy: false, detail: `${safeUrl(url)}: not JSON (${excerpt(body, 60)})` };
  }
  return ids.includes(id)
    ? { healthy: true, detail: `${safeUrl(url)} lists ${id}` }
    : { healthy: false, detail: `${safeUrl(url)} does not list ${id}${ids.length ? ` (it lists ${ids.slice(0, 5).join(', ')})` : ''}` };
}

/** llama-server says `{"status":"loading model"}` or `{"error":{"message":…}}` while it loads. */
function describeBody(body: string): string {
  try {
    const json = JSON.parse(body) as { status?: unknown; error?: unknown };
    const error = json.error as { message?: unknown } | string | undefined;
    const text = typeof error === 'string' ? error : error?.message ?? json.status;
    return typeof text === 'string' && text ? ` ${excerpt(text, 80)}` : '';
  } catch {
    return body.trim() ? ` ${excerpt(body, 80)}` : '';
  }
}

export interface WaitOptions {
  signal: AbortSignal;
  /** default: the model's `health.startTimeout` */
  timeoutMs?: number;
  intervalMs?: number;
  onProgress?: (text: string) => void;
}

/**
 * Polls the probe until the model is healthy. Fails early, with the engine's last log lines, when
 * the engine says the process is gone (stopped or failed), and after the timeout.
 */
export async function waitHealthy(ref: ModelRef, engine: Engine, opts: WaitOptions): Promise<{ elapsedMs: number; detail: string }> {
  const timeoutMs = opts.timeoutMs ?? ref.model.health?.startTimeout ?? DEFAULT_START_TIMEOUT;
  const intervalMs = opts.intervalMs ?? 500;
  const started = Date.now();
  let last = 'not probed yet';
  for (;;) {
    opts.signal.throwIfAborted();
    const probe = await probeHealth(ref, opts.signal, engine);
    const elapsedMs = Date.now() - started;
    if (probe.healthy) return { elapsedMs, detail: probe.detail };
    last = probe.detail;

    const state = await engine.state(opts.signal);
    if (state.state === 'stopped' || state.state === 'failed') {
      const what = state.state === 'failed' ? `failed while starting${state.detail ? ` (${state.detail})` : ''}` : 'exited while starting';
      throw failedError(`${ref.name} ${what}.${await logTail(engine, opts.signal)}`);
    }
    if (elapsedMs >= timeoutMs) {
      throw failedError(
        `${ref.name} is not healthy after ${formatDuration(timeoutMs)}: ${last}.${await logTail(engine, opts.signal)}`,
        `It is still ${state.state}; stop it with /stop ${ref.name} or wait and check /status.`,
      );
    }
    opts.onProgress?.(`waiting for health ${formatDuration(elapsedMs)} (${last})`);
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsedMs)), opts.signal);
  }
}

async function logTail(engine: Engine, signal: AbortSignal): Promise<string> {
  const lines = await engine.logs(LOG_LINES, signal).catch(() => []);
  return lines.length ? `\nLast log lines:\n${lines.join('\n')}` : '';
}
