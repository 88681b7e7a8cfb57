import { z } from 'zod';
import type { Inventory } from '../config/inventory.js';
import type { Config } from '../config/schema.js';
import { defineContract, inventoryName } from './define.js';

/** The model types /smoke knows a request for: chat → 1 token, embeddings → one input, vision → a tiny image. */
export const SMOKE_TYPES = ['chat', 'completion', 'embeddings', 'vision'] as const;
export type SmokeType = (typeof SMOKE_TYPES)[number];

export function isSmokeType(type: string): type is SmokeType {
  return (SMOKE_TYPES as readonly string[]).includes(type);
}

const payload = z.strictObject({
  /** one model of the inventory (with the groups it serves) or one proxy group; absent: all of them */
  only: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('model'), host: inventoryName, name: inventoryName }),
      z.strictObject({ kind: z.literal('group'), name: z.string().min(1).max(200) }),
    ])
    .optional(),
  /** only the models of this host and the groups they serve */
  host: inventoryName.optional(),
});
export type SmokePayload = z.infer<typeof payload>;

/**
 * One row of /smoke: what `labops exec "/smoke" --json` prints in `data.results`, and what is kept
 * in Redis as the model's last smoke. Scripts rely on it.
 */
export const smokeRowSchema = z.object({
  /** the inventory name, or the proxy group's name */
  model: z.string(),
  kind: z.enum(['model', 'group']),
  /** the model's host; the proxy's host for a group */
  host: z.string(),
  /** the name sent to the proxy (`litellmName`, else the name) */
  requested: z.string(),
  type: z.enum(SMOKE_TYPES),
  /** true: it answered; false: it failed; null: not tested (a stopped local model) */
  ok: z.boolean().nullable(),
  /** the proxy's HTTP status; null when nothing answered or nothing was asked */
  status: z.number().nullable(),
  latencyMs: z.number().nullable(),
  /** the deployment that answered (`x-litellm-model-id` mapped to a name through /model/info) */
  servedBy: z.string().nullable(),
  /** `x-litellm-model-id` as the proxy sent it */
  servedById: z.string().nullable(),
  /** a fallback group answered (`x-litellm-attempted-fallbacks` > 0) */
  fallback: z.boolean(),
  /** "fallback: local chat-hermes-3-llama-3.1-8b is stopped", "stopped: not tested" */
  note: z.string().nullable(),
  /** LiteLLM's error message, secrets removed */
  error: z.string().nullable(),
  at: z.number(),
});
export type SmokeRow = z.infer<typeof smokeRowSchema>;

export const smokeResultSchema = z.object({
  /** the proxy's host, whose worker ran it */
  host: z.string(),
  proxy: z.string(),
  results: z.array(smokeRowSchema),
  /** inventory models the proxy does not serve (not in /v1/models), with why */
  skipped: z.array(z.object({ model: z.string(), host: z.string(), reason: z.string() })),
  /** set when the proxy could not be asked at all (down, 401): every row failed for this reason */
  proxyProblem: z.string().nullable(),
  concurrency: z.number(),
  /** the most requests that were in flight at once */
  maxInFlight: z.number(),
  elapsedMs: z.number(),
});
export type SmokeResult = z.infer<typeof smokeResultSchema>;

/**
 * Real requests through the LiteLLM proxy, a few at a time: a 1-token chat completion, one
 * embedding, or a tiny image with a prompt, per model the proxy serves and per proxy group. It never
 * starts a model: a stopped local one is reported as stopped.
 */
export const smokeRun = defineContract({
  kind: 'smoke.run',
  description: 'real 1-token requests through the LiteLLM proxy, per model and proxy group',
  payload,
  result: smokeResultSchema,
  // a backstop: every request has its own timeout (litellm.smoke.timeout)
  timeoutMs: 15 * 60_000,
});

/** What one smoke asks the proxy, before it knows what the proxy serves. */
export interface SmokeTarget {
  kind: 'model' | 'group';
  /** inventory name or group name */
  name: string;
  /** the model's host; for a group, the host of the model it is served by (else the proxy's host) */
  host: string;
  /** the name sent to the proxy */
  requested: string;
  /** from the inventory; a group takes its servedBy model's type, else null (the proxy's /model/info decides) */
  type: SmokeType | null;
  /** a group's local model (inventory name) */
  servedBy: string | null;
  /** asked for by name: not served by the proxy is a failure, not a note */
  explicit: boolean;
}

/**
 * The targets of a smoke: the inventory models of a smoke type (on `host` when given) and the proxy
 * groups of `litellm.groups` (with a host filter, those served by a model of that host); or one
 * model with the groups it serves, or one group. Bot and worker compute it alike.
 */
export function smokeTargets(config: Pick<Config, 'litellm'>, inventory: Inventory, filter: SmokePayload): SmokeTarget[] {
  const proxyHost = config.litellm.host ?? inventory.hostNames[0] ?? '';
  const models = inventory.models(filter.host).filter((ref) => isSmokeType(ref.model.type));
  const modelTarget = (ref: (typeof models)[number], explicit: boolean): SmokeTarget => ({
    kind: 'model',
    name: ref.name,
    host: ref.host,
    requested: ref.model.litellmName ?? ref.name,
    type: ref.model.type as SmokeType,
    servedBy: null,
    explicit,
  });
  const groups = Object.entries(config.litellm.groups).map(([name, g]): SmokeTarget => {
    const local = g.servedBy ? inventory.models().find((m) => m.name === g.servedBy) : undefined;
    return {
      kind: 'group',
      name,
      host: local?.host ?? proxyHost,
      requested: name,
      type: local && isSmokeType(local.model.type) ? local.model.type : null,
      servedBy: g.servedBy ?? null,
      explicit: false,
    };
  });

  const only = filter.only;
  if (only?.kind === 'group') return groups.filter((g) => g.name === only.name).map((g) => ({ ...g, explicit: true }));
  if (only?.kind === 'model') {
    const ref = inventory.models(only.host).find((m) => m.name === only.name);
    if (!ref || !isSmokeType(ref.model.type)) return [];
    return [modelTarget(ref, true), ...groups.filter((g) => g.servedBy === ref.name)];
  }
  const hostGroups = filter.host === undefined ? groups : groups.filter((g) => g.servedBy !== null && g.host === filter.host);
  return [...models.map((ref) => modelTarget(ref, false)), ...hostGroups];
}
