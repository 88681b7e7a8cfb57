import { Redis } from 'ioredis';
import { unavailableError } from '../core/errors.js';
import { safeUrl } from '../core/redact.js';

/**
 * A client for short commands (queue adds, heartbeats, reads). Its offline queue is off, so a
 * command while Redis is down fails at once instead of waiting for a reconnect that may never come.
 */
export type { Redis } from 'ioredis';

export function commandClient(url: string): Redis {
  return quiet(new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(250 * times, 2_000),
    lazyConnect: false,
  }));
}

/** A client for BullMQ workers and QueueEvents: blocking reads, retried for ever. */
export function blockingClient(url: string): Redis {
  return quiet(
    new Redis(url, {
      maxRetriesPerRequest: null,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(250 * times, 2_000),
    }),
  );
}

/**
 * Without an `error` listener ioredis prints "[ioredis] Unhandled error event" on every reconnect
 * attempt, into the shell's prompt and exec's stderr. Outages are logged once by whoever owns the
 * client (logRedisErrors, the queue's error handlers); this listener only keeps ioredis quiet.
 */
function quiet(client: Redis): Redis {
  client.on('error', () => undefined);
  return client;
}

/** Resolves when the client is connected; within `withinMs` it says clearly that Redis is unreachable. */
export async function ensureRedis(client: Redis, url: string, withinMs = 1_200): Promise<void> {
  if (client.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), withinMs);
    const onReady = () => done(true);
    function done(ok: boolean) {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    }
    client.on('ready', onReady);
  });
  if (!ready) throw redisUnreachable(url);
}

export function redisUnreachable(url: string) {
  return unavailableError(
    `Redis at ${safeUrl(url)} is unreachable.`,
    'Nothing was queued. Start Redis (or fix redis.url / LABOPS_REDIS_URL) and try again.',
  );
}

/** True for the errors ioredis gives while the connection is down. */
export function isConnectionError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|enableOfflineQueue|Reached the max retries/i.test(message);
}

/** Keys outside BullMQ's own: `<prefix>:<parts…>` */
export function key(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(':');
}
