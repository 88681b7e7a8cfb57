import { formatDuration } from '../core/duration.js';
import { usageError } from '../core/errors.js';
import { SigningKeys } from '../core/signing-keys.js';
import type { Config } from './schema.js';

/** How this process signs and checks jobs and notices. */
export interface JobSigning {
  /** null: the lab runs unsigned (one host, no key) */
  keys: SigningKeys | null;
  /** security.maxJobAge */
  maxJobAgeMs: number;
}

export function jobSigning(config: Pick<Config, 'security'>): JobSigning {
  const { jobKey, previousJobKey, maxJobAge } = config.security;
  return { keys: jobKey ? new SigningKeys(jobKey, previousJobKey) : null, maxJobAgeMs: maxJobAge };
}

/**
 * A lab of more than one host has its Redis on the network, where anyone who can write to it
 * could queue a job as anyone: its processes do not start without a key. A one-host lab may run
 * unsigned (and /status says so).
 */
export function assertSigningConfigured(config: Pick<Config, 'security' | 'hosts'>, verb: string): void {
  const hosts = Object.keys(config.hosts);
  if (config.security.jobKey) return;
  if (config.security.previousJobKey) {
    throw usageError(
      `labops ${verb}: security.previousJobKey is set but security.jobKey (LABOPS_JOB_KEY) is not.`,
      'The previous key is only accepted beside a current one: set LABOPS_JOB_KEY to the new key.',
    );
  }
  if (hosts.length <= 1) return;
  throw usageError(
    `labops ${verb}: this config has ${hosts.length} hosts (${hosts.join(', ')}), so jobs must be signed, and no key is set: set LABOPS_JOB_KEY (security.jobKey).`,
    'Use the same value for the bot and every worker, at least 32 characters, e.g. `openssl rand -base64 32`; see "Signed jobs and notices" in the README.',
  );
}

/** What /status says about signing, from this process's config. */
export function signingSummary(signing: JobSigning): string {
  if (!signing.keys) return 'Jobs: NOT signed — a one-host lab without LABOPS_JOB_KEY; anyone who can write to its Redis can queue jobs';
  return `Jobs: signed (HMAC-SHA-256, key ${signing.keys.kid}${signing.keys.hasPrevious ? ', previous key still accepted' : ''}); workers refuse unsigned jobs and jobs older than ${formatDuration(signing.maxJobAgeMs)}`;
}
