import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

/** Names that reach argv, unit names and queue names: a plain, shell-inert alphabet. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const name = (what: string) =>
  z.string().regex(NAME, `expected a ${what} name of lower-case letters, digits, ".", "_" and "-" (at most 64)`);

/** "30s", "5m", "1h" or a number of seconds; parsed to milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
  if (ms === null || ms < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 1h, got ${JSON.stringify(value)}`, input: value });
    return z.NEVER;
  }
  return ms;
});

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const snowflake = z.string().regex(/^\d{15,22}$/, 'expected a Discord id (a snowflake of 15 to 22 digits, quoted)');

const discordSchema = z.strictObject({
  token: z.string().min(1).optional(),
  applicationId: snowflake.optional(),
  guildId: snowflake.optional(),
  restApi: z.url().optional(),
  alertChannelId: snowflake.optional(),
  logChannelId: snowflake.optional(),
  /** mutating commands run only in these channels; empty: any channel of the guild */
  commandChannelIds: z.array(snowflake).default([]),
  confirmTimeout: duration.default(300_000),
  /** commands whose confirmation must be pressed by a second member with the capability */
  twoPersonConfirm: z.array(z.string()).default([]),
});

const rolesSchema = z.strictObject({
  viewer: z.array(snowflake).default([]),
  operator: z.array(snowflake).default([]),
  admin: z.array(snowflake).default([]),
});

const localSchema = z.strictObject({
  /** role of a local shell/exec user who is not listed in `users`; `none` may run only /help */
  defaultRole: z.enum([...ROLES, 'none']).default('none'),
  users: z.record(z.string(), z.enum([...ROLES, 'none'])).default({}),
});

const httpHealth = z.strictObject({
  /** answers 200 when the model is ready (llama-server /health, LiteLLM /health/liveliness) */
  url: z.url().optional(),
  /** an OpenAI-compatible /v1/models that must list `id` */
  modelsUrl: z.url().optional(),
  id: z.string().optional(),
  /** how long /start waits for the probe */
  startTimeout: duration.default(120_000),
  /** one probe's timeout */
  timeout: duration.default(3_000),
});

const systemdEngine = z.strictObject({
  kind: z.literal('systemd'),
  unit: z.string().regex(/^[A-Za-z0-9@._-]+\.(service|scope|target)$/, 'expected a unit name such as llama.service'),
});
const scriptEngine = z.strictObject({
  kind: z.literal('script'),
  /** the start script (argv[0]); relative paths are taken from `cwd` */
  start: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** optional stop script; without one the process group gets SIGTERM, then SIGKILL after `stopTimeout` */
  stop: z.string().min(1).optional(),
  pidFile: z.string().min(1),
  logFile: z.string().min(1).optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).default({}),
  stopTimeout: duration.default(15_000),
});
const ollamaEngine = z.strictObject({
  kind: z.literal('ollama'),
  url: z.url().default('http://127.0.0.1:11434'),
  /** the Ollama model tag, e.g. mistral:7b */
  model: z.string().min(1),
  keepAlive: z.string().default('5m'),
});
const dockerEngine = z.strictObject({
  kind: z.literal('docker'),
  container: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a container name'),
});

export const engineSchema = z.discriminatedUnion('kind', [systemdEngine, scriptEngine, ollamaEngine, dockerEngine]);
export type EngineConfig = z.infer<typeof engineSchema>;
export type EngineKind = EngineConfig['kind'];

const modelSchema = z.strictObject({
  aliases: z.array(name('alias')).default([]),
  type: z.enum(['chat', 'embeddings', 'vision', 'completion', 'rerank', 'proxy']),
  description: z.string().optional(),
  engine: engineSchema,
  health: httpHealth.optional(),
  /** expected VRAM in MiB, used by admission until a footprint has been measured */
  vramMiB: z.number().int().nonnegative().default(0),
  /** stop after this long without requests */
  idleTtl: duration.optional(),
  /** never stopped automatically */
  pinned: z.boolean().default(false),
  /** model_name in LiteLLM when it differs from the inventory name */
  litellmName: z.string().optional(),
});
export type ModelConfig = z.infer<typeof modelSchema>;

/** What every alert kind has: on/off, how long its condition must hold before it fires, how often a firing one is repeated (0: never). */
const alertTiming = (forMs: number, repeatMs: number) => ({
  enabled: z.boolean().default(true),
  for: duration.default(forMs),
  repeatEvery: duration.default(repeatMs),
});

const percent = z.number().min(1).max(100);

const alertKindsSchema = z.strictObject({
  /** a GPU's used VRAM at or above `percent` */
  vramHigh: z.strictObject({ ...alertTiming(60_000, 3_600_000), percent: percent.default(95), resolvePercent: percent.optional() }).prefault({}),
  /** a running (or pinned) model stopped without /stop or an idle unload */
  modelDown: z.strictObject({ ...alertTiming(30_000, 3_600_000), logLines: z.number().int().min(0).max(50).default(15) }).prefault({}),
  /** processes no model owns holding more than `minMiB` on a GPU */
  ghostVram: z.strictObject({ ...alertTiming(300_000, 6 * 3_600_000), minMiB: z.number().int().nonnegative().default(1024) }).prefault({}),
  /** the host's worker missed its heartbeats (raised by the bot) */
  workerOffline: z.strictObject(alertTiming(60_000, 3_600_000)).prefault({}),
  /** the LiteLLM proxy's liveliness fails (checked by the worker of `litellm.host` every `interval`) */
  proxyDown: z.strictObject({ ...alertTiming(60_000, 3_600_000), interval: duration.pipe(z.number().min(1_000, 'expected at least 1s')).default(15_000) }).prefault({}),
  /** a GPU-heavy model unit enabled at boot (checked at worker start and every `interval`) */
  bootServices: z.strictObject({ ...alertTiming(0, 24 * 3_600_000), interval: duration.pipe(z.number().min(10_000, 'expected at least 10s')).default(3_600_000) }).prefault({}),
});
export type AlertSettings = z.infer<typeof alertKindsSchema>;

/** The VRAM keys of earlier versions (`alerts.vramHighPercent`, …), still read: they are `alerts.vramHigh.*` now. */
const LEGACY_VRAM_KEYS = { vramHighPercent: 'percent', vramResolvePercent: 'resolvePercent', for: 'for', repeatEvery: 'repeatEvery' } as const;

function legacyVramKeys(input: unknown, ctx: z.core.$RefinementCtx<unknown>): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const rest: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const legacy = Object.keys(LEGACY_VRAM_KEYS).filter((k) => k in rest) as (keyof typeof LEGACY_VRAM_KEYS)[];
  if (legacy.length === 0) return input;
  const given = rest.vramHigh;
  const vramHigh: Record<string, unknown> = given && typeof given === 'object' && !Array.isArray(given) ? { ...(given as Record<string, unknown>) } : {};
  for (const old of legacy) {
    const now = LEGACY_VRAM_KEYS[old];
    if (now in vramHigh) {
      ctx.addIssue({ code: 'custom', path: [old], message: `the old name of alerts.vramHigh.${now}, which is set too: keep only alerts.vramHigh.${now}`, input: rest[old] });
    } else {
      vramHigh[now] = rest[old];
    }
    delete rest[old];
  }
  return { ...rest, vramHigh };
}

const alertsSchema = z.preprocess(legacyVramKeys, alertKindsSchema).prefault({});

const hostSchema = z.strictObject({
  description: z.string().optional(),
  /** where model weights live; /status shows this disk */
  modelDir: z.string().default('/'),
  /** VRAM kept free for everything that is not a model (MiB, summed over the host's GPUs) */
  vramReserveMiB: z.number().int().nonnegative().default(1024),
  alerts: alertsSchema,
  gpu: z
    .strictObject({
      /** false: never run nvidia-smi on this host */
      enabled: z.boolean().default(true),
      sampleInterval: duration.default(1_000),
      appsInterval: duration.default(10_000),
    })
    .prefault({}),
  models: z.record(name('model'), modelSchema).default({}),
});
export type HostConfig = z.infer<typeof hostSchema>;

const litellmSchema = z.strictObject({
  url: z.url().optional(),
  masterKey: z.string().optional(),
  saltKey: z.string().optional(),
  databaseUrl: z.string().optional(),
  configPath: z.string().optional(),
  /** the host whose inventory holds the proxy itself */
  host: z.string().optional(),
  /** model groups of the proxy that are not local models: aliases and cloud fallbacks */
  groups: z
    .record(
      z.string(),
      z.strictObject({
        servedBy: z.string().optional(),
        fallbacks: z.array(z.string()).default([]),
        cloud: z.boolean().default(false),
      }),
    )
    .default({}),
});

export const configSchema = z
  .strictObject({
    discord: discordSchema.prefault({}),
    roles: rolesSchema.prefault({}),
    local: localSchema.prefault({}),
    redis: z
      .strictObject({
        url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
        prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('labops'),
      })
      .prefault({}),
    database: z
      .strictObject({
        url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/labops'),
        schema: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('labops'),
      })
      .prefault({}),
    litellm: litellmSchema.prefault({}),
    worker: z
      .strictObject({
        heartbeatInterval: duration.default(5_000),
        shutdownTimeout: duration.default(30_000),
        concurrency: z.number().int().min(1).max(64).default(4),
        /** BullMQ's job lock: a job whose worker died is re-run once this has lapsed (and a stalled check ran) */
        jobLockDuration: duration.pipe(z.number().min(500, 'expected at least 500ms')).default(30_000),
        /** how often a worker looks for stalled jobs of crashed workers; default: jobLockDuration */
        stalledInterval: duration.pipe(z.number().min(500, 'expected at least 500ms')).optional(),
        /** how often the worker looks for models idle longer than their idleTtl */
        idleCheckInterval: duration.pipe(z.number().min(100, 'expected at least 100ms')).default(60_000),
      })
      .prefault({}),
    hosts: z.record(name('host'), hostSchema).refine((h) => Object.keys(h).length > 0, 'expected at least one host'),
  })
  .superRefine((config, ctx) => {
    // every alias and name must point at one model per host
    for (const [hostName, host] of Object.entries(config.hosts)) {
      const seen = new Map<string, string>();
      for (const [modelName, model] of Object.entries(host.models)) {
        for (const label of [modelName, ...model.aliases]) {
          const other = seen.get(label);
          if (other && other !== modelName) {
            ctx.addIssue({
              code: 'custom',
              path: ['hosts', hostName, 'models', modelName, 'aliases'],
              message: `"${label}" already names ${other}`,
            });
          }
          seen.set(label, modelName);
        }
      }
    }
    if (config.litellm.host && !config.hosts[config.litellm.host]) {
      ctx.addIssue({
        code: 'custom',
        path: ['litellm', 'host'],
        message: `expected one of ${Object.keys(config.hosts).join(' | ')}, got "${config.litellm.host}"`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
