import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';
import { alertKeyString, parseAlertKey, type AlertKey } from './alert-key.js';
import type { AlertStatus, AlertState } from './state-machine.js';
import type { AlertContext, AlertStore, StoredAlert } from './store.js';

/** a resolved alert is kept this long for history; active ones are kept until they resolve */
const RESOLVED_TTL_MS = 7 * 24 * 3600 * 1000;
const TIMES = ['pendingSince', 'firingSince', 'resolvedAt', 'lastNotifiedAt'] as const;
const STATUSES: readonly AlertStatus[] = ['inactive', 'pending', 'firing', 'resolved'];
const OWN_FIELDS = new Set<string>([...TIMES, 'host', 'subject', 'kind', 'status', 'updatedAt']);

export const alertRedisKey = (prefix: string, k: AlertKey) => key(prefix, 'alert', k.host, k.subject, k.kind);
/** Every alert key with a stored state (a set of `host:subject:kind`), for /alerts and autocomplete. */
export const alertIndexKey = (prefix: string) => key(prefix, 'alerts');

/** One hash per alert: `<prefix>:alert:<host>:<subject>:<kind>`, and the index `<prefix>:alerts`. */
export class RedisAlertStore implements AlertStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async load(k: AlertKey): Promise<AlertState | null> {
    return parseState(await this.redis.hgetall(alertRedisKey(this.prefix, k)));
  }

  async save(k: AlertKey, state: AlertState, context: AlertContext): Promise<void> {
    const redisKey = alertRedisKey(this.prefix, k);
    const index = alertIndexKey(this.prefix);
    if (state.status === 'inactive') {
      await this.redis.multi().del(redisKey).srem(index, alertKeyString(k)).exec();
      return;
    }
    const fields: Record<string, string | number> = { ...context, host: k.host, subject: k.subject, kind: k.kind, status: state.status, updatedAt: Date.now() };
    for (const name of TIMES) if (state[name] !== null) fields[name] = state[name];
    const tx = this.redis.multi().del(redisKey).hset(redisKey, fields).sadd(index, alertKeyString(k));
    if (state.status === 'resolved') tx.pexpire(redisKey, RESOLVED_TTL_MS);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  /** Every stored alert (resolved ones for a week), optionally of one host; entries whose hash expired leave the index. */
  async list(filter: { host?: string; kind?: string } = {}): Promise<StoredAlert[]> {
    const index = alertIndexKey(this.prefix);
    const members = (await this.redis.smembers(index))
      .map((m) => ({ member: m, key: parseAlertKey(m) }))
      .filter((m) => m.key && (!filter.host || m.key.host === filter.host) && (!filter.kind || m.key.kind === filter.kind));
    if (members.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const m of members) pipeline.hgetall(alertRedisKey(this.prefix, m.key!));
    const hashes = (await pipeline.exec()) ?? [];
    const out: StoredAlert[] = [];
    const gone: string[] = [];
    members.forEach((m, i) => {
      const [err, hash] = hashes[i] ?? [null, null];
      if (err) throw err;
      const raw = (hash ?? {}) as Record<string, string>;
      const state = parseState(raw);
      if (!state) {
        gone.push(m.member);
        return;
      }
      const context: AlertContext = {};
      for (const [name, value] of Object.entries(raw)) if (!OWN_FIELDS.has(name)) context[name] = value;
      out.push({ key: m.key!, state, context, updatedAt: Number(raw.updatedAt) || 0 });
    });
    if (gone.length > 0) await this.redis.srem(index, ...gone).catch(() => undefined);
    return out.sort((a, b) => alertKeyString(a.key).localeCompare(alertKeyString(b.key)));
  }
}

function parseState(hash: Record<string, string>): AlertState | null {
  const status = hash.status as AlertStatus | undefined;
  if (!status || !STATUSES.includes(status)) return null;
  const time = (name: (typeof TIMES)[number]) => (hash[name] ? Number(hash[name]) : null);
  return { status, pendingSince: time('pendingSince'), firingSince: time('firingSince'), resolvedAt: time('resolvedAt'), lastNotifiedAt: time('lastNotifiedAt') };
}
