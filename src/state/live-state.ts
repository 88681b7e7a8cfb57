import { z } from 'zod';
import { gpuSnapshotSchema, hostFactsSchema, modelStateSchema } from '../contracts/lab-data.js';
import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';
import { heartbeatKey, parseHeartbeat, type Heartbeat } from './heartbeat.js';

/**
 * The live state of a host: one Redis hash per host, `<prefix>:live:<host>`, written by that host's
 * worker (LiveStateWriter) and read by the bot with no job round trip (readLiveStates: one pipeline,
 * one round trip for any number of hosts). Every field is a JSON value that carries its own time `at`
 * (ms since the epoch): when the worker last confirmed it. A host whose worker is gone keeps its last
 * values (the hash lives a week), so /status shows them marked stale.
 *
 *   gpus            { at, snapshot: GpuSnapshot }                     from the streaming sampler
 *   facts           { at, facts: HostFacts } | { at, error }          CPU, memory, disk, OS
 *   processes       { at, processes: [{ pid, name, user, usedMiB, gpuUuid, model|null }] }
 *                                                                     nvidia-smi --query-compute-apps, attributed;
 *                                                                     model null = unknown ("ghost") VRAM
 *   refresh         { at, passes, intervalMs }                        the last reconcile pass
 *   model:<name>    { at, state, detail, pids, since, vramMiB, vramAt, health, transition }
 *                   health:     { ok, detail, at } | null             its own probe, on its own interval
 *                   transition: { from, to, at, cause, detail } | null   the last change and why
 *
 * Host facts about the worker itself (version, pid, start, heartbeat) stay in the heartbeat hash
 * (src/state/heartbeat.ts); the reader returns both from the same pipeline.
 */

export const liveStateKey = (prefix: string, host: string) => key(prefix, 'live', host);
/** the hash outlives its worker by a week, like the heartbeat, so an offline host still shows its last state */
export const LIVE_STATE_TTL_MS = 7 * 24 * 3600_000;

export const MODEL_FIELD_PREFIX = 'model:';
export const modelField = (model: string) => `${MODEL_FIELD_PREFIX}${model}`;

/** Why a model changed state (the same causes as the alert inputs'). */
export const transitionCauseSchema = z.enum(['labops-stop', 'idle-unload', 'labops-start', 'observed']);
export type TransitionCause = z.infer<typeof transitionCauseSchema>;

export const transitionSchema = z.object({
  from: modelStateSchema,
  to: modelStateSchema,
  at: z.number(),
  cause: transitionCauseSchema,
  detail: z.string().nullable(),
});
export type LiveTransition = z.infer<typeof transitionSchema>;

export const healthSchema = z.object({ ok: z.boolean(), detail: z.string(), at: z.number() });
export type LiveHealth = z.infer<typeof healthSchema>;

export const liveModelSchema = z.object({
  at: z.number(),
  state: modelStateSchema,
  detail: z.string().nullable(),
  pids: z.array(z.number()),
  /** since when it has been in this state (as far as this worker saw) */
  since: z.number(),
  /** VRAM its processes hold (or Ollama's size_vram), MiB; null where nothing is attributed */
  vramMiB: z.number().nullable(),
  vramAt: z.number().nullable(),
  health: healthSchema.nullable(),
  transition: transitionSchema.nullable(),
});
export type LiveModel = z.infer<typeof liveModelSchema>;

export const gpusFieldSchema = z.object({ at: z.number(), snapshot: gpuSnapshotSchema });
export type LiveGpus = z.infer<typeof gpusFieldSchema>;

export const factsFieldSchema = z.union([z.object({ at: z.number(), facts: hostFactsSchema }), z.object({ at: z.number(), error: z.string() })]);
export type LiveFacts = z.infer<typeof factsFieldSchema>;

/** A compute process and the model it belongs to (null: no model of the inventory, "unknown" VRAM). */
export const liveProcessSchema = z.object({
  pid: z.number(),
  name: z.string(),
  user: z.string(),
  usedMiB: z.number(),
  gpuUuid: z.string(),
  model: z.string().nullable(),
});
export type LiveProcess = z.infer<typeof liveProcessSchema>;

export const processesFieldSchema = z.object({ at: z.number(), processes: z.array(liveProcessSchema) });
export type LiveProcesses = z.infer<typeof processesFieldSchema>;

export const refreshFieldSchema = z.object({ at: z.number(), passes: z.number(), intervalMs: z.number() });
export type LiveRefresh = z.infer<typeof refreshFieldSchema>;

/** What the reader returns for one host; every part null where the worker has not written it (or it does not parse). */
export interface LiveHostState {
  host: string;
  heartbeat: Heartbeat | null;
  gpus: LiveGpus | null;
  facts: LiveFacts | null;
  processes: LiveProcesses | null;
  refresh: LiveRefresh | null;
  /** by model name */
  models: Map<string, LiveModel>;
}

/** The worker's side: writes its host's fields. Values are validated before they are written. */
export class LiveStateWriter {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly host: string,
  ) {
    this.key = liveStateKey(prefix, host);
  }

  async models(models: ReadonlyMap<string, LiveModel> | Record<string, LiveModel>): Promise<void> {
    const entries = models instanceof Map ? [...models.entries()] : Object.entries(models);
    if (entries.length === 0) return;
    await this.redis.hset(this.key, Object.fromEntries(entries.map(([name, m]) => [modelField(name), JSON.stringify(liveModelSchema.parse(m))])));
  }

  async gpus(value: LiveGpus): Promise<void> {
    await this.redis.hset(this.key, 'gpus', JSON.stringify(gpusFieldSchema.parse(value)));
  }

  async facts(value: LiveFacts): Promise<void> {
    await this.redis.hset(this.key, 'facts', JSON.stringify(factsFieldSchema.parse(value)));
  }

  async processes(value: LiveProcesses): Promise<void> {
    await this.redis.hset(this.key, 'processes', JSON.stringify(processesFieldSchema.parse(value)));
  }

  /** Marks a reconcile pass done (and keeps the hash for another week). */
  async refresh(value: LiveRefresh): Promise<void> {
    await this.redis.multi().hset(this.key, 'refresh', JSON.stringify(refreshFieldSchema.parse(value))).pexpire(this.key, LIVE_STATE_TTL_MS).exec();
  }

  /** Drops the fields of models no longer in the inventory. */
  async keepOnly(models: readonly string[]): Promise<void> {
    const keep = new Set(models.map(modelField));
    const gone = (await this.redis.hkeys(this.key)).filter((f) => f.startsWith(MODEL_FIELD_PREFIX) && !keep.has(f));
    if (gone.length > 0) await this.redis.hdel(this.key, ...gone);
  }
}

/** The bot's side: the live state of every host in one pipeline (one round trip), each field zod-parsed. */
export async function readLiveStates(redis: Redis, prefix: string, hosts: readonly string[]): Promise<LiveHostState[]> {
  if (hosts.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const host of hosts) pipeline.hgetall(liveStateKey(prefix, host)).hgetall(heartbeatKey(prefix, host));
  const results = (await pipeline.exec()) ?? [];
  return hosts.map((host, i) => {
    const [liveErr, live] = results[2 * i] ?? [null, {}];
    const [hbErr, hb] = results[2 * i + 1] ?? [null, {}];
    if (liveErr) throw liveErr;
    if (hbErr) throw hbErr;
    return parseHostState(host, live as Record<string, string>, hb as Record<string, string>);
  });
}

export async function readLiveState(redis: Redis, prefix: string, host: string): Promise<LiveHostState> {
  return (await readLiveStates(redis, prefix, [host]))[0]!;
}

export function parseHostState(host: string, live: Record<string, string>, heartbeat: Record<string, string>): LiveHostState {
  const models = new Map<string, LiveModel>();
  for (const [field, text] of Object.entries(live)) {
    if (!field.startsWith(MODEL_FIELD_PREFIX)) continue;
    const m = parseField(liveModelSchema, text);
    if (m) models.set(field.slice(MODEL_FIELD_PREFIX.length), m);
  }
  return {
    host,
    heartbeat: parseHeartbeat(heartbeat),
    gpus: parseField(gpusFieldSchema, live.gpus),
    facts: parseField(factsFieldSchema, live.facts),
    processes: parseField(processesFieldSchema, live.processes),
    refresh: parseField(refreshFieldSchema, live.refresh),
    models,
  };
}

/** The MiB no model owns, per GPU uuid (every GPU of the snapshot, 0 where none). */
export function unknownMiBByGpu(state: Pick<LiveHostState, 'gpus' | 'processes'>): Map<string, number> {
  const out = new Map<string, number>();
  if (state.gpus?.snapshot.available) for (const g of state.gpus.snapshot.gpus) out.set(g.uuid, 0);
  for (const p of state.processes?.processes ?? []) if (p.model === null) out.set(p.gpuUuid, (out.get(p.gpuUuid) ?? 0) + p.usedMiB);
  return out;
}

function parseField<T>(schema: z.ZodType<T>, text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
