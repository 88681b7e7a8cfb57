import type { BotContext } from '../context.js';
import { formatDuration } from '../../core/duration.js';
import { unavailableError } from '../../core/errors.js';
import { isOnline, readHeartbeat } from '../../state/heartbeat.js';
import { ensureRedis } from '../../redis/connection.js';

/**
 * A start, stop or repair is queued only for a host whose worker is alive: one queued for a dead
 * worker would run whenever it comes back, long after anyone expects it.
 */
export async function assertWorkerOnline(ctx: Pick<BotContext, 'redis' | 'redisUrl' | 'prefix'>, host: string): Promise<void> {
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const hb = await readHeartbeat(ctx.redis, ctx.prefix, host);
  if (isOnline(hb)) return;
  const why = !hb ? 'no worker has reported yet' : hb.stoppedAt ? `its worker stopped ${formatDuration(Date.now() - hb.stoppedAt)} ago` : `its worker is offline (last heartbeat ${formatDuration(Date.now() - hb.lastBeat)} ago)`;
  throw unavailableError(`Nothing was queued: ${host} cannot act now, ${why}.`, `Start it with \`labops worker --host ${host}\`; /status shows the hosts.`);
}
