import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorkerContext, type OwnedWorkerContext } from '../src/worker/context.js';
import { loadConfig } from '../src/config/load.js';
import { failedError, UserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { defineJob, type AnyJob } from '../src/contracts/define.js';
import { JobClient } from '../src/queue/job-client.js';
import { hostQueueName } from '../src/queue/names.js';
import { decodeUserError } from '../src/contracts/user-error-wire.js';
import { HostWorker } from '../src/queue/host-worker.js';
import { auditRows, createTestLab, REDIS_URL, type TestLab } from './support/env.js';

/** Job kinds of this test only, defined through the same helper as the real ones. */
const echo = defineJob({
  kind: 'test.echo',
  description: 'echoes with progress',
  payload: z.strictObject({ text: z.string().min(1), steps: z.number().int().min(0).max(10) }),
  timeoutMs: 5_000,
  attempts: 3,
  async process(job) {
    for (let i = 1; i <= job.data.steps; i++) await job.progress(`step ${i} of ${job.data.steps}`);
    return { echoed: job.data.text, by: job.requestedBy?.name ?? null };
  },
});
const refuse = defineJob({
  kind: 'test.refuse',
  description: 'fails the way a processor tells the user',
  payload: z.strictObject({}),
  timeoutMs: 5_000,
  async process() {
    throw failedError('chat-hermes did not become healthy within 2 min.', 'Its last log lines are above.');
  },
});
const slow = defineJob({
  kind: 'test.slow',
  description: 'runs until aborted',
  payload: z.strictObject({ ms: z.number() }),
  timeoutMs: 600,
  async process(job, _ctx, signal) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, job.data.ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    return { finished: true };
  },
});
const kinds: AnyJob[] = [echo, refuse, slow];

let lab: TestLab;
let ctx: OwnedWorkerContext;
let redis: Redis;
let client: JobClient;
let worker: HostWorker;
const requestedBy = { id: 'u1', name: 'ada', role: 'operator', adapter: 'exec', channel: 'local' };

beforeAll(async () => {
  lab = createTestLab();
  const { config } = loadConfig(lab.configFile, {});
  ctx = await createWorkerContext(config, 'gpu-1', silentLogger());
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  client = new JobClient({ redisUrl: REDIS_URL, prefix: lab.prefix, connection: redis, logger: silentLogger() });
});

afterEach(async () => {
  await worker?.close();
});

afterAll(async () => {
  await client?.close();
  const queue = new Queue(hostQueueName('gpu-1'), { connection: redis, prefix: lab.prefix });
  await queue.obliterate({ force: true });
  await queue.close();
  redis?.disconnect();
  await ctx?.close();
  await lab?.cleanup();
});

function startWorker(shutdownTimeoutMs = 2_000) {
  worker = new HostWorker({ host: 'gpu-1', redisUrl: REDIS_URL, prefix: lab.prefix, jobs: kinds, ctx, concurrency: 2, shutdownTimeoutMs });
  worker.start();
}

describe('per-host queue and worker', () => {
  it('runs a job, forwards its progress and returns its result', async () => {
    startWorker();
    const progress: string[] = [];
    const result = await client.run(echo, 'gpu-1', { text: 'hi', steps: 3 }, { requestedBy, waitMs: 5_000, onProgress: (t) => progress.push(t) });
    expect(result).toEqual({ echoed: 'hi', by: 'ada' });
    expect(progress).toEqual(['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
  });

  it('fails an invalid payload at once, without retry, and tells why', async () => {
    startWorker();
    const queue = client.queue('gpu-1');
    const events = new QueueEvents(hostQueueName('gpu-1'), { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: lab.prefix });
    await events.waitUntilReady();
    try {
      const job = await queue.add('test.echo', { payload: { text: '', steps: 99 }, requestedBy }, { attempts: 3 });
      await expect(job.waitUntilFinished(events, 5_000)).rejects.toThrow(/invalid payload/);
      const failed = await queue.getJob(job.id!);
      expect(failed!.attemptsMade).toBe(1);
      expect(await failed!.getState()).toBe('failed');
      const message = decodeUserError(failed!.failedReason)?.message ?? '';
      expect(message).toMatch(/^The worker on gpu-1 refused job \d+ \(test\.echo\): invalid payload: /);
      expect(message).toContain('→ at text');
      expect(message).toContain('→ at steps');

      const unknown = await queue.add('rm -rf', { payload: {}, requestedBy }, { attempts: 3 });
      const reason = await unknown.waitUntilFinished(events, 5_000).catch((e: Error) => e.message);
      expect(decodeUserError(reason)?.message).toMatch(/^The worker on gpu-1 refused job \d+: unknown job kind "rm -rf"\.$/);
      expect((await queue.getJob(unknown.id!))!.attemptsMade).toBe(1);
    } finally {
      await events.close();
    }
    await ctx.audit.flush();
    const rows = await auditRows(lab);
    expect(rows.filter((r) => r.kind === 'job' && r.outcome === 'invalid').map((r) => r.command)).toEqual(expect.arrayContaining(['test.echo', 'rm -rf']));
  });

  it('carries a processor\'s message for the user to the bot as a UserError', async () => {
    startWorker();
    const err = await client.run(refuse, 'gpu-1', {}, { requestedBy, waitMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ kind: 'failed', message: 'chat-hermes did not become healthy within 2 min.', hint: 'Its last log lines are above.' });
  });

  it('aborts a processor at its timeout', async () => {
    startWorker();
    const err = await client.run(slow, 'gpu-1', { ms: 10_000 }, { requestedBy, waitMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'failed', message: 'test.slow on gpu-1 stopped: timed out after 1 s.' });
  });

  it('says plainly when no worker answers, and withdraws a job that is of no use later', async () => {
    const err = await client.run(echo, 'gpu-1', { text: 'x', steps: 0 }, { requestedBy, waitMs: 500, dropIfUnanswered: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/^No answer from the worker on gpu-1 within 1 s \(job .* is waiting\)\.$/) });
    expect((err as UserError).hint).toMatch(/No worker took it, so it was withdrawn/);
    expect(await client.queue('gpu-1').getWaitingCount()).toBe(0);
  });

  it('shuts down gracefully: a running job may finish within the deadline, and is aborted after it', async () => {
    startWorker(300);
    const submitted = await client.submit(slow, 'gpu-1', { ms: 400 }, { requestedBy });
    const done = client.wait('gpu-1', submitted.jobId, 5_000).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const outcome = await done;
    // the deadline (300 ms) came before the job's own end (400 ms) and before its timeout (600 ms)
    expect(outcome).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^test\.slow on gpu-1 stopped: worker shutting down\.$/) });
  });
});
