import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { AnyContract, PayloadOf, Requester, ResultOf } from '../contracts/define.js';
import { decodeUserError } from '../contracts/user-error-wire.js';
import { formatDuration } from '../core/duration.js';
import { failedError, unavailableError, type UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { logChangedErrors } from '../core/log-on-change.js';
import { blockingClient, endpointUrl, ensureRedis, isConnectionError, redisUnreachable, type Redis, type RedisEndpoint } from '../redis/connection.js';
import { createEnvelope } from '../contracts/job-envelope.js';
import type { SigningKeys } from '../core/signing-keys.js';
import { closeWithin } from './close-within.js';
import { hostQueueName } from './names.js';

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

export type { JobEnvelope } from '../contracts/job-envelope.js';

export interface JobClientOptions {
  /** where QueueEvents connect (with the same credentials and TLS as `connection`) */
  redis: RedisEndpoint;
  prefix: string;
  connection: Redis;
  logger: Logger;
  /** signs every job; null or absent: unsigned (a one-host lab without a key) */
  keys?: SigningKeys | null;
}

/** How often a job being waited for is looked at: one that vanished (Redis restarted empty) is told at once. */
const PRESENCE_CHECK_MS = 2_000;

const progressSchema = z.object({ text: z.string(), detail: z.record(z.string(), z.unknown()).optional() });
const summaryEnvelope = z.object({ requestedBy: z.object({ name: z.string() }).nullable().optional() }).loose();

/**
 * The bot's side of the per-host queues: submit a job, follow its progress, wait for its result
 * (checked against the job's contract). Fails within ~2 s with a clear message when Redis is
 * down; nothing is half-queued.
 */
export class JobClient {
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly eventClients: Redis[] = [];

  private readonly redisUrl: string;

  constructor(private readonly opts: JobClientOptions) {
    this.redisUrl = endpointUrl(opts.redis);
  }

  private queue(host: string): Queue {
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

  async submit<C extends AnyContract>(contract: C, host: string, payload: PayloadOf<C>, opts: SubmitOptions): Promise<Submitted> {
    await ensureRedis(this.opts.connection, this.redisUrl);
    const jobId = randomUUID();
    // a deduplicated submit gets the existing job back (signed by its own submitter); this envelope is then dropped
    const envelope = createEnvelope(this.opts.keys ?? null, { kind: contract.kind, host, jobId, createdAt: Date.now(), requestedBy: opts.requestedBy, payload });
    try {
      const job = await this.queue(host).add(contract.kind, envelope, {
        jobId,
        attempts: contract.attempts ?? 1,
        backoff: { type: 'exponential', delay: 2_000 },
        ...(opts.deduplicationId ? { deduplication: { id: opts.deduplicationId } } : {}),
      });
      return { jobId: job.id ?? jobId, deduplicated: job.id !== jobId };
    } catch (err) {
      if (isConnectionError(err)) throw redisUnreachable(this.redisUrl);
      throw err;
    }
  }

  /** Submit and wait for the result, forwarding progress. A failure the worker meant for the user arrives as a UserError. */
  async run<C extends AnyContract>(contract: C, host: string, payload: PayloadOf<C>, opts: RunOptions): Promise<ResultOf<C>> {
    const events = await this.eventsFor(host);
    let jobId: string | null = null;
    const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      if (id !== jobId || !opts.onProgress) return;
      const p = progressSchema.safeParse(data);
      if (p.success) opts.onProgress(p.data.text, p.data.detail);
    };
    events.on('progress', onProgress);
    try {
      const submitted = await this.submit(contract, host, payload, opts);
      jobId = submitted.jobId;
      return await this.wait(contract, host, submitted.jobId, opts.waitMs, opts.dropIfUnanswered ?? false);
    } finally {
      events.off('progress', onProgress);
    }
  }

  /** The job (waiting or running) that holds this deduplication id, or null. */
  async runningDuplicate(host: string, deduplicationId: string): Promise<string | null> {
    await ensureRedis(this.opts.connection, this.redisUrl);
    return (await this.queue(host).getDeduplicationJobId(deduplicationId)) ?? null;
  }

  /** Waits for a job submitted earlier (also one found by deduplication); its result is checked against the contract. */
  async wait<C extends AnyContract>(contract: C, host: string, jobId: string, waitMs: number, dropIfUnanswered = false): Promise<ResultOf<C>> {
    // per-job events ("completed:<id>") are emitted by QueueEvents but not in its typed listener map
    const events = (await this.eventsFor(host)) as unknown as EventEmitter;
    const queue = this.queue(host);
    return await new Promise<ResultOf<C>>((resolve, reject) => {
      const timer = setTimeout(() => void timeout(), waitMs);
      const presence = setInterval(() => void checkPresent(), PRESENCE_CHECK_MS);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(presence);
        events.off(`completed:${jobId}`, onCompleted);
        events.off(`failed:${jobId}`, onFailed);
        this.opts.connection.off('ready', onReconnect);
      };
      const onCompleted = ({ returnvalue }: { returnvalue: unknown }) => {
        cleanup();
        const parsed = contract.result.safeParse(parseReturn(returnvalue));
        if (parsed.success) resolve(parsed.data as ResultOf<C>);
        else {
          this.opts.logger.error({ jobId, host, kind: contract.kind, issues: parsed.error.issues.slice(0, 5) }, 'a job result does not match its contract');
          reject(
            failedError(
              `The worker on ${host} answered job ${jobId} (${contract.kind}) with a result this bot does not understand.`,
              'Are the bot and the worker the same labops version? /status shows the worker version.',
            ),
          );
        }
      };
      const onFailed = ({ failedReason }: { failedReason: string }) => {
        cleanup();
        reject(this.failure(host, jobId, failedReason));
      };
      const vanished = () => {
        cleanup();
        reject(
          unavailableError(
            `Job ${jobId} on ${host} is gone from Redis before it finished: Redis lost its data (restarted without persistence, or flushed).`,
            `Its result will never arrive. Check /status host:${host} for what it did, and run the command again if needed.`,
          ),
        );
      };
      const checkPresent = async () => {
        try {
          const job = await Job.fromId(queue, jobId);
          if (!job) vanished();
          else if (await job.isCompleted()) onCompleted({ returnvalue: job.returnvalue });
          else if (await job.isFailed()) onFailed({ failedReason: job.failedReason });
        } catch {
          // Redis is unreachable right now; the next look or the timeout tells
        }
      };
      const onReconnect = () => void checkPresent();
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
        const hint = queued
          ? dropIfUnanswered
            ? `No worker took it, so it was withdrawn. Is \`labops worker --host ${host}\` running?`
            : `It stays queued and runs when the worker on ${host} is back; /jobs shows it.`
          : state === 'active'
            ? 'It goes on in the background; /jobs shows it.'
            : `Its state is ${state}; /jobs host:${host} shows the queue.`;
        reject(unavailableError(`No answer from the worker on ${host} within ${formatDuration(waitMs)} (job ${jobId} is ${state}).`, hint));
      };
      events.on(`completed:${jobId}`, onCompleted);
      events.on(`failed:${jobId}`, onFailed);
      this.opts.connection.on('ready', onReconnect);
      // the job may have finished before the listeners were in place
      void checkPresent();
    });
  }

  private failure(host: string, jobId: string, failedReason: string): UserError {
    const userError = decodeUserError(failedReason);
    if (userError) return userError;
    return failedError(`Job ${jobId} on ${host} failed unexpectedly.`, `The worker on ${host} logged why (search its log for job ${jobId}).`);
  }

  async counts(host: string): Promise<Record<string, number>> {
    await ensureRedis(this.opts.connection, this.redisUrl);
    return await this.queue(host).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
  }

  /** Newest jobs of a host, running and waiting first. */
  async list(host: string, limit = 20): Promise<JobSummary[]> {
    await ensureRedis(this.opts.connection, this.redisUrl);
    const queue = this.queue(host);
    const jobs = await queue.getJobs(['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'], 0, limit - 1, false);
    const summaries = await Promise.all(
      jobs.filter((j): j is Job => Boolean(j)).map(async (job) => {
        const envelope = summaryEnvelope.safeParse(job.data);
        const progress = progressSchema.safeParse(job.progress);
        return {
          id: job.id ?? '?',
          kind: job.name,
          host,
          state: await job.getState(),
          requestedBy: envelope.success ? (envelope.data.requestedBy?.name ?? null) : null,
          createdAt: new Date(job.timestamp),
          progress: progress.success ? progress.data.text : null,
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
        await ensureRedis(this.opts.connection, this.redisUrl);
        const client = blockingClient(this.opts.redis);
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
