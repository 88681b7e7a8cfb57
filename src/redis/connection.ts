import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import { unavailableError, usageError } from '../core/errors.js';
import { redact, safeUrl } from '../core/redact.js';

export type { Redis } from 'ioredis';

/** Where Redis is and how to log in: the URL (redis:// or rediss://), an ACL user or password, TLS options. */
export interface RedisTarget {
  url: string;
  username?: string;
  password?: string;
  /** for rediss:// URLs: CA, client certificate and key (PEM text), server name */
  tls?: ConnectionOptions;
}

/** A plain URL, or a target with credentials and TLS. */
export type RedisEndpoint = string | RedisTarget;

/**
 * The Redis of a config, with its TLS files read now: a missing CA or key stops the process at
 * start with the path, not at the first reconnect.
 */
export function redisTarget(redis: Config['redis']): RedisTarget {
  const t = redis.tls;
  return {
    url: redis.url,
    ...(redis.username ? { username: redis.username } : {}),
    ...(redis.password ? { password: redis.password } : {}),
    ...(redis.url.startsWith('rediss://')
      ? {
          tls: {
            rejectUnauthorized: t?.rejectUnauthorized ?? true,
            ...(t?.ca ? { ca: readPem(t.ca, 'redis.tls.ca') } : {}),
            ...(t?.cert ? { cert: readPem(t.cert, 'redis.tls.cert') } : {}),
            ...(t?.key ? { key: readPem(t.key, 'redis.tls.key') } : {}),
            ...(t?.servername ? { servername: t.servername } : {}),
          },
        }
      : {}),
  };
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
  }
}

export const endpointUrl = (endpoint: RedisEndpoint): string => (typeof endpoint === 'string' ? endpoint : endpoint.url);

function endpointOptions(endpoint: RedisEndpoint): RedisOptions {
  if (typeof endpoint === 'string') return {};
  return {
    ...(endpoint.username ? { username: endpoint.username } : {}),
    ...(endpoint.password ? { password: endpoint.password } : {}),
    ...(endpoint.tls ? { tls: endpoint.tls } : {}),
  };
}

/**
 * A client for short commands (queue adds, heartbeats, reads). Its offline queue is off, so a
 * command while Redis is down fails at once instead of waiting for a reconnect that may never come.
 */
export function commandClient(endpoint: RedisEndpoint): Redis {
  return quiet(new Redis(endpointUrl(endpoint), {
    ...endpointOptions(endpoint),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(250 * times, 2_000),
    lazyConnect: false,
  }));
}

/** A client for BullMQ workers and QueueEvents: blocking reads, retried for ever. */
export function blockingClient(endpoint: RedisEndpoint): Redis {
  return quiet(
    new Redis(endpointUrl(endpoint), {
      ...endpointOptions(endpoint),
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

/**
 * Resolves when the client is connected; within `withinMs` it says clearly that Redis is
 * unreachable, and why when it is a refused login or a certificate the client rejects.
 */
export async function ensureRedis(client: Redis, url: string, withinMs = 1_200): Promise<void> {
  if (client.status === 'ready') return;
  let lastError: unknown = null;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), withinMs);
    const onReady = () => done(true);
    const onError = (err: unknown) => (lastError = err);
    function done(ok: boolean) {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      resolve(ok);
    }
    client.on('ready', onReady);
    client.on('error', onError);
  });
  if (!ready) throw redisUnreachable(url, lastError);
}

export function redisUnreachable(url: string, cause?: unknown) {
  const why = cause instanceof Error ? redisErrorText(cause) : null;
  if (why && AUTH_ERROR.test(why)) {
    return unavailableError(
      `Redis at ${safeUrl(url)} refused the login: ${why}`,
      'Nothing was queued. Check redis.password / redis.username (LABOPS_REDIS_PASSWORD, or the URL\'s credentials).',
    );
  }
  if (why && TLS_ERROR.test(why)) {
    return unavailableError(
      `Redis at ${safeUrl(url)} is unreachable over TLS: ${why}`,
      'Nothing was queued. Check redis.tls (ca, servername) and that the URL is rediss:// exactly when the server speaks TLS.',
    );
  }
  return unavailableError(`Redis at ${safeUrl(url)} is unreachable.`, 'Nothing was queued. Start Redis (or fix redis.url / LABOPS_REDIS_URL) and try again.');
}

const AUTH_ERROR = /NOAUTH|WRONGPASS|invalid password|invalid username-password/i;
const TLS_ERROR = /certificate|self[- ]signed|altnames|SSL|TLS|handshake/i;

/** What an ioredis error says, without anything secret. */
export function redisErrorText(err: Error): string {
  return redact(err.message);
}

/** True for the errors ioredis gives while the connection is down. */
export function isConnectionError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return (
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|enableOfflineQueue|Reached the max retries/i.test(message) ||
    AUTH_ERROR.test(message) ||
    TLS_ERROR.test(message)
  );
}

/** Keys outside BullMQ's own: `<prefix>:<parts…>` */
export function key(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(':');
}
