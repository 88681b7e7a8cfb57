import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from '../redis/connection.js';
import { RetryLater, type Notice, type NoticeChannel, type NoticeSink } from '../notify/notice.js';
import type { Reply } from '../core/reply.js';
import type { Logger } from '../core/logger.js';
import { redactDeep } from '../core/redact.js';
import { NOTIFY_QUEUE } from './names.js';
import { logChangedErrors } from '../core/log-on-change.js';
import { closeWithin } from './close-within.js';
import { blockingClient } from '../redis/connection.js';

/**
 * Alerts and log posts go through a queue consumed by the chat side, so one raised while Discord
 * or the bot is down is delivered when they are back. A notice is retried until it is delivered.
 */
export class Notifier implements NoticeSink {
  private readonly queue: Queue;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(NOTIFY_QUEUE, { connection, prefix, skipWaitingForReady: true });
    const errors = logChangedErrors(logger, 'notify queue error');
    this.queue.on('error', errors.onError);
    connection.on('ready', errors.reset);
  }

  async post(channel: NoticeChannel, reply: Reply, opts: { key?: string } = {}): Promise<void> {
    const notice: Notice = { channel, reply: redactDeep(reply), at: Date.now(), ...(opts.key ? { key: opts.key } : {}) };
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

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** The chat side's consumer: one notice at a time, in order, retried with backoff (or after RetryLater's delay). */
export function consumeNotices(
  redisUrl: string,
  prefix: string,
  handler: (notice: Notice, jobId: string) => Promise<void>,
  logger: Logger,
): { close(): Promise<void> } {
  const client = blockingClient(redisUrl);
  client.on('error', () => undefined);
  const worker = new Worker(
    NOTIFY_QUEUE,
    async (job: Job) => {
      await handler(job.data as Notice, job.id ?? '?');
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
