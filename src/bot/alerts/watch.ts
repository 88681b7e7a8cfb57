import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { logChangedErrors } from '../../core/log-on-change.js';
import { runEvery, type Loop } from '../../core/loop.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { Redis } from '../../redis/connection.js';
import { key } from '../../redis/connection.js';
import { alertKeyString } from '../../alerts/alert-key.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { RedisAlertMarks } from '../../alerts/marks.js';
import { RedisAlertStore } from '../../alerts/redis-store.js';
import { readHeartbeat, type Heartbeat } from '../../state/heartbeat.js';
import { WorkerOfflineRule } from './worker-offline.js';

/** The Redis lock that makes one bot of several the one that watches. */
export const watchLockKey = (prefix: string) => key(prefix, 'lock', 'alert-watch');

export interface AlertWatch {
  /** one pass now (the loop runs them on its interval); false when another bot holds the watch */
  tick(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * What the chat side watches for alerts: the workers' heartbeats (worker offline) and silences
 * that have ended (the alert's current state is then posted once). Several bots may run: each
 * pass takes (or renews) a short Redis lock first, and only its holder watches, so nothing is
 * posted twice.
 */
export function startAlertWatch(deps: { config: Config; redis: Redis; prefix: string; sink: NoticeSink; logger: Logger; intervalMs?: number; immediately?: boolean }): AlertWatch {
  const { config, redis, prefix } = deps;
  const logger = deps.logger.child({ component: 'alert-watch' });
  const intervalMs = deps.intervalMs ?? Math.max(250, Math.min(config.worker.heartbeatInterval, 5_000));
  const marks = new RedisAlertMarks(redis, prefix);
  const announcer = new AlertAnnouncer({ marks, sink: deps.sink, logger });
  const offline = new WorkerOfflineRule(config, { store: new RedisAlertStore(redis, prefix), announcer, logger });
  const me = randomUUID();
  const errors = logChangedErrors(logger, 'alert watch pass failed', {}, { recovered: 'alert watch works again' });
  let leading = false;

  const lead = async (): Promise<boolean> => {
    const script = `local v = redis.call('GET', KEYS[1])
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
    return (await redis.eval(script, 1, watchLockKey(prefix), me, String(intervalMs * 3))) === 1;
  };

  const tick = async (): Promise<boolean> => {
    const leader = await lead();
    if (!leader) {
      leading = false;
      return false;
    }
    if (!leading) offline.forget(); // another bot may have moved the alerts while it led
    leading = true;
    const now = Date.now();
    const beats = new Map<string, Heartbeat | null>(await Promise.all(offline.hosts.map(async (h) => [h, await readHeartbeat(redis, prefix, h)] as const)));
    await offline.evaluate(beats, now);
    for (const k of await marks.endedSilences(now)) {
      if (!(await marks.claimEnded(k, now))) continue;
      const posted = await announcer.repost(k, now);
      logger.info({ key: alertKeyString(k), posted }, 'silence ended');
    }
    return true;
  };

  const loop: Loop = runEvery(intervalMs, () => tick().then(() => errors.reset()), { immediately: deps.immediately ?? true, onError: errors.onError });
  return {
    tick,
    async stop() {
      await loop.stop();
      await offline.idle();
      // hand the watch over at once rather than after the lock lapses
      if (leading) await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, watchLockKey(prefix), me).catch(() => undefined);
    },
  };
}
