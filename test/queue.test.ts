import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorkerContext, type OwnedWorkerContext, type WorkerContext } from '../src/worker/context.js';
import { loadConfig } from '../src/config/load.js';
import { failedError, UserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { defineContract } from '../src/contracts/define.js';
import { defineJob, type AnyJob } from '../src/worker/define-job.js';
import { JobClient } from '../src/queue/job-client.js';
import { hostQueueName } from '../src/queue/names.js';
import { decodeUserError } from '../src/contracts/user-error-wire.js';
import { HostWorker } from '../src/queue/host-worker.js';
import { auditRows, createTestLab, REDIS_URL, type TestLab } from './support/env.js';

/** Job kinds of this test only, defined through the same helpers as the real ones. */
const echoContract = defineContract({
  kind: 'test.echo',
  description: 'echoes with progress',
  payload: z.strictObject({ text: z.string().min(1), steps: z.number().int().min(0).max(10) }),
  result: z.object({ echoed: z.string(), by: z.string().nullable() }),
  timeoutMs: 5_000,
  attempts: 3,
});
const echo = defineJob(echoContract, async (job) => {
  for (let i = 1; i <= job.data.steps; i++) await job.progress(`step ${i} of ${job.data.steps}`);
  return { echoed: job.data.text, by: job.requestedBy?.name ?? null };
});
const refuseContract = defineContract({
  kind: 'test.refuse',
  description: 'fails the way a processor tells the user',
  payload: z.strictObject({}),
  result: z.object({}),
  timeoutMs: 5_000,
});
const refuse = defineJob(refuseContract, async () => {
  throw failedError('chat-hermes did not become healthy within 2 min.', 'Its last log lines are above.');
});
const slowContract = defineContract({
  kind: 'test.slow',
  description: 'runs until aborted or its timeout',
  payload: z.strictObject({}),
  result: z.object({ finished: z.boolean() }),
  timeoutMs: 600,
});
const untilAborted = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
const slow = defineJob(slowContract, async (_job, _ctx, signal) => await untilAborted(signal));
/** Runs until the test opens its gate (or it is aborted): the test, not the clock, says when it ends. */
function openable(): { promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
let gate = openable();
const gatedContract = defineContract({
  kind: 'test.gated',
  description: 'runs until the test opens the gate',
  payload: z.strictObject({}),
  result: z.object({ finished: z.boolean() }),
  timeoutMs: 60_000,
});
const gated = defineJob(gatedContract, async (_job, _ctx, signal) => {
  await Promise.race([gate.promise, untilAborted(signal)]);
  return { finished: true };
});
/** Answers with something its own contract does not allow: a worker of another version, say. */
const driftContract = defineContract({
  kind: 'test.drift',
  description: 'answers outside its contract',
  payload: z.strictObject({}),
  result: z.object({ count: z.number() }),
  timeoutMs: 5_000,
});
const drift = defineJob(driftContract, async () => ({ count: 'three' }) as unknown as { count: number });
const kinds: AnyJob[] = [echo, refuse, slow, gated, drift];

let lab: TestLab;
let ctx: OwnedWorkerContext;
let redis: Redis;
let client: JobClient;
let worker: HostWorker<WorkerContext>;
const requestedBy = { id: 'u1', name: 'ada', role: 'operator', adapter: 'exec', channel: 'local' };

beforeAll(async () => {
  lab = createTestLab();
  const { config } = loadConfig(lab.configFile, {});
  ctx = await createWorkerContext(config, 'gpu-1', silentLogger());
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  client = new JobClient({ redis: REDIS_URL, prefix: lab.prefix, connection: redis, logger: silentLogger() });
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
  worker = new HostWorker({ host: 'gpu-1', redis: REDIS_URL, prefix: lab.prefix, jobs: kinds, ctx, audit: ctx.audit, logger: silentLogger(), concurrency: 2, shutdownTimeoutMs, signing: ctx.signing, alerts: ctx.notify });
  worker.start();
}

describe('per-host queue and worker', () => {
  it('runs a job, forwards its progress and returns its result', async () => {
    startWorker();
    const progress: string[] = [];
    const result = await client.run(echoContract, 'gpu-1', { text: 'hi', steps: 3 }, { requestedBy, waitMs: 5_000, onProgress: (t) => progress.push(t) });
    expect(result).toEqual({ echoed: 'hi', by: 'ada' });
    expect(progress).toEqual(['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
  });

  it('fails an invalid payload at once, without retry, and tells why', async () => {
    startWorker();
    const queue = new Queue(hostQueueName('gpu-1'), { connection: redis, prefix: lab.prefix });
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
      await queue.close();
    }
    await ctx.audit.flush();
    const rows = await auditRows(lab);
    expect(rows.filter((r) => r.kind === 'job' && r.outcome === 'invalid').map((r) => r.command)).toEqual(expect.arrayContaining(['test.echo', 'rm -rf']));
  });

  it('carries a processor\'s message for the user to the bot as a UserError', async () => {
    startWorker();
    const err = await client.run(refuseContract, 'gpu-1', {}, { requestedBy, waitMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ kind: 'failed', message: 'chat-hermes did not become healthy within 2 min.', hint: 'Its last log lines are above.' });
  });

  it('aborts a processor at its timeout', async () => {
    startWorker();
    const err = await client.run(slowContract, 'gpu-1', {}, { requestedBy, waitMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'failed', message: 'test.slow on gpu-1 stopped: timed out after 1 s.' });
  });

  it('says plainly when no worker answers, and withdraws a job that is of no use later', async () => {
    const err = await client.run(echoContract, 'gpu-1', { text: 'x', steps: 0 }, { requestedBy, waitMs: 500, dropIfUnanswered: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/^No answer from the worker on gpu-1 within 1 s \(job .* is waiting\)\.$/) });
    expect((err as UserError).hint).toMatch(/No worker took it, so it was withdrawn/);
    expect((await client.counts('gpu-1')).waiting).toBe(0);
  });

  it('rejects a result that does not match the contract, clearly, instead of passing it on', async () => {
    startWorker();
    const err = await client.run(driftContract, 'gpu-1', {}, { requestedBy, waitMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^The worker on gpu-1 answered job .* \(test\.drift\) with a result this bot does not understand\.$/) });
  });

  it('shuts down gracefully: a running job may finish within the deadline', async () => {
    gate = openable();
    startWorker(10_000);
    const submitted = await client.submit(gatedContract, 'gpu-1', {}, { requestedBy });
    const done = client.wait(gatedContract, 'gpu-1', submitted.jobId, 15_000);
    await waitForState(submitted.jobId, 'active');
    const closing = worker.close();
    gate.resolve();
    await closing;
    expect(await done).toEqual({ finished: true });
  });

  it('shuts down gracefully: a job still running at the deadline is aborted, and says why', async () => {
    gate = openable();
    startWorker(300);
    const submitted = await client.submit(gatedContract, 'gpu-1', {}, { requestedBy });
    const done = client.wait(gatedContract, 'gpu-1', submitted.jobId, 15_000).catch((e: unknown) => e);
    await waitForState(submitted.jobId, 'active');
    await worker.close();
    expect(await done).toMatchObject({ kind: 'failed', message: 'test.gated on gpu-1 stopped: worker shutting down.' });
  });

  it('tells at once when the job it waits for vanishes (Redis lost its data)', async () => {
    gate = openable();
    startWorker(300);
    const submitted = await client.submit(gatedContract, 'gpu-1', {}, { requestedBy });
    const done = client.wait(gatedContract, 'gpu-1', submitted.jobId, 60_000).catch((e: unknown) => e);
    await waitForState(submitted.jobId, 'active');
    const started = Date.now();
    await redis.del(`${lab.prefix}:${hostQueueName('gpu-1')}:${submitted.jobId}`);
    const err = await done;
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('is gone from Redis before it finished') });
    expect(Date.now() - started).toBeLessThan(10_000);
    gate.resolve();
  });
});

async function waitForState(jobId: string, state: string): Promise<void> {
  const queue = new Queue(hostQueueName('gpu-1'), { connection: redis, prefix: lab.prefix });
  try {
    await expect.poll(async () => (await queue.getJob(jobId))?.getState(), { timeout: 10_000, interval: 20 }).toBe(state);
  } finally {
    await queue.close();
  }
}
