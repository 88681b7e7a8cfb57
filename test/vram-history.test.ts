/**
 * The VRAM history in Redis: downsampled (1 s for the last 10 min, 1 min for 25 h), bounded however
 * long a worker runs, written by the worker from the real sampler (the fake nvidia-smi on PATH)
 * with each model's share from the live state, and read back for the chart.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { LiveStateWriter } from '../src/state/live-state.js';
import { COARSE_CAP, FINE_CAP, readHistory, recordModelEvent, vramKeys, writeSamples, type StoredSample } from '../src/state/vram-history.js';
import { Downsampler } from '../src/worker/vram/downsample.js';
import { VramHistoryRecorder } from '../src/worker/vram/history-recorder.js';
import { liveAttribution } from '../src/worker/vram/live-attribution.js';
import { crashOf } from '../src/worker/vram/model-events.js';
import { deleteKeys, REDIS_URL, uniqueName } from './support/env.js';
import { fakeNvidiaSmi, type FakeNvidiaSmi } from './support/fake-nvidia-smi-harness.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const GPU = { index: 0, uuid: 'GPU-0', name: 'NVIDIA H100 80GB HBM3', totalMiB: 81_559 };

let redis: Redis;
const prefix = uniqueName('vh');

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});

describe('downsampling', () => {
  it('keeps the first sample of each second, and the highest of each minute at the minute start', () => {
    const d = new Downsampler();
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
    const fine: StoredSample[] = [];
    const coarse: StoredSample[] = [];
    // 10 samples a second for 2.5 minutes, a spike of 70,000 MiB at 10:00:30.5
    for (let t = t0; t < t0 + 150 * SEC; t += 100) {
      const used = t === t0 + 30_500 ? 70_000 : 1_000 + Math.floor((t - t0) / MIN) * 100;
      const out = d.push(t, [{ index: 0, sample: { usedMiB: used } }]);
      fine.push(...out.fine.values());
      coarse.push(...out.coarse.values());
    }
    expect(fine).toHaveLength(150);
    expect(fine.every((s, i) => s.t === t0 + i * SEC)).toBe(true);
    expect(coarse).toEqual([
      { t: t0, usedMiB: 70_000 },
      { t: t0 + MIN, usedMiB: 1_100 },
    ]);
    expect([...d.flush().values()]).toEqual([{ t: t0 + 2 * MIN, usedMiB: 1_200 }]);
  });
});

describe('model events', () => {
  const t = { host: 'h', model: 'chat-qwen', at: 5, pinned: false } as const;
  it('marks a model that went down by itself as a crash, not one labops stopped or one that came up', () => {
    expect(crashOf({ ...t, from: 'running', to: 'stopped', cause: 'observed' })).toEqual({ t: 5, model: 'chat-qwen', kind: 'crash' });
    expect(crashOf({ ...t, from: 'starting', to: 'failed', cause: 'observed' })).toEqual({ t: 5, model: 'chat-qwen', kind: 'crash' });
    expect(crashOf({ ...t, from: 'running', to: 'stopped', cause: 'labops-stop' })).toBeNull();
    expect(crashOf({ ...t, from: 'running', to: 'stopped', cause: 'idle-unload' })).toBeNull();
    expect(crashOf({ ...t, from: 'stopped', to: 'running', cause: 'observed' })).toBeNull();
    expect(crashOf({ ...t, from: 'running', to: 'unknown', cause: 'observed' })).toBeNull();
  });
});

describe('the history in Redis', () => {
  const host = 'gpu-bounds';
  const now = Date.UTC(2026, 0, 2, 12, 0, 0);

  beforeAll(async () => {
    // 26 hours of a worker: a sample every 30 s for the first 25 h 45 min, then every second
    const d = new Downsampler();
    const start = now - 26 * HOUR;
    for (let t = start; t <= now; t += t < now - 15 * MIN ? 30 * SEC : SEC) {
      const byModel: Record<string, number> = t >= now - 20 * MIN ? { 'chat-qwen': 50_000 } : {};
      const out = d.push(t, [{ index: 0, sample: { usedMiB: 1_000 + (byModel['chat-qwen'] ?? 0), byModel } }]);
      if (out.fine.size || out.coarse.size) await writeSamples(redis, prefix, host, { gpus: [GPU], ...out });
    }
  }, 120_000);

  it('stays bounded: per-second samples for 10 min, per-minute ones for 25 h', async () => {
    const fine = await redis.zrange(vramKeys.samples(prefix, host, 0, 'fine'), '0', '-1', 'WITHSCORES');
    const coarse = await redis.zrange(vramKeys.samples(prefix, host, 0, 'coarse'), '0', '-1', 'WITHSCORES');
    const times = (z: string[]) => z.filter((_, i) => i % 2 === 1).map(Number);
    expect(times(fine).length).toBeLessThanOrEqual(FINE_CAP);
    expect(times(fine).length).toBe(601);
    expect(Math.min(...times(fine))).toBe(now - 10 * MIN);
    expect(times(coarse).length).toBeLessThanOrEqual(COARSE_CAP);
    // the minute under way is not written yet: 25 h back from the last minute that ended
    expect(Math.max(...times(coarse))).toBe(now - MIN);
    expect(Math.min(...times(coarse))).toBe(now - MIN - 25 * HOUR);
    expect(times(coarse).length).toBe(25 * 60 + 1);
    expect(await redis.pttl(vramKeys.samples(prefix, host, 0, 'fine'))).toBeGreaterThan(24 * HOUR);
  });

  it('reads an hour back as per-minute samples up to where the per-second ones begin, in time order', async () => {
    const h = await readHistory(redis, prefix, host, { now, windowMs: HOUR });
    expect(h.gpus.map((g) => ({ index: g.index, name: g.name, totalMiB: g.totalMiB }))).toEqual([{ index: 0, name: GPU.name, totalMiB: GPU.totalMiB }]);
    const samples = h.gpus[0]!.samples;
    const steps = samples.slice(1).map((s, i) => s.t - samples[i]!.t);
    expect(steps.every((s) => s > 0)).toBe(true);
    expect(samples[0]!.t).toBe(now - HOUR - MIN);
    expect(samples.filter((s) => s.t < now - 10 * MIN).every((s, i, a) => i === 0 || s.t - a[i - 1]!.t === MIN)).toBe(true);
    expect(samples.filter((s) => s.t >= now - 10 * MIN)).toHaveLength(601);
    expect(samples.at(-1)).toEqual({ t: now, usedMiB: 51_000, byModel: { 'chat-qwen': 50_000 } });
    // 24 h ago is still there, at 1 min
    const day = await readHistory(redis, prefix, host, { now, windowMs: 24 * HOUR });
    expect(day.gpus[0]!.samples[0]!.t).toBeLessThanOrEqual(now - 24 * HOUR);
  });

  it('keeps model events for the window, bounded', async () => {
    for (let i = 0; i < 1_100; i++) await recordModelEvent(redis, prefix, 'gpu-events', { t: now - 1_100 * SEC + i * SEC, model: 'chat-qwen', kind: i % 2 ? 'stop' : 'start', by: 'alice' });
    expect(await redis.zcard(vramKeys.events(prefix, 'gpu-events'))).toBe(1_000);
    const h = await readHistory(redis, prefix, 'gpu-events', { now, windowMs: 10 * SEC });
    expect(h.events.map((e) => e.t)).toEqual(Array.from({ length: 10 }, (_, i) => now - 10 * SEC + i * SEC));
    expect(h.events[0]).toMatchObject({ model: 'chat-qwen', by: 'alice' });
  });

  it('skips members that do not parse', async () => {
    await redis.zadd(vramKeys.samples(prefix, host, 0, 'fine'), now, 'not json', now, '{"t":"x"}');
    const h = await readHistory(redis, prefix, host, { now, windowMs: 5 * SEC });
    // the minute sample before the per-second ones begin lets the chart reach back to the window's edge
    expect(h.gpus[0]!.samples.map((s) => s.t)).toEqual([now - MIN, now - 6 * SEC, now - 5 * SEC, now - 4 * SEC, now - 3 * SEC, now - 2 * SEC, now - SEC, now]);
  });
});

describe('the worker writes it from its sampler', () => {
  let fake: FakeNvidiaSmi;
  let restore: () => void;
  beforeAll(() => {
    fake = fakeNvidiaSmi({ gpus: 2, usedMiB: [30_000, 5_000] });
    restore = fake.activate();
  });
  afterAll(() => {
    restore();
    fake.cleanup();
  });

  it('stores each second with the VRAM each model holds, from the live state', async () => {
    const host = 'gpu-rec';
    const monitor = new NvidiaSmiMonitor(host, { enabled: true, sampleInterval: 100, appsInterval: 10_000 }, silentLogger());
    const first = await monitor.snapshot();
    if (!first.available) throw new Error('the fake nvidia-smi gave no GPUs');
    const [g0, g1] = first.gpus;
    await new LiveStateWriter(redis, prefix, host).processes({
      at: Date.now(),
      processes: [
        { pid: 101, name: 'llama-server', user: 'lab', usedMiB: 20_000, gpuUuid: g0!.uuid, model: 'chat-hermes' },
        { pid: 202, name: 'python3', user: 'bob', usedMiB: 4_000, gpuUuid: g0!.uuid, model: null },
      ],
    });
    const recorder = new VramHistoryRecorder({ redis, prefix, host, monitor, logger: silentLogger(), attribution: liveAttribution(redis, prefix, host, 100) });
    recorder.start();
    monitor.start();
    try {
      await expect
        .poll(async () => (await readHistory(redis, prefix, host, { now: Date.now(), windowMs: HOUR })).gpus.map((g) => g.samples.filter((s) => s.byModel).length), { timeout: 15_000 })
        .toEqual([expect.any(Number), 0]);
      await expect.poll(async () => (await readHistory(redis, prefix, host, { now: Date.now(), windowMs: HOUR })).gpus[0]!.samples.filter((s) => s.byModel).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await monitor.stop();
      await recorder.stop();
    }
    const h = await readHistory(redis, prefix, host, { now: Date.now(), windowMs: HOUR });
    expect(h.gpus.map((g) => g.uuid)).toEqual([g0!.uuid, g1!.uuid]);
    const withModels = h.gpus[0]!.samples.filter((s) => s.byModel);
    expect(withModels.at(-1)).toMatchObject({ usedMiB: g0!.usedMiB, byModel: { 'chat-hermes': 20_000 } });
    expect(h.gpus[1]!.samples.at(-1)!.usedMiB).toBe(g1!.usedMiB);
    // at most one sample a second, though the sampler ran at 10 a second
    const fine = await redis.zrange(vramKeys.samples(prefix, host, 0, 'fine'), '0', '-1', 'WITHSCORES');
    const seconds = fine.filter((_, i) => i % 2 === 1).map((t) => Math.floor(Number(t) / SEC));
    expect(seconds.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seconds).size).toBe(seconds.length);
    // the minute under way was written at stop
    expect(await redis.zcard(vramKeys.samples(prefix, host, 0, 'coarse'))).toBeGreaterThanOrEqual(1);
  });
});
