import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { EXAMPLE_CONFIG } from '../core/paths.js';
import { registerSecret } from '../core/redact.js';
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
  return { config: parseConfig(text, file, env), file };
}

export function parseConfig(text: string, file = 'labops.yaml', env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS() ?? {};
  const unsetRefs = new Map<string, string>();
  const resolved = resolveEnvRefs(raw, [], env, unsetRefs);
  applyEnvOverrides(resolved as Record<string, unknown>, env);

  const result = configSchema.safeParse(resolved, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(file, result.error.issues.map((issue) => formatIssue(issue, unsetRefs)));
  }
  registerSecrets(result.data);
  return result.data;
}

const ENV_REF = /^(?:env:|os\.environ\/)([A-Za-z_][A-Za-z0-9_]*)$/;

/** `env:NAME` and LiteLLM's `os.environ/NAME` read the value from the environment; unset reads as absent. */
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
}

function registerSecrets(config: Config): void {
  registerSecret(config.discord.token);
  registerSecret(config.litellm.masterKey);
  registerSecret(config.litellm.saltKey);
  for (const url of [config.redis.url, config.database.url, config.litellm.databaseUrl]) {
    if (!url) continue;
    try {
      registerSecret(decodeURIComponent(new URL(url).password));
    } catch {
      // not a URL: nothing to register
    }
  }
}

function formatIssue(issue: z.core.$ZodIssue, unsetRefs: Map<string, string>): string {
  const path = issue.path.map(String).join('.');
  const at = path || '(top level)';
  const input = 'input' in issue ? issue.input : undefined;
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
      if (input === undefined) {
        return unset ? `${at}: required, but environment variable ${unset} is not set` : `${at}: required (expected ${issue.expected})`;
      }
      return `${at}: expected ${issue.expected}, got ${describe(input)}`;
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path.map(String));
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${known ? ` (expected ${known})` : ''}`;
    }
    default:
      return `${at}: ${issue.message}${input !== undefined && issue.code !== 'custom' ? `, got ${describe(input)}` : ''}`;
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
