import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { AuditEntry } from '../audit/entry.js';
import type { AnyContract, JobRun, Requester } from '../contracts/define.js';
import { checkEnvelope, type ClaimedJob } from '../contracts/job-envelope.js';
import { decodeUserError, encodeUserError } from '../contracts/user-error-wire.js';
import type { JobSigning } from '../config/security.js';
import { formatDuration } from '../core/duration.js';
import { errorMessage, failedError, isUserError, permissionError, usageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { logChangedErrors } from '../core/log-on-change.js';
import { redact, redactDeep } from '../core/redact.js';
import type { NoticeSink } from '../notify/notice.js';
import { blockingClient, isConnectionError, type Redis, type RedisEndpoint } from '../redis/connection.js';
import { closeWithin } from './close-within.js';
import { RETENTION } from './job-client.js';
import { hostQueueName } from './names.js';
import { refusedJobReply, refusedJobsKey } from './refused-job.js';

/** A job kind as this queue runs it: the contract, and a processor of its (validated) payload. */
export interface Processor<Ctx> {
  contract: AnyContract;
  process(job: JobRun<never>, ctx: Ctx, signal: AbortSignal): Promise<unknown>;
}

export interface HostWorkerOptions<Ctx> {
  host: string;
  redis: RedisEndpoint;
  prefix: string;
  jobs: readonly Processor<Ctx>[];
  ctx: Ctx;
  audit: { record(entry: AuditEntry): Promise<void> };
  logger: Logger;
  concurrency: number;
  shutdownTimeoutMs: number;
  /** BullMQ's lock on a running job (default 30 s): a job whose worker died is re-run after it lapses */
  lockDurationMs?: number;
  /** how often stalled jobs are looked for (default: the lock duration) */
  stalledIntervalMs?: number;
  /** the lab's keys (null: a one-host lab that runs unsigned) and how old a job may be */
  signing: JobSigning;
  /** where the alert about a refused job goes (the notice queue, signed) */
  alerts: NoticeSink;
}

/**
 * Consumes one host's queue. A job must be signed by the lab's key, for this host, kind and job
 * id, and be recent (unless the lab runs unsigned): one that is not is refused without running,
 * without retry, audited as `refused` with what it claimed, and alerted. Every payload is
 * validated against its contract (it is untrusted input: an invalid one fails without retry),
 * every processor gets an abort signal that fires on its timeout or on cancellation, and every
 * job writes an audit row.
 */
export class HostWorker<Ctx> {
  private worker: Worker | null = null;
  private client: Redis | null = null;
  private readonly byKind: Map<string, Processor<Ctx>>;
  private refusals = { day: '', count: 0 };

  constructor(private readonly opts: HostWorkerOptions<Ctx>) {
    this.byKind = new Map(opts.jobs.map((j) => [j.contract.kind, j]));
  }

  start(): void {
    const { host, logger } = this.opts;
    this.client = blockingClient(this.opts.redis);
    this.client.on('error', () => undefined); // reported through the worker's error event
    this.worker = new Worker(hostQueueName(host), (job, _token, signal) => this.process(job, signal), {
      connection: this.client,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.lockDurationMs ?? 30_000,
      stalledInterval: this.opts.stalledIntervalMs ?? this.opts.lockDurationMs ?? 30_000,
      maxStalledCount: 1,
      ...RETENTION,
    });
    const redisErrors = logChangedErrors(logger, 'worker cannot reach Redis; retrying', { host }, { recovered: 'worker reconnected to Redis' });
    this.worker.on('error', (err) => {
      if (isConnectionError(err)) redisErrors.onError(err);
      else logger.error({ err, host }, 'worker error');
    });
    this.worker.on('ready', redisErrors.reset);
    this.worker.on('failed', (job, err) => {
      // a failure the user is told about (a missing script, a model that does not fit) is no warning
      const told = decodeUserError(err.message);
      if (told) logger.info({ jobId: job?.id, kind: job?.name, host, outcome: told.kind, reason: redact(told.message) }, 'job ended without success');
      else logger.warn({ jobId: job?.id, kind: job?.name, host, reason: redact(err.message) }, 'job failed');
    });
    this.worker.on('completed', (job) => logger.info({ jobId: job.id, kind: job.name, host }, 'job completed'));
  }

  private async process(job: Job, bullSignal?: AbortSignal): Promise<unknown> {
    const { ctx, host, logger, signing } = this.opts;
    const startedAt = new Date();
    const def = this.byKind.get(job.name);
    const checked = checkEnvelope(job.data, signing.keys, { host, kind: job.name, jobId: job.id ?? '', maxAgeMs: this.maxAgeMs(job, def) });
    const requestedBy: Requester | null = checked.ok ? checked.requestedBy : null;

    let detail: unknown;
    const auditId = randomUUID();
    const audit = (outcome: string, error: string | null, args: unknown, actor: Partial<Requester> | null = requestedBy) =>
      this.opts.audit.record({
        id: auditId,
        kind: 'job',
        actorId: actor?.id ?? 'labops',
        actorName: actor?.name ?? 'labops',
        role: actor?.role ?? null,
        adapter: actor?.adapter ?? 'worker',
        channel: actor?.channel ?? null,
        command: job.name,
        args: redactDeep((args && typeof args === 'object' ? args : {}) as Record<string, unknown>),
        host,
        jobId: job.id ?? null,
        startedAt,
        finishedAt: new Date(),
        outcome,
        error: error ? redact(error) : null,
        ...(detail === undefined ? {} : { detail: redactDeep(detail) }),
      });

    if (!checked.ok && checked.kind === 'signature') return await this.refuse(job, checked.reason, checked.claimed, audit);
    if (!def || !checked.ok) {
      const reason = !def ? `unknown job kind "${job.name}"` : checked.ok ? '?' : checked.reason;
      await audit('invalid', reason, null);
      throw new UnrecoverableError(encodeUserError(usageError(`The worker on ${host} refused job ${job.id}: ${reason}.`)));
    }
    const payload = def.contract.payload.safeParse(checked.payload);
    if (!payload.success) {
      const reason = z.prettifyError(payload.error).replace(/\n/g, '; ');
      await audit('invalid', reason, checked.payload);
      throw new UnrecoverableError(encodeUserError(usageError(`The worker on ${host} refused job ${job.id} (${job.name}): invalid payload: ${reason}`)));
    }

    const timeoutMs = def.contract.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${formatDuration(timeoutMs)}`)), timeoutMs);
    const onCancel = () => controller.abort(bullSignal?.reason ?? new Error('cancelled'));
    bullSignal?.addEventListener('abort', onCancel, { once: true });

    const run: JobRun<unknown> = {
      id: job.id ?? '?',
      kind: job.name,
      host,
      data: payload.data,
      requestedBy,
      attemptsMade: job.attemptsMade,
      auditId,
      progress: async (text, extra) => {
        await job.updateProgress({ text: redact(text), ...(extra ? { detail: extra } : {}), at: Date.now() });
      },
      auditDetail: (value) => {
        detail = value;
      },
    };

    try {
      const result = await def.process(run as JobRun<never>, ctx, controller.signal);
      await audit('ok', null, payload.data);
      return result;
    } catch (err) {
      if (controller.signal.aborted) {
        const why = errorMessage(controller.signal.reason);
        await audit('aborted', why, payload.data);
        throw new UnrecoverableError(encodeUserError(failedError(`${job.name} on ${host} stopped: ${why}.`)));
      }
      if (isUserError(err)) {
        await audit(err.kind === 'usage' ? 'usage' : 'failed', err.message, payload.data);
        throw new UnrecoverableError(encodeUserError(err));
      }
      logger.error({ err, jobId: job.id, kind: job.name, host }, `job ${job.id} (${job.name}) failed: ${errorMessage(err)}`);
      await audit('error', errorMessage(err), payload.data);
      throw err;
    } finally {
      clearTimeout(timer);
      bullSignal?.removeEventListener('abort', onCancel);
    }
  }

  /**
   * How old (by its signed creation time) a job may be when an attempt starts: `maxJobAge` for
   * its first attempt; a re-run (after a stalled worker, or a retry) may also be as late as the
   * first attempt could have run, so its kind's timeout and the stall window are added. BullMQ's
   * attempt counters are not signed: a job queued again by someone who can write to Redis can pass
   * as a re-run, so that longer bound is the one that holds against a replay.
   */
  private maxAgeMs(job: Job, def: Processor<Ctx> | undefined): number {
    const rerun = job.attemptsStarted > 1 || job.attemptsMade > 0 || job.stalledCounter > 0;
    if (!rerun || !def) return this.opts.signing.maxJobAgeMs;
    const lock = this.opts.lockDurationMs ?? 30_000;
    return this.opts.signing.maxJobAgeMs + def.contract.timeoutMs + lock + (this.opts.stalledIntervalMs ?? lock);
  }

  /** A job whose signature does not hold: not run, not retried; audited with what it claimed, logged, alerted. */
  private async refuse(
    job: Job,
    reason: string,
    claimed: ClaimedJob,
    audit: (outcome: string, error: string | null, args: unknown, actor?: Partial<Requester> | null) => Promise<void>,
  ): Promise<never> {
    const { host, logger } = this.opts;
    const jobId = job.id ?? '?';
    const who = claimed.requestedBy;
    logger.warn({ jobId, kind: job.name, host, reason, claimedBy: who?.name ?? null, claimedRole: who?.role ?? null }, `refused job ${jobId} (${job.name}): bad signature — ${reason}`);
    // the claimed requester goes in the row as claimed, with no fallback to "labops"
    await audit('refused', `bad signature: ${reason}`, claimed.payload, who ?? { id: '?', name: '(no requester)', adapter: 'unknown' });
    const day = new Date().toISOString().slice(0, 10);
    this.refusals = this.refusals.day === day ? { day, count: this.refusals.count + 1 } : { day, count: 1 };
    await this.opts.alerts
      .post('alert', refusedJobReply({ host, jobId, kind: job.name, reason, claimed, today: this.refusals.count }), { key: refusedJobsKey(host) })
      .catch((err: unknown) => logger.error({ err, jobId }, 'could not raise the alert about a refused job'));
    throw new UnrecoverableError(
      encodeUserError(
        permissionError(
          `The worker on ${host} refused job ${jobId} (${job.name}): bad signature — ${reason}. It did not run.`,
          'The bot and the workers must share LABOPS_JOB_KEY (security.jobKey); see "Signed jobs and notices" in the README.',
        ),
      ),
    );
  }

  /** Lets running jobs finish within the deadline, then aborts them and closes. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    // with Redis unreachable no job can report its end anyway, and BullMQ's close would wait for ever
    const redisUp = this.client?.status === 'ready';
    const graceMs = redisUp ? this.opts.shutdownTimeoutMs : 1_000;
    const closing = worker.close();
    if (!(await closeWithin(() => closing, graceMs))) {
      if (redisUp) this.opts.logger.warn({ host: this.opts.host }, `jobs still running after ${formatDuration(graceMs)}: cancelling them`);
      worker.cancelAllJobs('worker shutting down');
      if (!(await closeWithin(() => closing, 2_000))) await closeWithin(() => worker.close(true), 2_000);
    }
    this.client?.disconnect();
  }
}
