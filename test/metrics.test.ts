/**
 * Prometheus /metrics of the worker and the bot, scraped over HTTP from a real worker (the fake
 * nvidia-smi on PATH, real Redis and PostgreSQL) and a real bot context, parsed, and compared
 * with the state they report: the live state in Redis, the alert store, jobs and commands run.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import { jobs } from '../jobs/index.js';
import { INACTIVE } from '../src/alerts/state-machine.js';
import { RedisAlertStore } from '../src/alerts/redis-store.js';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import { dispatch } from '../src/chat/dispatch.js';
import type { Caller } from '../src/chat/command.js';
import { loadConfig } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';
import { statusSnapshot } from '../src/contracts/status-snapshot.js';
import { silentLogger } from '../src/core/logger.js';
import { serveMetrics, type MetricsServer } from '../src/core/metrics-server.js';
import { info } from '../src/core/reply.js';
import { readLiveState } from '../src/state/live-state.js';
import { startWorker, type RunningWorker } from '../src/worker/start.js';
import { workerMetrics } from '../src/worker/metrics.js';
import { createTestLab, type TestLab } from './support/env.js';
import { fakeNvidiaSmi, type FakeNvidiaSmi } from './support/fake-nvidia-smi-harness.js';

const MIB = 1024 * 1024;
const HERMES = 'chat-hermes-3-llama-3.1-8b';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, parsed: every sample line (comments are checked to name a type). */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

async function scrape(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);

describe('the metrics config', () => {
  const parse = (metrics: unknown) => configSchema.parse({ ...(metrics === undefined ? {} : { metrics }), hosts: { h: {} } }).metrics;

  it('serves the worker on 127.0.0.1:9464 and the bot on 127.0.0.1:9465 by default; false turns one or both off', () => {
    expect(parse(undefined)).toEqual({ worker: { host: '127.0.0.1', port: 9464 }, bot: { host: '127.0.0.1', port: 9465 } });
    expect(parse(false)).toEqual({ worker: null, bot: null });
    expect(parse({ bot: false, worker: '[::1]:9100' })).toEqual({ worker: { host: '::1', port: 9100 }, bot: null });
    expect(parse({ worker: ':9464' }).worker).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('names a bad address', () => {
    const r = configSchema.safeParse({ metrics: { worker: 'localhost' }, hosts: { h: {} } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['metrics', 'worker'], message: 'expected host:port such as 127.0.0.1:9464, or false, got "localhost"' });
  });
});

describe('the worker /metrics', () => {
  let lab: TestLab;
  let fake: FakeNvidiaSmi;
  let restore: () => void;
  let worker: RunningWorker;

  beforeAll(async () => {
    fake = fakeNvidiaSmi({ gpus: 2, usedMiB: [45_000, 3_000], apps: [{ pid: 999_999, name: 'python3', usedMiB: 3_500, gpu: 0 }] });
    restore = fake.activate();
    lab = createTestLab({ extra: { metrics: { worker: '127.0.0.1:0', bot: false } } });
    const { config } = loadConfig(lab.configFile, lab.env);
    worker = await startWorker(config, 'gpu-1', silentLogger(), jobs);
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    restore?.();
    fake?.cleanup();
    await lab?.cleanup();
  });

  it('reports each GPU from the sampler, each model and unknown VRAM as the live state has them, alerts from the store, and jobs run', async () => {
    expect(worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ctx = worker.ctx;
    const snap = await ctx.gpu.snapshot();
    if (!snap.available) throw new Error('no GPUs from the fake nvidia-smi');
    const [g0] = snap.gpus;
    const now = Date.now();
    // the worker's live state attributes the fake's compute process (no model's) as unknown VRAM
    await expect.poll(async () => (await readLiveState(ctx.redis, ctx.prefix, 'gpu-1')).processes?.processes.length ?? 0, { timeout: 20_000 }).toBe(1);
    // a kind no rule of this worker evaluates (no litellm.host here), so that the state stays as set
    await new RedisAlertStore(ctx.redis, ctx.prefix).save({ host: 'gpu-1', subject: 'proxy', kind: 'proxy-down' }, { ...INACTIVE, status: 'firing', pendingSince: now - 90_000, firingSince: now - 30_000, lastNotifiedAt: now - 30_000 }, { detail: 'HTTP 503' });
    const client = new (await import('../src/queue/job-client.js')).JobClient({ redis: ctx.redisTarget, prefix: ctx.prefix, connection: ctx.redis, logger: silentLogger(), keys: null });
    try {
      await client.run(statusSnapshot, 'gpu-1', {}, { requestedBy: null, waitMs: 20_000 });
    } finally {
      await client.close();
    }

    // the sampler streams in the background: wait for a scrape that has its GPUs
    let scraped = await scrape(worker.metricsUrl!);
    await expect.poll(async () => ((scraped = await scrape(worker.metricsUrl!)), value(scraped.samples, 'labops_gpu_vram_total_bytes').length), { timeout: 15_000 }).toBe(2);
    const { samples, types } = scraped;
    const host = { host: 'gpu-1' };
    const state = await readLiveState(ctx.redis, ctx.prefix, 'gpu-1');
    expect([...state.models.keys()].sort()).toEqual([HERMES, 'embeddings-default']);
    for (const [name, m] of state.models) {
      expect(value(samples, 'labops_model_state', { ...host, model: name, state: m.state }), `${name} ${m.state}`).toEqual([1]);
      expect(value(samples, 'labops_model_state', { model: name }).reduce((a, b) => a + b, 0)).toBe(1);
      expect(value(samples, 'labops_model_healthy', { model: name })).toEqual(m.health ? [m.health.ok ? 1 : 0] : []);
      expect(value(samples, 'labops_model_vram_bytes', { model: name })).toEqual(m.vramMiB === null ? [] : [m.vramMiB * MIB]);
    }
    // the script model was never started
    expect(value(samples, 'labops_model_state', { model: HERMES, state: 'stopped' })).toEqual([1]);
    expect(value(samples, 'labops_gpu_vram_total_bytes', { ...host, gpu: '0', name: g0!.name })).toEqual([g0!.totalMiB * MIB]);
    const used0 = value(samples, 'labops_gpu_vram_used_bytes', { gpu: '0' })[0]!;
    expect(used0 % MIB).toBe(0);
    expect(used0 / MIB).toBeGreaterThan(0);
    expect(value(samples, 'labops_gpu_utilization_ratio', { gpu: '0' })[0]).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'labops_gpu_vram_unknown_bytes', { ...host, gpu: '0' })).toEqual([3_500 * MIB]);
    expect(value(samples, 'labops_gpu_vram_unknown_bytes', { gpu: '1' })).toEqual([0]);
    expect(value(samples, 'labops_alert_state', { ...host, kind: 'proxy-down', subject: 'proxy', state: 'firing' })).toEqual([1]);
    expect(value(samples, 'labops_jobs_total', { ...host, kind: 'status.snapshot', outcome: 'ok' })).toEqual([1]);
    expect(value(samples, 'labops_job_duration_seconds_count', { kind: 'status.snapshot', outcome: 'ok' })).toEqual([1]);
    expect(types.get('labops_jobs_total')).toBe('counter');
    expect(types.get('labops_job_duration_seconds')).toBe('histogram');
    expect(types.get('labops_model_state')).toBe('gauge');
    expect(value(samples, 'labops_worker_process_resident_memory_bytes')[0]).toBeGreaterThan(0);
  });

  it('answers 404 for anything but GET /metrics', async () => {
    const res = await fetch(worker.metricsUrl!.replace('/metrics', '/'));
    expect(res.status).toBe(404);
    await res.text();
  });
});

describe('registries per process', () => {
  it('two workers in one process each serve their own host, on their own port', async () => {
    const lab = createTestLab();
    const { config } = loadConfig(lab.configFile, lab.env);
    const redis = new Redis(config.redis.url);
    const monitor = { onSample: () => () => undefined };
    const a = workerMetrics({ host: 'gpu-a', monitor, redis, prefix: lab.prefix, alerts: new RedisAlertStore(redis, lab.prefix) });
    const b = workerMetrics({ host: 'gpu-b', monitor, redis, prefix: lab.prefix, alerts: new RedisAlertStore(redis, lab.prefix) });
    const servers: MetricsServer[] = [];
    try {
      for (const m of [a, b]) servers.push((await serveMetrics(m.registry, { host: '127.0.0.1', port: 0 }, silentLogger(), 'worker'))!);
      expect(servers[0]!.port).not.toBe(servers[1]!.port);
      a.jobEnded('model.start', 'ok', 1_500);
      b.jobEnded('model.stop', 'failed', 200);
      const [sa, sb] = await Promise.all(servers.map((s) => scrape(s.url)));
      expect(value(sa!.samples, 'labops_jobs_total')).toEqual([1]);
      expect(sa!.samples.find((s) => s.name === 'labops_jobs_total')!.labels).toEqual({ kind: 'model.start', outcome: 'ok', host: 'gpu-a' });
      expect(sb!.samples.find((s) => s.name === 'labops_jobs_total')!.labels).toEqual({ kind: 'model.stop', outcome: 'failed', host: 'gpu-b' });
      // a taken port: no metrics, and the process goes on
      expect(await serveMetrics(a.registry, { host: '127.0.0.1', port: servers[0]!.port }, silentLogger(), 'worker')).toBeNull();
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      a.stop();
      b.stop();
      redis.disconnect();
      await lab.cleanup();
    }
  });
});

describe('the bot /metrics', () => {
  let lab: TestLab;
  let ctx: OwnedBotContext;
  let server: MetricsServer;

  beforeAll(async () => {
    lab = createTestLab({ local: { defaultRole: 'viewer', users: {} }, extra: { metrics: { worker: false, bot: '127.0.0.1:0' } } });
    const { config } = loadConfig(lab.configFile, lab.env);
    ctx = await createBotContext(config, pino({ level: 'silent' }), commands);
    server = (await serveMetrics(ctx.metrics.registry, { host: '127.0.0.1', port: 0 }, silentLogger(), 'bot'))!;
  });
  afterAll(async () => {
    await server?.close();
    await ctx?.close();
    await lab?.cleanup();
  });

  it('counts commands by name and outcome, and reads the notify queue depth', async () => {
    const caller: Caller = { id: 'u1', name: 'vic', role: 'viewer', adapter: 'exec', channelId: 'local', inDM: false };
    const run = (command: string) => dispatch(ctx, { caller, command, raw: {}, progress: () => undefined, confirm: async () => false });
    await run('help');
    await run('help');
    await run('jobs');
    await run('no-such-command-x1');
    await ctx.notify.post('log', info('one'));
    await ctx.notify.post('alert', info('two'));
    const { samples, types } = await scrape(server.url);
    expect(value(samples, 'labops_commands_total', { command: 'help', outcome: 'ok', adapter: 'exec' })).toEqual([2]);
    expect(value(samples, 'labops_commands_total', { command: 'jobs', outcome: 'denied' })).toEqual([1]);
    expect(value(samples, 'labops_commands_total', { command: 'unknown', outcome: 'usage' })).toEqual([1]);
    expect(samples.some((s) => s.labels.command === 'no-such-command-x1')).toBe(false);
    expect(value(samples, 'labops_command_duration_seconds_count', { command: 'help', outcome: 'ok' })).toEqual([2]);
    expect(value(samples, 'labops_notify_queue_depth')).toEqual([2]);
    expect(types.get('labops_ack_latency_seconds')).toBe('histogram');
    expect(value(samples, 'labops_bot_process_resident_memory_bytes')[0]).toBeGreaterThan(0);
  });
});
