import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';
import type { AlertKey } from './alert-key.js';
import type { AlertStatus, AlertState } from './state-machine.js';
import type { AlertContext, AlertStore } from './store.js';

/** a resolved alert is kept this long for history; active ones are kept until they resolve */
const RESOLVED_TTL_MS = 7 * 24 * 3600 * 1000;
const TIMES = ['pendingSince', 'firingSince', 'resolvedAt', 'lastNotifiedAt'] as const;
const STATUSES: readonly AlertStatus[] = ['inactive', 'pending', 'firing', 'resolved'];

export const alertRedisKey = (prefix: string, k: AlertKey) => key(prefix, 'alert', k.host, k.subject, k.kind);

/** One hash per alert: `<prefix>:alert:<host>:<subject>:<kind>`. */
export class RedisAlertStore implements AlertStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async load(k: AlertKey): Promise<AlertState | null> {
    const hash = await this.redis.hgetall(alertRedisKey(this.prefix, k));
    const status = hash.status as AlertStatus | undefined;
    if (!status || !STATUSES.includes(status)) return null;
    const time = (name: (typeof TIMES)[number]) => (hash[name] ? Number(hash[name]) : null);
    return { status, pendingSince: time('pendingSince'), firingSince: time('firingSince'), resolvedAt: time('resolvedAt'), lastNotifiedAt: time('lastNotifiedAt') };
  }

  async save(k: AlertKey, state: AlertState, context: AlertContext): Promise<void> {
    const redisKey = alertRedisKey(this.prefix, k);
    if (state.status === 'inactive') {
      await this.redis.del(redisKey);
      return;
    }
    const fields: Record<string, string | number> = { ...context, host: k.host, subject: k.subject, kind: k.kind, status: state.status, updatedAt: Date.now() };
    for (const name of TIMES) if (state[name] !== null) fields[name] = state[name];
    const tx = this.redis.multi().del(redisKey).hset(redisKey, fields);
    if (state.status === 'resolved') tx.pexpire(redisKey, RESOLVED_TTL_MS);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }
}
