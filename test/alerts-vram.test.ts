import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { alertRedisKey, RedisAlertStore } from '../src/alerts/redis-store.js';
import type { NoticeSink } from '../src/notify/notice.js';
import { VramAlerts } from '../src/worker/alerts/vram-alerts.js';
import type { Reply } from '../src/core/reply.js';
import type { AlertSettings } from '../src/config/schema.js';
import type { GpuInfo, GpuSnapshot } from '../src/gpu/monitor.js';
import { silentLogger } from '../src/core/logger.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `labops-test-alerts-${process.pid}-${Date.now()}`;
const KEY = 'gpu-1:gpu0:vram-high';
const settings: AlertSettings['vramHigh'] = { enabled: true, percent: 95, for: 60_000, repeatEvery: 3_600_000 };

async function deleteKeys() {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}
afterAll(async () => {
  await deleteKeys();
  redis.disconnect();
});
beforeEach(deleteKeys);

class ListSink implements NoticeSink {
  readonly posted: { key: string; reply: Reply }[] = [];
  async post(_channel: 'alert', reply: Reply, opts: { key: string }) {
    this.posted.push({ key: opts.key, reply });
  }
}

const gpu = (usedMiB: number, index = 0): GpuInfo => ({
  index,
  uuid: `GPU-0b573ac7-7324-01e3-7548-1b7ffdf79f5${index}`,
  name: 'NVIDIA H100 80GB HBM3',
  totalMiB: 81559,
  usedMiB,
  freeMiB: 81079 - usedMiB,
  utilPct: 0,
  tempC: 35,
  powerW: 117.71,
});
const sample = (at: number, ...gpus: GpuInfo[]): GpuSnapshot => ({ available: true, at, gpus });

function rule(sink: NoticeSink, over: Partial<AlertSettings['vramHigh']> = {}) {
  return new VramAlerts({ host: 'gpu-1', settings: { ...settings, ...over }, monitor: { onSample: () => () => undefined }, sink, store: new RedisAlertStore(redis, prefix), logger: silentLogger() });
}

describe('VRAM high alerts', () => {
  it('announces pending, firing and resolved, each with its tone, title and fields', async () => {
    const sink = new ListSink();
    const r = rule(sink);
    const t0 = 1_700_000_000_000;
    await r.evaluate(sample(t0, gpu(78100), gpu(1000, 1)));
    await r.evaluate(sample(t0 + 30_000, gpu(78100), gpu(1000, 1)));
    await r.evaluate(sample(t0 + 60_000, gpu(78100), gpu(1000, 1)));
    await r.evaluate(sample(t0 + 61_000, gpu(75000))); // 92 %: between resolve (90 %) and threshold: still firing
    await r.evaluate(sample(t0 + 120_000, gpu(40000)));

    expect(sink.posted.map((p) => [p.key, p.reply.tone, p.reply.title])).toEqual([
      [KEY, 'warn', 'gpu-1 GPU 0 VRAM 96 % (78,100 / 81,559 MiB), firing in 1 min if it stays ≥ 95 %'],
      [KEY, 'error', 'gpu-1 GPU 0 VRAM 96 % (78,100 / 81,559 MiB) for 1 min'],
      [KEY, 'ok', 'gpu-1 GPU 0 VRAM back to 49 % (40,000 / 81,559 MiB) after 1 min firing'],
    ]);
    const firing = sink.posted[1]!.reply;
    expect(firing.blocks[0]).toEqual({
      kind: 'fields',
      fields: expect.arrayContaining([
        { name: 'Host', value: 'gpu-1', inline: true },
        { name: 'State', value: 'firing', inline: true },
        { name: 'Threshold', value: '≥ 95 % for 1 min; resolves under 90 %', inline: true },
      ]),
    });
    expect(firing.data).toMatchObject({ key: KEY, status: 'firing', usedMiB: 78100, totalMiB: 81559 });
  });

  it('keeps the state in Redis, so a restarted worker neither re-announces nor forgets a firing alert', async () => {
    const t0 = 1_700_000_000_000;
    const before = new ListSink();
    const first = rule(before);
    await first.evaluate(sample(t0, gpu(78100)));
    await first.evaluate(sample(t0 + 60_000, gpu(78100)));
    expect(before.posted.map((p) => p.reply.data)).toMatchObject([{ transition: 'pending' }, { transition: 'firing' }]);
    const hash = await redis.hgetall(alertRedisKey(prefix, { host: 'gpu-1', subject: 'gpu0', kind: 'vram-high' }));
    expect(hash).toMatchObject({ status: 'firing', host: 'gpu-1', subject: 'gpu0', kind: 'vram-high', pendingSince: String(t0), firingSince: String(t0 + 60_000), usedMiB: '78100' });

    const after = new ListSink();
    const restarted = rule(after, { repeatEvery: 600_000 });
    await restarted.evaluate(sample(t0 + 120_000, gpu(78100)));
    expect(after.posted).toEqual([]);
    await restarted.evaluate(sample(t0 + 660_000, gpu(78100)));
    expect(after.posted.map((p) => [p.reply.tone, p.reply.title])).toEqual([['error', 'gpu-1 GPU 0 VRAM still 96 % (78,100 / 81,559 MiB), firing for 10 min']]);

    const third = rule(after);
    await third.evaluate(sample(t0 + 700_000, gpu(0)));
    expect(after.posted.at(-1)!.reply).toMatchObject({ tone: 'ok', data: { transition: 'resolved' } });
    const resolved = alertRedisKey(prefix, { host: 'gpu-1', subject: 'gpu0', kind: 'vram-high' });
    expect(await redis.hget(resolved, 'status')).toBe('resolved');
    expect(await redis.pttl(resolved)).toBeGreaterThan(0);
  });

  it('announces a pending alert that did not last as cancelled, and ignores samples without GPUs', async () => {
    const sink = new ListSink();
    const r = rule(sink, { resolvePercent: 80 });
    expect(r.resolvePct).toBe(80);
    await r.evaluate({ available: false, reason: 'no NVIDIA GPU' });
    await r.evaluate(sample(0, gpu(80000)));
    await r.evaluate(sample(1_000, gpu(70000)));
    expect(sink.posted.map((p) => [p.reply.tone, p.reply.title])).toEqual([
      ['warn', 'gpu-1 GPU 0 VRAM 98 % (80,000 / 81,559 MiB), firing in 1 min if it stays ≥ 95 %'],
      ['ok', 'gpu-1 GPU 0 VRAM back to 86 % (70,000 / 81,559 MiB) before it fired'],
    ]);
    expect(await redis.exists(alertRedisKey(prefix, { host: 'gpu-1', subject: 'gpu0', kind: 'vram-high' }))).toBe(0);
  });
});
