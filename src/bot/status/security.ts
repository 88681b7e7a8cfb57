import { signingSummary } from '../../config/security.js';
import { droppedNoticesKey } from '../../queue/notice-queue.js';
import type { BotContext } from '../context.js';
import type { HostReport } from './collect.js';

export interface SecurityStatus {
  jobSigning: 'on' | 'off';
  /** the current key's id (not the key) */
  keyId: string | null;
  previousKeyAccepted: boolean;
  /** notices the chat side dropped because their signature did not hold */
  droppedNotices: number;
  /** hosts whose worker says it runs unsigned jobs */
  unsignedWorkers: string[];
  /** per online worker, the ids of the keys it accepts ("current+previous"), as it reports them */
  workerKeys: Record<string, string>;
}

/** Whether this lab signs its jobs and notices, as this process is configured and as the workers say. */
export async function securityStatus(ctx: Pick<BotContext, 'signing' | 'redis' | 'prefix'>, reports: HostReport[]): Promise<SecurityStatus> {
  const dropped = Number(await ctx.redis.get(droppedNoticesKey(ctx.prefix)).catch(() => null)) || 0;
  return {
    jobSigning: ctx.signing.keys ? 'on' : 'off',
    keyId: ctx.signing.keys?.kid ?? null,
    previousKeyAccepted: ctx.signing.keys?.hasPrevious ?? false,
    droppedNotices: dropped,
    unsignedWorkers: reports.filter((r) => r.online && r.heartbeat?.jobSigning === 'off').map((r) => r.host),
    workerKeys: Object.fromEntries(reports.filter((r) => r.online && r.heartbeat?.jobKeys).map((r) => [r.host, r.heartbeat!.jobKeys!])),
  };
}

export function securityLines(status: SecurityStatus, signing: BotContext['signing']): string[] {
  const lines = [signingSummary(signing)];
  if (status.jobSigning === 'on' && status.unsignedWorkers.length > 0) {
    lines.push(`⚠ ${status.unsignedWorkers.join(', ')}: the worker has no LABOPS_JOB_KEY and runs unsigned jobs`);
  }
  const keys = Object.entries(status.workerKeys);
  if (status.jobSigning === 'on' && keys.length > 0) {
    lines.push(`Worker keys: ${keys.map(([host, ids]) => `${host} ${ids.replace('+', ' (also accepts ')}${ids.includes('+') ? ')' : ''}`).join(' · ')}`);
  }
  if (status.droppedNotices > 0) lines.push(`⚠ ${status.droppedNotices} notice${status.droppedNotices === 1 ? '' : 's'} dropped: not signed by this lab's key (see the bot's log)`);
  return lines;
}
