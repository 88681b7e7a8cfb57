import type { Logger } from '../core/logger.js';
import { logChangedErrors } from '../core/log-on-change.js';
import { safeUrl } from '../core/redact.js';
import type { Redis } from './connection.js';

/** ioredis repeats a connection error on every retry; log each outage once, and the recovery. */
export function logRedisErrors(redis: Redis, url: string, logger: Logger): void {
  const errors = logChangedErrors(logger, `Redis at ${safeUrl(url)} is unreachable; retrying`, {}, { recovered: `Redis at ${safeUrl(url)} is back` });
  redis.on('error', errors.onError);
  redis.on('ready', errors.reset);
}
