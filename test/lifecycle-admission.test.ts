import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelRef } from '../src/config/inventory.js';
import { configSchema } from '../src/config/schema.js';
import { admissionNumbers } from '../src/bot/lifecycle/replies.js';
import { admit, gpuFree, type AdmissionInput } from '../src/worker/lifecycle/admission.js';
import { activityNames, idlePolicy } from '../src/config/idle-policy.js';
import { acquireLock, acquireLocks } from '../src/worker/lock.js';
import { silentLogger } from '../src/core/logger.js';
import { deleteKeys, REDIS_URL, uniqueName } from './support/env.js';

const NOW = 1_700_000_000_000;

function input(over: Partial<AdmissionInput> = {}): AdmissionInput {
  return {
    model: 'chat-hermes',
    needMiB: 9500,
    needSource: 'declared',
    gpu: { available: true, freeMiB: 8168, totalMiB: 81559 },
    reserveMiB: 2048,
    running: [],
    force: false,
    now: NOW,
    busyWithinMs: 300_000,
    ...over,
  };
}

describe('admission (a pure function)', () => {
  it('admits what fits in the free VRAM minus the reserve', () => {
    const a = admit(input({ needMiB: 6120 }));
    expect(a).toMatchObject({ verdict: 'admit', freeMiB: 8168, availableMiB: 6120, reserveMiB: 2048 });
    expect(admissionNumbers(a)).toBe('needs 6,120 MiB; 6,120 MiB free after the 2,048 MiB reserve');
  });

  it('refuses what does not fit, with the numbers', () => {
    const a = admit(input());
    expect(a).toMatchObject({ verdict: 'refuse', shortMiB: 3380, candidates: [], combination: null });
    expect(admissionNumbers(a)).toBe('needs 9,500 MiB; 6,120 MiB free after the 2,048 MiB reserve');
    expect(admissionNumbers(admit(input({ needSource: 'measured' })))).toBe('needs 9,500 MiB (measured); 6,120 MiB free after the 2,048 MiB reserve');
  });

  it('offers idle, unpinned running models whose stop alone makes room, the smallest first', () => {
    const a = admit(
      input({
        running: [
          { name: 'big-idle', vramMiB: 20_000, pinned: false, lastRequestAt: null },
          { name: 'small-idle', vramMiB: 4000, pinned: false },
          { name: 'too-small', vramMiB: 1000, pinned: false, lastRequestAt: null },
          { name: 'pinned', vramMiB: 30_000, pinned: true, lastRequestAt: null },
          { name: 'busy', vramMiB: 30_000, pinned: false, lastRequestAt: NOW - 60_000 },
          { name: 'idle-long-ago', vramMiB: 3500, pinned: false, lastRequestAt: NOW - 3_600_000 },
          { name: 'chat-hermes', vramMiB: 9000, pinned: false },
        ],
      }),
    );
    expect(a.verdict).toBe('refuse');
    if (a.verdict !== 'refuse') return;
    expect(a.candidates.map((c) => c.name)).toEqual(['idle-long-ago', 'small-idle', 'big-idle']);
    expect(a.combination).toBeNull();
  });

  it('proposes a combination when no single stop is enough, and none when all of them are not', () => {
    const running = [
      { name: 'a', vramMiB: 2000, pinned: false },
      { name: 'b', vramMiB: 1500, pinned: false },
      { name: 'c', vramMiB: 500, pinned: false },
    ];
    const a = admit(input({ running }));
    expect(a.verdict === 'refuse' && a.combination?.map((c) => c.name)).toEqual(['a', 'b']);
    const none = admit(input({ needMiB: 20_000, running }));
    expect(none.verdict === 'refuse' && none.combination).toBeNull();
  });

  it('lets force override, and skips the check where no GPU can be read', () => {
    expect(admit(input({ force: true }))).toMatchObject({ verdict: 'forced', shortMiB: 3380 });
    expect(admit(input({ gpu: { available: false, reason: 'no NVIDIA GPU' } }))).toEqual({ verdict: 'skipped', reason: 'no NVIDIA GPU', model: 'chat-hermes', needMiB: 9500, needSource: 'declared' });
    expect(admit(input({ needMiB: 0, gpu: { available: true, freeMiB: 100, totalMiB: 81559 } })).verdict).toBe('admit');
  });

  it('sums the free VRAM of every GPU', () => {
    expect(gpuFree({ available: true, gpus: [{ freeMiB: 1000, totalMiB: 81559 }, { freeMiB: 500, totalMiB: 81559 }] })).toEqual({ available: true, freeMiB: 1500, totalMiB: 163118 });
    expect(gpuFree({ available: false, reason: 'no NVIDIA GPU', detail: 'nvidia-smi is not installed' })).toEqual({ available: false, reason: 'no NVIDIA GPU (nvidia-smi is not installed)' });
  });
});

describe('idle policy', () => {
  const ref = (model: Record<string, unknown>): ModelRef => {
    const config = configSchema.parse({ hosts: { 'gpu-1': { models: { 'chat-x': { type: 'chat', engine: { kind: 'systemd', unit: 'x.service' }, ...model } } } } });
    return { host: 'gpu-1', name: 'chat-x', model: config.hosts['gpu-1']!.models['chat-x']! };
  };
  const withDb = { litellm: { databaseUrl: 'postgres://x/y', groups: {} } };
  const without = { litellm: { groups: {} } };

  it('reads requests from the spend logs when LiteLLM’s database is configured', () => {
    expect(idlePolicy(withDb, ref({ idleTtl: '30m' }))).toEqual({ mode: 'spend-logs', ttlMs: 1_800_000, note: 'after 30 min without requests (LiteLLM spend logs)' });
  });

  it('leaves Ollama to its keep_alive, never unloads without a source, and never a pinned model', () => {
    expect(idlePolicy(without, ref({ idleTtl: '30m', engine: { kind: 'ollama', model: 'mistral:7b' } }))).toMatchObject({ mode: 'engine', note: 'Ollama unloads it after its keep_alive (5m)' });
    expect(idlePolicy(without, ref({ idleTtl: '30m' }))).toMatchObject({ mode: 'never', note: expect.stringContaining('no request source') });
    expect(idlePolicy(withDb, ref({ idleTtl: '30m', pinned: true }))).toEqual({ mode: 'never', note: 'never: pinned' });
    expect(idlePolicy(withDb, ref({}))).toEqual({ mode: 'never', note: 'never: no idleTtl' });
  });

  it('looks requests up under the LiteLLM name and the inventory name', () => {
    expect(activityNames(ref({ litellmName: 'chat-default-local' }))).toEqual(['chat-default-local', 'chat-x']);
  });
});

describe('the model lock (real Redis)', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = uniqueName('lock');
  const logger = silentLogger();
  const key = `${prefix}:lock:model:gpu-1:chat-x`;
  const signal = () => AbortSignal.timeout(5_000);

  afterAll(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('is held by one job at a time; the same job takes it back at once', async () => {
    const a = await acquireLock({ redis, key, owner: 'job-a', ttlMs: 2_000, signal: signal(), logger });
    expect(await redis.get(key)).toBe('job-a');
    const again = await acquireLock({ redis, key, owner: 'job-a', ttlMs: 2_000, signal: signal(), logger });
    expect(again.held).toBe(true);

    let waitedFor: string | null = null;
    let bHolds = false;
    const b = acquireLock({ redis, key, owner: 'job-b', ttlMs: 2_000, signal: signal(), logger, pollMs: 50, onWait: (h) => (waitedFor = h) }).then((l) => ((bHolds = true), l));
    await expect.poll(() => waitedFor).toBe('job-a');
    expect(bHolds).toBe(false);
    await a.release();
    await again.release();
    const heldB = await b;
    expect(await redis.get(key)).toBe('job-b');
    await heldB.release();
    expect(await redis.get(key)).toBeNull();
  });

  it('is renewed while held, and lapses after its TTL when the holder stops renewing (a crash)', async () => {
    const held = await acquireLock({ redis, key, owner: 'job-c', ttlMs: 600, signal: signal(), logger });
    // renewed: its time to live goes back up, and it is still ours after more than one TTL
    let lowest = await redis.pttl(key);
    const renewedAt = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        void redis.pttl(key).then((ttl) => {
          if (ttl > lowest) {
            clearInterval(poll);
            resolve(ttl);
          }
          lowest = Math.min(lowest, ttl);
        });
      }, 20);
    });
    expect(renewedAt).toBeGreaterThan(0);
    expect(await redis.get(key)).toBe('job-c');
    expect(held.held).toBe(true);
    await held.release();

    await redis.set(key, 'dead-job', 'PX', 400);
    const started = Date.now();
    const next = await acquireLock({ redis, key, owner: 'job-d', ttlMs: 2_000, signal: signal(), logger, pollMs: 50 });
    expect(Date.now() - started).toBeLessThan(1_000);
    await next.release();
  });

  it('takes several locks in one order and gives up when aborted', async () => {
    const k2 = `${prefix}:lock:model:gpu-1:chat-y`;
    const locks = await acquireLocks([k2, key], { redis, owner: 'job-e', ttlMs: 2_000, signal: signal(), logger });
    expect(locks.map((l) => l.key)).toEqual([key, k2]);
    const aborted = await acquireLock({ redis, key, owner: 'job-f', ttlMs: 2_000, signal: AbortSignal.timeout(200), logger, pollMs: 50 }).catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(Error);
    await Promise.all(locks.map((l) => l.release()));
  });
});
