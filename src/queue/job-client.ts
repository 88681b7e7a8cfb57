import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import type { UserError } from '../core/errors.js';
import { failedError, unavailableError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import type { AnyJob, JobPayload, JobResult, Requester } from '../contracts/define.js';
import { hostQueueName } from './names.js';
import { blockingClient, ensureRedis, isConnectionError, redisUnreachable } from '../redis/connection.js';
import { closeWithin, logChangedErrors } from '../core/log-on-change.js';
import { decodeUserError } from '../contracts/user-error-wire.js';

export interface SubmitOptions {
  requestedBy: Requester | null;
  /** while a job with this id is waiting or running, a second submit returns that job */
  deduplicationId?: string;
}

export interface RunOptions extends SubmitOptions {
  onProgress?: (text: string, detail?: Record<string, unknown>) => void;
  /** how long to wait for the result */
  waitMs: number;
  /** remove the job when no worker took it in time (a stale status snapshot is of no use later) */
  dropIfUnanswered?: boolean;
}

export interface Submitted {
  jobId: string;
  /** an equal job was already waiting or running: this is its id */
  deduplicated: boolean;
}

export interface JobSummary {
  id: string;
  kind: string;
  host: string;
  state: string;
  requestedBy: string | null;
  createdAt: Date;
  progress: string | null;
  failedReason: string | null;
}

export const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
} satisfies JobsOptions;

/** What a job carries: the payload for its processor and who asked, for the worker's audit row. */
export interface JobEnvelope {
  payload: unknown;
  requestedBy: Requester | null;
}

/**
 * The bot's side of the per-host queues: submit a job, follow its progress, wait for its result.
 * Fails within ~2 s with a clear message when Redis is down; nothing is half-queued.
 */
export class JobClient {
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly eventClients: Redis[] = [];

  constructor(
    private readonly opts: { redisUrl: string; prefix: string; connection: Redis; logger: Logger },
  ) {}

  queue(host: string): Queue {
    let queue = this.queues.get(host);
    if (!queue) {
      queue = new Queue(hostQueueName(host), {
        connection: this.opts.connection,
        prefix: this.opts.prefix,
        skipWaitingForReady: true,
        defaultJobOptions: RETENTION,
      });
      const errors = logChangedErrors(this.opts.logger, 'queue error', { host });
      queue.on('error', errors.onError);
      this.queues.set(host, queue);
    }
    return queue;
  }

  async submit<J extends AnyJob>(def: J, host: string, payload: JobPayload<J>, opts: SubmitOptions): Promise<Submitted> {
    await ensureRedis(this.opts.connection, this.opts.redisUrl);
    const jobId = randomUUID();
    const envelope: JobEnvelope = { payload, requestedBy: opts.requestedBy };
    try {
      const job = await this.queue(host).add(def.kind, envelope, {
        jobId,
        attempts: def.attempts ?? 1,
        backoff: { type: 'exponential', delay: 2_000 },
        ...(opts.deduplicationId ? { deduplication: { id: opts.deduplicationId } } : {}),
      });
      return { jobId: job.id ?? jobId, deduplicated: job.id !== jobId };
    } catch (err) {
      if (isConnectionError(err)) throw redisUnreachable(this.opts.redisUrl);
      throw err;
    }
  }

  /** Submit and wait for the result, forwarding progress. A failure the worker meant for the user arrives as a UserError. */
  async run<J extends AnyJob>(def: J, host: string, payload: JobPayload<J>, opts: RunOptions): Promise<JobResult<J>> {
    const events = await this.eventsFor(host);
    let jobId: string | null = null;
    const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      if (id !== jobId || !opts.onProgress) return;
      const p = data as { text?: string; detail?: Record<string, unknown> };
      if (typeof p?.text === 'string') opts.onProgress(p.text, p.detail);
    };
    events.on('progress', onProgress);
    try {
      const submitted = await this.submit(def, host, payload, opts);
      jobId = submitted.jobId;
      return (await this.wait(host, submitted.jobId, opts.waitMs, opts.dropIfUnanswered ?? false)) as JobResult<J>;
    } finally {
      events.off('progress', onProgress);
    }
  }

  /** Waits for a job submitted earlier (also one found by deduplication). */
  async wait(host: string, jobId: string, waitMs: number, dropIfUnanswered = false): Promise<unknown> {
    // per-job events ("completed:<id>") are emitted by QueueEvents but not in its typed listener map
    const events = (await this.eventsFor(host)) as unknown as EventEmitter;
    const queue = this.queue(host);
    return await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => void timeout(), waitMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off(`completed:${jobId}`, onCompleted);
        events.off(`failed:${jobId}`, onFailed);
      };
      const onCompleted = ({ returnvalue }: { returnvalue: unknown }) => {
        cleanup();
        resolve(parseReturn(returnvalue));
      };
      const onFailed = ({ failedReason }: { failedReason: string }) => {
        cleanup();
        reject(this.failure(host, jobId, failedReason));
      };
      const timeout = async () => {
        cleanup();
        let state = 'unknown';
        try {
          const job = await Job.fromId(queue, jobId);
          state = (await job?.getState()) ?? 'gone';
          if (dropIfUnanswered && job && (state === 'waiting' || state === 'prioritized' || state === 'delayed')) await job.remove();
        } catch {
          // Redis went away while waiting; the message below still holds
        }
        const queued = state === 'waiting' || state === 'prioritized' || state === 'delayed';
        reject(
          unavailableError(
            `No answer from the worker on ${host} within ${formatDuration(waitMs)} (job ${jobId} is ${state}).`,
            queued
              ? dropIfUnanswered
                ? `No worker took it, so it was withdrawn. Is \`labops worker --host ${host}\` running?`
                : `It stays queued and runs when the worker on ${host} is back; /jobs shows it.`
              : 'It goes on in the background; /jobs shows it.',
          ),
        );
      };
      events.on(`completed:${jobId}`, onCompleted);
      events.on(`failed:${jobId}`, onFailed);
      // the job may have finished before the listeners were in place
      void Job.fromId(queue, jobId)
        .then(async (job) => {
          if (!job) return;
          if (await job.isCompleted()) onCompleted({ returnvalue: job.returnvalue });
          else if (await job.isFailed()) onFailed({ failedReason: job.failedReason });
        })
        .catch(() => undefined);
    });
  }

  private failure(host: string, jobId: string, failedReason: string): UserError {
    const userError = decodeUserError(failedReason);
    if (userError) return userError;
    return failedError(
      `Job ${jobId} on ${host} failed unexpectedly.`,
      `The worker on ${host} logged why (search its log for job ${jobId}).`,
    );
  }

  async counts(host: string): Promise<Record<string, number>> {
    await ensureRedis(this.opts.connection, this.opts.redisUrl);
    return await this.queue(host).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
  }

  /** Newest jobs of a host, running and waiting first. */
  async list(host: string, limit = 20): Promise<JobSummary[]> {
    await ensureRedis(this.opts.connection, this.opts.redisUrl);
    const queue = this.queue(host);
    const jobs = await queue.getJobs(['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'], 0, limit - 1, false);
    const summaries = await Promise.all(
      jobs.filter((j): j is Job => Boolean(j)).map(async (job) => {
        const envelope = job.data as JobEnvelope | undefined;
        const progress = job.progress as { text?: string } | number | undefined;
        return {
          id: job.id ?? '?',
          kind: job.name,
          host,
          state: await job.getState(),
          requestedBy: envelope?.requestedBy?.name ?? null,
          createdAt: new Date(job.timestamp),
          progress: typeof progress === 'object' && progress && typeof progress.text === 'string' ? progress.text : null,
          failedReason: job.failedReason ? (decodeUserError(job.failedReason)?.message ?? job.failedReason) : null,
        };
      }),
    );
    const order = ['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'];
    return summaries
      .sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, limit);
  }

  private eventsFor(host: string): Promise<QueueEvents> {
    let pending = this.events.get(host);
    if (!pending) {
      pending = (async () => {
        await ensureRedis(this.opts.connection, this.opts.redisUrl);
        const client = blockingClient(this.opts.redisUrl);
        this.eventClients.push(client);
        const events = new QueueEvents(hostQueueName(host), { connection: client, prefix: this.opts.prefix });
        const errors = logChangedErrors(this.opts.logger, 'queue events error', { host });
        events.on('error', errors.onError);
        client.on('ready', errors.reset);
        await events.waitUntilReady();
        return events;
      })();
      pending.catch(() => this.events.delete(host));
      this.events.set(host, pending);
    }
    return pending;
  }

  async close(): Promise<void> {
    const events = await Promise.allSettled([...this.events.values()]);
    await Promise.allSettled(events.map((e) => (e.status === 'fulfilled' ? closeWithin(() => e.value.close(), 2_000) : undefined)));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    for (const client of this.eventClients) client.disconnect();
  }
}

function parseReturn(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
