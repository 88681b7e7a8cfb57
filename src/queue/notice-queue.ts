import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from '../redis/connection.js';
import { RetryLater, type Notice, type NoticeChannel, type NoticeSink } from '../notify/notice.js';
import type { Reply } from '../core/reply.js';
import type { Logger } from '../core/logger.js';
import { redactDeep } from '../core/redact.js';
import { NOTIFY_QUEUE } from './names.js';
import { logChangedErrors } from '../core/log-on-change.js';
import { closeWithin } from './close-within.js';
import { blockingClient, key, type RedisEndpoint } from '../redis/connection.js';
import type { SigningKeys } from '../core/signing-keys.js';
import { checkNotice, signNotice } from '../notify/signed-notice.js';

/** How many notices the chat side dropped because their signature did not hold (a counter in Redis). */
export const droppedNoticesKey = (prefix: string) => key(prefix, 'security', 'dropped-notices');

/**
 * Alerts and log posts go through a queue consumed by the chat side, so one raised while Discord
 * or the bot is down is delivered when they are back. A notice is retried until it is delivered.
 * Each is signed with the lab's key (when it has one), so nothing else that can write to Redis can
 * make the bot post into the team's channels.
 */
export class Notifier implements NoticeSink {
  private readonly queue: Queue;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly logger: Logger,
    /** the lab's keys; null or absent: notices go unsigned (a one-host lab without a key) */
    private readonly keys: SigningKeys | null = null,
  ) {
    this.queue = new Queue(NOTIFY_QUEUE, { connection, prefix, skipWaitingForReady: true });
    const errors = logChangedErrors(logger, 'notify queue error');
    this.queue.on('error', errors.onError);
    connection.on('ready', errors.reset);
  }

  async post(channel: NoticeChannel, reply: Reply, opts: { key?: string } = {}): Promise<void> {
    const notice = signNotice(this.keys, { channel, reply: redactDeep(reply), at: Date.now(), ...(opts.key ? { key: opts.key } : {}) });
    try {
      await this.queue.add(channel, notice, {
        attempts: Number.MAX_SAFE_INTEGER,
        backoff: { type: 'notice' },
        removeOnComplete: { age: 24 * 3600, count: 1000 },
        removeOnFail: false,
      });
    } catch (err) {
      // Redis is down: the notice cannot be made durable; say so in the log rather than lose it silently
      this.logger.error({ err, channel, title: notice.reply.title }, 'could not queue a notice');
    }
  }

  /** notices not yet delivered: waiting, being posted, or waiting to be retried */
  async depth(): Promise<number> {
    return await this.queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface NoticeTrust {
  /** the lab's keys: a notice not signed by one of them is dropped; null: a one-host lab that runs unsigned */
  keys: SigningKeys | null;
}

/**
 * The chat side's consumer: one notice at a time, in order, retried with backoff (or after
 * RetryLater's delay). A notice whose signature does not hold is never handed on: it is dropped
 * with a log line and counted (`droppedNoticesKey`).
 */
export function consumeNotices(
  redis: RedisEndpoint,
  prefix: string,
  handler: (notice: Notice, jobId: string) => Promise<void>,
  logger: Logger,
  trust: NoticeTrust,
): { close(): Promise<void> } {
  const client = blockingClient(redis);
  client.on('error', () => undefined);
  const worker = new Worker(
    NOTIFY_QUEUE,
    async (job: Job) => {
      const checked = checkNotice(job.data, trust.keys);
      if (!checked.ok) {
        // its text is not ours to print: the job (kept in the queue under its id) is the evidence
        const dropped = await client.incr(droppedNoticesKey(prefix)).catch(() => null);
        logger.warn({ jobId: job.id, channel: job.name, reason: checked.reason, dropped }, `dropped notice ${job.id}: ${checked.reason}; it is not posted`);
        return { dropped: checked.reason };
      }
      await handler(checked.notice, job.id ?? '?');
      return undefined;
    },
    {
      connection: client,
      prefix,
      concurrency: 1,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
          err instanceof RetryLater ? err.ms : Math.min(60_000, 500 * 2 ** Math.min(attemptsMade, 7)),
      },
    },
  );
  const errors = logChangedErrors(logger, 'notice consumer error');
  worker.on('error', errors.onError);
  client.on('ready', errors.reset);
  worker.on('failed', (job, err) => logger.warn({ jobId: job?.id, reason: err.message }, 'notice not delivered yet; will retry'));
  return {
    async close() {
      // a notice being posted may finish; with Redis unreachable there is nothing to wait for
      await closeWithin(() => worker.close(), client.status === 'ready' ? 10_000 : 1_000);
      client.disconnect();
    },
  };
}
