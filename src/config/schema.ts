import { z } from 'zod';
import { formatDuration, parseDuration } from '../core/duration.js';
import { MIN_KEY_LENGTH } from '../core/signing-keys.js';
import { resolveDbSsl } from './db-ssl.js';

/** Names that reach argv, unit names and queue names: a plain, shell-inert alphabet. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const name = (what: string) =>
  z.string().regex(NAME, `expected a ${what} name of lower-case letters, digits, ".", "_" and "-" (at most 64)`);

/** Node's timers cannot wait longer than 2³¹ − 1 ms (24 d 20 h): a longer one fires at once. */
export const MAX_DURATION_MS = 2_147_483_647;

/** "30s", "5m", "1h" or a number of seconds, parsed to milliseconds, within [minMs, maxMs]. */
export function durationIn(minMs: number, maxMs: number) {
  return z.unknown().transform((value, ctx) => {
    const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : null;
    const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
    if (ms === null || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 1h, got ${got}`, input: value });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration from ${bound(minMs)} to ${bound(maxMs)}, got ${got}`, input: value });
      return z.NEVER;
    }
    return Math.round(ms);
  });
}

const bound = (ms: number) => (ms > 0 && ms < 1_000 ? `${ms}ms` : formatDuration(ms));

/** Any duration a timer can wait for. */
export const duration = durationIn(0, MAX_DURATION_MS);

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
  confirmTimeout: durationIn(1_000, 7 * 86_400_000).default(300_000),
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
  startTimeout: durationIn(1_000, 24 * 3_600_000).default(120_000),
  /** one probe's timeout */
  timeout: durationIn(100, 5 * 60_000).default(3_000),
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
  stopTimeout: durationIn(100, 3_600_000).default(15_000),
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
  /** requests per minute the proxy sends it (/repair kind:model-limits); default litellm.limits.rpm */
  rpm: z.number().int().positive().optional(),
});
export type ModelConfig = z.infer<typeof modelSchema>;

/** What every alert kind has: on/off, how long its condition must hold before it fires, how often a firing one is repeated (0: never). */
const alertTiming = (forMs: number, repeatMs: number) => ({
  enabled: z.boolean().default(true),
  for: durationIn(0, 86_400_000).default(forMs),
  repeatEvery: durationIn(0, 30 * 86_400_000).default(repeatMs),
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
  proxyDown: z.strictObject({ ...alertTiming(60_000, 3_600_000), interval: durationIn(1_000, 3_600_000).default(15_000) }).prefault({}),
  /** a GPU-heavy model unit enabled at boot (checked at worker start and every `interval`) */
  bootServices: z.strictObject({ ...alertTiming(0, 24 * 3_600_000), interval: durationIn(10_000, 7 * 86_400_000).default(3_600_000) }).prefault({}),
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
      sampleInterval: durationIn(50, 3_600_000).default(1_000),
      appsInterval: durationIn(100, 3_600_000).default(10_000),
    })
    .prefault({}),
  models: z.record(name('model'), modelSchema).default({}),
});
export type HostConfig = z.infer<typeof hostSchema>;

/** A file the process reads at start (a CA, a certificate, a key): a path, never the PEM itself. */
const pemFile = z.string().min(1).refine((v) => !v.includes('-----BEGIN'), 'expected the path of a PEM file, not its content');

const redisTlsSchema = z
  .strictObject({
    /** CA certificate(s) that signed the server's certificate; default: the system's CAs */
    ca: pemFile.optional(),
    /** client certificate and key, where Redis asks for them (tls-auth-clients) */
    cert: pemFile.optional(),
    key: pemFile.optional(),
    /** the name the server's certificate must carry, when it is not the URL's host */
    servername: z.string().min(1).optional(),
    /** false accepts any certificate: encrypted, but not authenticated */
    rejectUnauthorized: z.boolean().default(true),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'expected both cert and key, or neither' });

/** libpq's sslmode values that labops can honour (no fallback to an unencrypted connection: no allow/prefer). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const dbSslSchema = z
  .strictObject({
    /** default: verify-full when a CA is given, else disable */
    mode: z.enum(SSL_MODES).optional(),
    /** the CA that signed the server's certificate (libpq: sslrootcert) */
    ca: pemFile.optional(),
    /** client certificate and key (libpq: sslcert, sslkey) */
    cert: pemFile.optional(),
    key: pemFile.optional(),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'expected both cert and key, or neither' });
export type DbSslConfig = z.infer<typeof dbSslSchema>;
export type RedisTlsConfig = z.infer<typeof redisTlsSchema>;

const signingKey = z.string().min(MIN_KEY_LENGTH, `expected at least ${MIN_KEY_LENGTH} characters (make one with: openssl rand -base64 32)`);

const litellmSchema = z.strictObject({
  url: z.url().optional(),
  masterKey: z.string().optional(),
  saltKey: z.string().optional(),
  databaseUrl: z.string().optional(),
  /** TLS for databaseUrl, as database.ssl */
  databaseSsl: dbSslSchema.optional(),
  configPath: z.string().optional(),
  /** the host whose inventory holds the proxy itself */
  host: z.string().optional(),
  /** how /repair writes litellm_params values: as the deployed LiteLLM writes them */
  encryption: z.enum(['nacl-urlsafe', 'nacl-std', 'v2-gcm', 'v3-gcm', 'plaintext']).default('nacl-urlsafe'),
  /** what /repair kind:model-limits gives a local model that lacks it */
  limits: z
    .strictObject({
      timeout: z.number().positive().default(120),
      rpm: z.number().int().positive().default(30),
      visionMaxTokens: z.number().int().positive().default(4096),
    })
    .prefault({}),
  /** LiteLLM's admin user (`PROXY_ADMIN_ID` of the proxy); /doctor checks that it exists */
  proxyAdminId: z.string().min(1).default('default_user_id'),
  /** /smoke: requests in flight at once, and how long one may take */
  smoke: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).default(32),
      timeout: durationIn(100, 10 * 60_000).default(30_000),
    })
    .prefault({}),
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
        /** an ACL user (Redis 6+); also accepted in the URL */
        username: z.string().min(1).optional(),
        /** `requirepass` or the ACL user's password (use env:); also accepted in the URL */
        password: z.string().min(1).optional(),
        /** TLS options; TLS itself is asked for with a rediss:// URL */
        tls: redisTlsSchema.optional(),
        prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('labops'),
      })
      .prefault({}),
    database: z
      .strictObject({
        url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/labops'),
        ssl: dbSslSchema.optional(),
        schema: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('labops'),
      })
      .prefault({}),
    litellm: litellmSchema.prefault({}),
    security: z
      .strictObject({
        /** signs every job and notice; shared by the bot and every worker (env:LABOPS_JOB_KEY) */
        jobKey: signingKey.optional(),
        /** still accepted while the processes of a lab move to a new jobKey */
        previousJobKey: signingKey.optional(),
        /** a job older than this (by its signed creation time) is refused */
        maxJobAge: durationIn(10_000, 7 * 86_400_000).default(600_000),
      })
      .prefault({}),
    worker: z
      .strictObject({
        heartbeatInterval: durationIn(100, 10 * 60_000).default(5_000),
        shutdownTimeout: durationIn(0, 3_600_000).default(30_000),
        concurrency: z.number().int().min(1).max(64).default(4),
        /** BullMQ's job lock: a job whose worker died is re-run once this has lapsed (and a stalled check ran) */
        jobLockDuration: durationIn(500, 3_600_000).default(30_000),
        /** how often a worker looks for stalled jobs of crashed workers; default: jobLockDuration */
        stalledInterval: durationIn(500, 3_600_000).optional(),
        /** how often the worker looks for models idle longer than their idleTtl */
        idleCheckInterval: durationIn(100, 24 * 3_600_000).default(60_000),
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
    if (config.redis.tls && typeof config.redis.url === 'string' && !config.redis.url.startsWith('rediss://')) {
      ctx.addIssue({ code: 'custom', path: ['redis', 'tls'], message: 'TLS options are set but redis.url is redis://: use a rediss:// URL for TLS' });
    }
    const creds = urlCredentials(config.redis.url);
    if (creds && (creds.username || creds.password) && (config.redis.username || config.redis.password)) {
      ctx.addIssue({ code: 'custom', path: ['redis', 'password'], message: 'the credentials are given twice: in redis.url and in redis.username/password; keep one' });
    }
    for (const [path, url] of [[['database', 'url'], config.database.url], [['litellm', 'databaseUrl'], config.litellm.databaseUrl]] as const) {
      if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) continue; // said by the key's own check
      const problem = pgUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', path: [...path], message: problem });
      else {
        const ssl = path[0] === 'database' ? config.database.ssl : config.litellm.databaseSsl;
        const settings = resolveDbSsl(url, ssl);
        if (settings.mode === 'verify-ca' && !settings.ca) {
          ctx.addIssue({ code: 'custom', path: [...path], message: 'sslmode verify-ca needs a CA (sslrootcert in the URL, or ssl.ca): without one any certificate of a public CA would pass' });
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

export type Config = z.infer<typeof configSchema> & {
  /** keys whose `env:NAME` reference was unset when the file was loaded (read as absent): key path → variable */
  unsetEnv?: Readonly<Record<string, string>>;
};

/** The user and password of a URL, or null when it does not parse. */
function urlCredentials(url: string): { username: string; password: string } | null {
  try {
    const u = new URL(url);
    return { username: u.username, password: u.password };
  } catch {
    return null;
  }
}

/** Why a PostgreSQL URL cannot be used (never quoting it: it may hold a password), or null. */
function pgUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'expected a postgres:// URL (this one does not parse; a password with special characters must be percent-encoded)';
  }
  const mode = u.searchParams.get('sslmode');
  if (mode !== null && !(SSL_MODES as readonly string[]).includes(mode)) {
    return mode === 'prefer' || mode === 'allow'
      ? `sslmode=${mode} is not supported: labops never falls back to an unencrypted connection; use disable, require, verify-ca or verify-full`
      : `expected sslmode to be one of ${SSL_MODES.join(' | ')}, got "${mode}"`;
  }
  return null;
}
