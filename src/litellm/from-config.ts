import { notConfigured } from '../config/not-configured.js';
import type { Config } from '../config/schema.js';
import { createLiteLLMClient, type LiteLLMClient } from './client.js';
import { deriveKeys, type LiteLLMKeys } from './crypto.js';
import { openLiteLLMDb, type LiteLLMDb } from './db.js';

/**
 * What `litellm.*` in labops.yaml gives access to, each either ready or with the reason it is not
 * (naming the key or the unset environment variable). Nothing is connected here until used; the
 * caller closes the database it opened.
 */
export type Configured<T> = { ok: true; value: T } | { ok: false; why: string };

type LiteLLMConfig = Pick<Config, 'litellm' | 'unsetEnv'>;

const missing = (config: LiteLLMConfig, path: string): { ok: false; why: string } => ({ ok: false, why: notConfigured(config, path) });

/** The proxy client; without a master key it still reaches the public health routes. */
export function proxyClient(config: LiteLLMConfig, opts: { llmTimeoutMs?: number; requireMasterKey?: boolean } = {}): Configured<LiteLLMClient> {
  const { url, masterKey } = config.litellm;
  if (!url) return missing(config, 'litellm.url');
  if (opts.requireMasterKey && !masterKey) return missing(config, 'litellm.masterKey');
  return { ok: true, value: createLiteLLMClient({ baseUrl: url, masterKey: masterKey ?? '', ...(opts.llmTimeoutMs ? { llmTimeoutMs: opts.llmTimeoutMs } : {}) }) };
}

export function litellmDb(config: LiteLLMConfig): Configured<LiteLLMDb> {
  const url = config.litellm.databaseUrl;
  return url ? { ok: true, value: openLiteLLMDb(url, { ssl: config.litellm.databaseSsl }) } : missing(config, 'litellm.databaseUrl');
}

export function saltKeys(config: LiteLLMConfig): Configured<LiteLLMKeys> {
  const salt = config.litellm.saltKey;
  return salt ? { ok: true, value: deriveKeys(salt) } : missing(config, 'litellm.saltKey');
}

export function configFilePath(config: LiteLLMConfig): Configured<string> {
  const path = config.litellm.configPath;
  return path ? { ok: true, value: path } : missing(config, 'litellm.configPath');
}
