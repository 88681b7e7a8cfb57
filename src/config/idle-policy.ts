import type { ModelRef } from './inventory.js';
import type { Config } from './schema.js';
import { formatDuration } from '../core/duration.js';

/** How (and whether) a model is unloaded when nobody uses it, and why. */
export type IdlePolicy =
  /** labops stops it after `ttlMs` without requests in LiteLLM's spend logs */
  | { mode: 'spend-logs'; ttlMs: number; note: string }
  /** the engine unloads it by itself (Ollama's keep_alive) */
  | { mode: 'engine'; note: string }
  | { mode: 'never'; note: string };

/**
 * Requests are seen in LiteLLM's `LiteLLM_SpendLogs` when `litellm.databaseUrl` is configured;
 * else only Ollama can tell (it unloads a model itself after its keep_alive); else a model with an
 * idle TTL is never unloaded, and /models says why. Pinned models never are.
 */
export function idlePolicy(config: { litellm: Pick<Config['litellm'], 'databaseUrl' | 'groups'> }, ref: ModelRef): IdlePolicy {
  const m = ref.model;
  const engine = m.engine;
  const ollama = engine.kind === 'ollama' ? { mode: 'engine' as const, note: `Ollama unloads it after its keep_alive (${engine.keepAlive})` } : null;
  if (m.pinned) return { mode: 'never', note: 'never: pinned' };
  if (m.idleTtl === undefined) return ollama ?? { mode: 'never', note: 'never: no idleTtl' };
  if (config.litellm.databaseUrl) {
    return { mode: 'spend-logs', ttlMs: m.idleTtl, note: `after ${formatDuration(m.idleTtl)} without requests (LiteLLM spend logs)` };
  }
  return ollama ?? { mode: 'never', note: 'never: no request source (set litellm.databaseUrl to read LiteLLM spend logs)' };
}

/** The names LiteLLM logs requests to this model under: its `litellmName`, and its inventory name. */
export function activityNames(ref: ModelRef): string[] {
  return [...new Set([ref.model.litellmName, ref.name].filter((n): n is string => Boolean(n)))];
}
