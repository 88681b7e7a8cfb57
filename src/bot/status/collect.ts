import type { BotContext } from '../context.js';
import { errorMessage, isUserError } from '../../core/errors.js';
import { isOnline, readHeartbeat, type Heartbeat } from '../../state/heartbeat.js';
import { ensureRedis } from '../../redis/connection.js';
import type { Requester } from '../../contracts/define.js';
import { statusSnapshot, type StatusSnapshot } from '../../contracts/status-snapshot.js';

export interface HostReport {
  host: string;
  heartbeat: Heartbeat | null;
  online: boolean;
  queue: Record<string, number> | null;
  snapshot: StatusSnapshot | null;
  /** why there is no snapshot */
  problem: string | null;
}

/** Asks each host's worker for a snapshot, in parallel; an offline host is reported, not waited for. */
export async function collectHosts(
  ctx: BotContext,
  hosts: string[],
  opts: { requestedBy: Requester | null; onProgress?: (text: string) => void; waitMs?: number },
): Promise<HostReport[]> {
  await ensureRedis(ctx.redis, ctx.redisUrl);
  return await Promise.all(
    hosts.map(async (host): Promise<HostReport> => {
      const [heartbeat, queue] = await Promise.all([readHeartbeat(ctx.redis, ctx.prefix, host), ctx.jobs.counts(host)]);
      const online = isOnline(heartbeat);
      if (!online) {
        return { host, heartbeat, online, queue, snapshot: null, problem: !heartbeat ? 'no worker has reported yet' : heartbeat.stoppedAt ? 'worker stopped' : 'worker offline' };
      }
      try {
        opts.onProgress?.(`asking the worker on ${host}`);
        const snapshot = await ctx.jobs.run(statusSnapshot, host, {}, { requestedBy: opts.requestedBy, waitMs: opts.waitMs ?? 10_000, dropIfUnanswered: true });
        return { host, heartbeat, online, queue, snapshot, problem: null };
      } catch (err) {
        if (!isUserError(err)) ctx.logger.error({ err, host }, 'status snapshot failed');
        return { host, heartbeat, online, queue, snapshot: null, problem: errorMessage(err) };
      }
    }),
  );
}
