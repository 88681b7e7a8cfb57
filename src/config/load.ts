import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { EXAMPLE_CONFIG } from '../core/paths.js';
import { redact, registerSecret, registerUrlSecrets } from '../core/redact.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
  }
}

export interface LoadedConfig {
  config: Config;
  file: string;
  /** what works but is not configured (a feature's `env:` variable that is not set) */
  warnings: string[];
}


/** `LABOPS_CONFIG`, else `./labops.yaml`, else the shipped example. */
export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.LABOPS_CONFIG) return env.LABOPS_CONFIG;
  if (existsSync('labops.yaml')) return 'labops.yaml';
  return EXAMPLE_CONFIG;
}

export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = configPath(explicit, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  const warnings: string[] = [];
  return { config: parseConfig(text, file, env, warnings), file, warnings };
}

export function parseConfig(text: string, file = 'labops.yaml', env: NodeJS.ProcessEnv = process.env, warnings: string[] = []): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS() ?? {};
  const unsetRefs = new Map<string, string>();
  const resolved = resolveEnvRefs(raw, [], env, unsetRefs);
  applyEnvOverrides(resolved as Record<string, unknown>, env);
  // before validation: a message about a URL that does not parse must not show its password either
  registerRawSecrets(resolved);

  const unsetProblems = checkUnsetRefs(resolved, unsetRefs, warnings);
  const result = configSchema.safeParse(resolved, { reportInput: true });
  const reported = new Set(unsetProblems.map((p) => p.path));
  const issues = result.success ? [] : result.error.issues.filter((issue) => !reported.has(issue.path.map(String).join('.')));
  if (unsetProblems.length > 0 || !result.success) {
    throw new ConfigError(file, [...unsetProblems.map((p) => p.message), ...issues.map((issue) => redact(formatIssue(issue, unsetRefs)))]);
  }
  registerSecrets(result.data);
  return { ...result.data, unsetEnv: Object.fromEntries(unsetRefs) };
}

/**
 * `env:NAME` says the value must come from NAME: an unset variable never falls back to a default.
 * It is an error, except for what the README documents otherwise: the keys of OPTIONAL_WHEN_UNSET
 * read as absent (`discord.token` unset opens the local shell), and a feature's settings (`litellm.*`) are a warning here and a clear "not configured"
 * where the feature is used. An override such as LABOPS_REDIS_URL that supplies the value wins.
 */
/** Keys whose absence has a documented meaning: no Discord (the local shell), no Redis password, unsigned jobs (one host only), no rotation under way. */
const OPTIONAL_WHEN_UNSET = new Set(['discord.token', 'redis.username', 'redis.password', 'security.jobKey', 'security.previousJobKey']);

function checkUnsetRefs(resolved: unknown, unset: Map<string, string>, warnings: string[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (const [path, name] of unset) {
    if (valueAt(resolved, path) !== undefined || OPTIONAL_WHEN_UNSET.has(path)) continue;
    if (path.startsWith('litellm.')) warnings.push(`${path}: environment variable ${name} is not set; what needs it says so when it is used`);
    else problems.push({ path, message: `${path}: environment variable ${name} is not set (env:${name} says the value must come from it; labops does not fall back to a default)` });
  }
  return problems;
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const part of path.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

const ENV_REF = /^(?:env:|os\.environ\/)([A-Za-z_][A-Za-z0-9_]*)$/;

/** `env:NAME` and LiteLLM's `os.environ/NAME` read the value from the environment; unset reads as absent (see checkUnsetRefs). */
function resolveEnvRefs(value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, unset: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const match = ENV_REF.exec(value);
    if (!match) return value;
    const name = match[1]!;
    const found = env[name];
    if (found === undefined || found === '') {
      unset.set(path.join('.'), name);
      return undefined;
    }
    registerSecret(found);
    return found;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, [...path, i], env, unset));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = resolveEnvRefs(v, [...path, k], env, unset);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

/** The variables the README documents as overriding the file. */
function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const section = (key: string): Record<string, unknown> => {
    const existing = config[key];
    if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as Record<string, unknown>;
    const created: Record<string, unknown> = {};
    config[key] = created;
    return created;
  };
  if (env.DISCORD_TOKEN) {
    section('discord').token = env.DISCORD_TOKEN;
    registerSecret(env.DISCORD_TOKEN);
  }
  if (env.DISCORD_REST_API) section('discord').restApi = env.DISCORD_REST_API;
  if (env.LABOPS_REDIS_URL) section('redis').url = env.LABOPS_REDIS_URL;
  if (env.LABOPS_REDIS_PREFIX) section('redis').prefix = env.LABOPS_REDIS_PREFIX;
  if (env.LABOPS_DATABASE_URL) section('database').url = env.LABOPS_DATABASE_URL;
  if (env.LABOPS_DATABASE_SCHEMA) section('database').schema = env.LABOPS_DATABASE_SCHEMA;
  if (env.LABOPS_REDIS_PASSWORD) section('redis').password = env.LABOPS_REDIS_PASSWORD;
  if (env.LABOPS_JOB_KEY) section('security').jobKey = env.LABOPS_JOB_KEY;
  if (env.LABOPS_PREVIOUS_JOB_KEY) section('security').previousJobKey = env.LABOPS_PREVIOUS_JOB_KEY;
  for (const name of ['LABOPS_REDIS_URL', 'LABOPS_DATABASE_URL', 'LABOPS_REDIS_PASSWORD', 'LABOPS_JOB_KEY', 'LABOPS_PREVIOUS_JOB_KEY'] as const) {
    if (name.endsWith('_URL')) registerUrlSecrets(env[name]);
    else registerSecret(env[name]);
  }
}

/** Secrets as written (or resolved from env:), before the schema has looked at them. */
function registerRawSecrets(config: unknown): void {
  const at = (...path: string[]): unknown => path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), config);
  for (const path of [['redis', 'url'], ['database', 'url'], ['litellm', 'databaseUrl']]) {
    const url = at(...path);
    if (typeof url === 'string') registerUrlSecrets(url);
  }
  for (const path of [['redis', 'password'], ['security', 'jobKey'], ['security', 'previousJobKey'], ['litellm', 'masterKey'], ['litellm', 'saltKey'], ['discord', 'token']]) {
    const value = at(...path);
    if (typeof value === 'string') registerSecret(value);
  }
}

function registerSecrets(config: Config): void {
  registerSecret(config.discord.token);
  registerSecret(config.litellm.masterKey);
  registerSecret(config.litellm.saltKey);
  registerSecret(config.redis.password);
  registerSecret(config.security.jobKey);
  registerSecret(config.security.previousJobKey);
  for (const url of [config.redis.url, config.database.url, config.litellm.databaseUrl]) registerUrlSecrets(url);
}

/** Keys whose value is never quoted in a message: secrets, and URLs that may hold a password. */
const SECRET_KEY = /(^|\.)(token|password|masterKey|saltKey|jobKey|previousJobKey|url|databaseUrl)$/;

function formatIssue(issue: z.core.$ZodIssue, unsetRefs: Map<string, string>): string {
  const path = issue.path.map(String).join('.');
  const at = path || '(top level)';
  const secret = SECRET_KEY.test(path) && !path.startsWith('hosts.');
  const given = 'input' in issue ? issue.input : undefined;
  const input = secret ? undefined : given;
  const shown = (value: unknown) => (secret ? 'a value not shown here (it may be secret)' : describe(value));
  const unset = unsetRefs.get(path);
  switch (issue.code) {
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator && 'options' in issue) {
        const got = (input as Record<string, unknown> | undefined)?.[issue.discriminator as string];
        const options = (issue.options as unknown[]).map(String).join(' | ');
        return `${at}: expected one of ${options}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`;
      }
      return `${at}: ${issue.message}`;
    }
    case 'invalid_key':
      return `${at}: ${issue.issues.map((i) => i.message).join('; ')}`;
    case 'invalid_value':
      return `${at}: expected one of ${issue.values.map(String).join(' | ')}, got ${JSON.stringify(input)}`;
    case 'invalid_type':
      if (given === undefined) {
        return unset ? `${at}: required, but environment variable ${unset} is not set` : `${at}: required (expected ${issue.expected})`;
      }
      return `${at}: expected ${issue.expected}, got ${shown(given)}`;
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path.map(String));
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${known ? ` (expected ${known})` : ''}`;
    }
    default:
      return `${at}: ${issue.message}${input !== undefined && issue.code !== 'custom' ? `, got ${shown(input)}` : ''}`;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** The keys a strict object at `path` accepts, for "did you mean" messages. */
function knownKeys(parts: string[]): string | null {
  let schema: unknown = configSchema;
  for (const part of parts) {
    schema = unwrap(schema);
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return null;
    if (def.type === 'object') schema = (def.shape as Record<string, unknown>)[part];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'union') return null;
    else return null;
  }
  schema = unwrap(schema);
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (def?.type !== 'object') return null;
  return Object.keys(def.shape as Record<string, unknown>).join(', ');
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = (current as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (!def) return current;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') current = def.innerType;
    // a pipe reads as its input, unless the input is a preprocess step: then as the schema it feeds
    else if (def.type === 'pipe') current = (def.in as { _zod?: { def?: { type?: string } } })._zod?.def?.type === 'transform' ? def.out : def.in;
    else return current;
  }
  return current;
}
