import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import { safeUrl } from '../core/redact.js';

/** ioredis repeats a connection error on every retry; log each outage once, and the recovery. */
export function logRedisErrors(redis: Redis, url: string, logger: Logger): void {
  let down = false;
  redis.on('error', (err) => {
    if (down) return;
    down = true;
    logger.warn({ err: err.message }, `Redis at ${safeUrl(url)} is unreachable; retrying`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info(`Redis at ${safeUrl(url)} is back`);
  });
}
