import { access } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { errorMessage, isUserError } from '../core/errors.js';
import { readLiteLLMConfig, type ConfigModel, type LiteLLMConfigFile } from '../litellm/config-file.js';
import { decryptNested, deriveKeys, looksLikeCiphertext, type LiteLLMKeys } from '../litellm/crypto.js';
import { openLiteLLMDb, type DbModel } from '../litellm/db.js';
import { resolveProvider } from '../litellm/providers.js';

/** One deployment of a LiteLLM model group: from config.yaml or from LiteLLM's database. */
export interface Deployment {
  modelName: string;
  source: 'config.yaml' | 'database';
  /** `litellm_params.model`, e.g. `openai/hermes-3` or `ollama_chat/mistral:7b` */
  model?: string;
  provider?: string;
  apiBase?: string;
  /** `model_info.mode` */
  mode?: string;
  supportsVision: boolean;
  /** what could not be read of it */
  problems: string[];
}

export type DbRead =
  | { state: 'read'; detail: string; rows: number }
  | { state: 'skipped'; detail: string }
  | { state: 'failed'; detail: string };

export interface LiteLLMFound {
  configPath?: string;
  /** how the file was found */
  foundBy?: string;
  /** where it was looked for, when it was not found */
  looked: string[];
  file?: LiteLLMConfigFile;
  /** the file was found but could not be read */
  error?: string;
  deployments: Deployment[];
  db: DbRead;
  /** the variable LiteLLM's database URL is read from */
  databaseUrlEnv?: string;
}

/** Where LiteLLM's config.yaml usually is, when no unit names it. */
export function usualConfigPlaces(home: string): string[] {
  return [
    join(home, 'litellm', 'config.yaml'),
    join(home, 'litellm', 'litellm_config.yaml'),
    join(home, '.litellm', 'config.yaml'),
    join(home, '.config', 'litellm', 'config.yaml'),
    '/etc/litellm/config.yaml',
    '/opt/litellm/config.yaml',
  ];
}

export interface ConfigCandidate {
  path: string;
  foundBy: string;
}

/** The first existing file of the candidates (a unit's `--config` before the usual places). */
export async function findConfig(candidates: readonly ConfigCandidate[]): Promise<{ found?: ConfigCandidate; looked: string[] }> {
  const looked: string[] = [];
  for (const candidate of candidates) {
    looked.push(candidate.path);
    if (await exists(candidate.path)) return { found: candidate, looked };
  }
  return { looked };
}

export function resolveFrom(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir || '/', path);
}

/**
 * Reads config.yaml and, where LiteLLM keeps models in its database too and the database and
 * the salt key are at hand, the database's models: their `model`, `api_base` and provider are
 * decrypted (nothing else, never a key).
 */
export async function readLiteLLM(
  candidate: ConfigCandidate | undefined,
  looked: string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<LiteLLMFound> {
  const none: DbRead = { state: 'skipped', detail: 'no LiteLLM config.yaml' };
  if (!candidate) return { looked, deployments: [], db: none };
  let file: LiteLLMConfigFile;
  try {
    file = await readLiteLLMConfig(candidate.path);
  } catch (err) {
    return { configPath: candidate.path, foundBy: candidate.foundBy, looked, error: errorMessage(err), deployments: [], db: none };
  }
  const deployments = file.models.map(fromConfig);
  const databaseUrlEnv = file.databaseUrl.source === 'env' ? file.databaseUrl.name : file.databaseUrl.source === 'literal' ? 'LITELLM_DATABASE_URL' : 'DATABASE_URL';
  const db = await readDb(file, databaseUrlEnv, env, signal);
  return {
    configPath: candidate.path,
    foundBy: candidate.foundBy,
    looked,
    file,
    deployments: [...deployments, ...db.deployments],
    db: db.read,
    databaseUrlEnv,
  };
}

function fromConfig(m: ConfigModel): Deployment {
  const params = m.litellmParams;
  const model = typeof params.model === 'string' ? params.model : undefined;
  return {
    modelName: m.modelName,
    source: 'config.yaml',
    ...(model ? { model } : {}),
    ...definedString('provider', resolveProvider({ custom_llm_provider: params.custom_llm_provider, model })),
    ...definedString('apiBase', typeof params.api_base === 'string' ? params.api_base : undefined),
    ...definedString('mode', typeof m.modelInfo?.mode === 'string' ? m.modelInfo.mode : undefined),
    supportsVision: m.modelInfo?.supports_vision === true,
    problems: [],
  };
}

async function readDb(
  file: LiteLLMConfigFile,
  urlEnv: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<{ read: DbRead; deployments: Deployment[] }> {
  const storeInDb = file.storeModelInDb ?? /^true$/i.test(env.STORE_MODEL_IN_DB ?? '');
  if (!storeInDb) return { read: { state: 'skipped', detail: 'store_model_in_db is not set: LiteLLM keeps no models in its database' }, deployments: [] };
  const url = env[urlEnv];
  if (!url) return { read: { state: 'skipped', detail: `${urlEnv} is not set in this shell` }, deployments: [] };
  const saltKey = env.LITELLM_SALT_KEY;
  const db = openLiteLLMDb(url);
  try {
    const rows = await db.models(signal);
    if (!saltKey) {
      return {
        read: { state: 'read', detail: `${db.name}: ${rows.length} models; LITELLM_SALT_KEY is not set, so where they are served could not be read`, rows: rows.length },
        deployments: rows.map((row) => fromDb(row, null)),
      };
    }
    const keys = deriveKeys(saltKey);
    return { read: { state: 'read', detail: `${db.name}: ${rows.length} models`, rows: rows.length }, deployments: rows.map((row) => fromDb(row, keys)) };
  } catch (err) {
    if (isUserError(err)) return { read: { state: 'failed', detail: err.message }, deployments: [] };
    throw err;
  } finally {
    await db.close();
  }
}

/** The three params init needs, decrypted; every other param (api_key above all) is left alone. */
function fromDb(row: DbModel, keys: LiteLLMKeys | null): Deployment {
  const problems: string[] = [];
  const read = (name: 'model' | 'api_base' | 'custom_llm_provider'): string | undefined => {
    const stored = row.litellmParams[name];
    if (typeof stored !== 'string' || stored === '') return undefined;
    if (!looksLikeCiphertext(stored)) return stored;
    if (!keys) {
      problems.push(`${name} is encrypted and LITELLM_SALT_KEY is not set`);
      return undefined;
    }
    const result = decryptNested(stored, keys);
    if (!result.ok) {
      problems.push(`${name} does not decrypt with LITELLM_SALT_KEY (${result.reason})`);
      return undefined;
    }
    if (result.stillCiphertext || result.layers > 1) {
      problems.push(`${name} is stored encrypted ${result.layers > 1 ? 'twice' : 'under another key'}: /doctor and /repair deal with it`);
      return result.stillCiphertext ? undefined : result.plaintext;
    }
    return result.plaintext;
  };
  const model = read('model');
  const apiBase = read('api_base');
  const customProvider = read('custom_llm_provider');
  const info = row.modelInfo ?? {};
  return {
    modelName: row.modelName,
    source: 'database',
    ...definedString('model', model),
    ...definedString('provider', resolveProvider({ custom_llm_provider: customProvider, model })),
    ...definedString('apiBase', apiBase),
    ...definedString('mode', typeof info.mode === 'string' ? info.mode : undefined),
    supportsVision: info.supports_vision === true,
    problems,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function definedString<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}
