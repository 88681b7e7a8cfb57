import type { Config } from './schema.js';

/**
 * Why a setting that a feature needs is absent, naming what to set: "LITELLM_SALT_KEY is not set
 * (litellm.saltKey reads env:LITELLM_SALT_KEY)" when the file points at an unset variable, else
 * "litellm.saltKey is not set in labops.yaml". `path` is the key's dotted path.
 */
export function notConfigured(config: Pick<Config, 'unsetEnv'>, path: string): string {
  const variable = config.unsetEnv?.[path];
  if (variable) return `${variable} is not set (${path} reads env:${variable})`;
  return `${path} is not set in labops.yaml`;
}
