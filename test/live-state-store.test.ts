/**
 * The live state's Redis table on a real Redis: what the worker's writer puts there is what the bot's
 * reader gets back, for many hosts in one pipeline; a field that does not parse (another version, a
 * hand edit) is left out, not thrown; models no longer in the inventory are dropped.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { heartbeatKey } from '../src/state/heartbeat.js';
import { LiveStateWriter, liveStateKey, modelField, readLiveStates, unknownMiBByGpu, type LiveModel } from '../src/state/live-state.js';
import { REDIS_URL } from './support/env.js';

const prefix = `test_live_store_${process.pid}_${Date.now().toString(36)}`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const gpu = (index: number, uuid: string) => ({ index, uuid, name: 'NVIDIA H100 80GB HBM3', totalMiB: 81_559, usedMiB: 10_000, freeMiB: 71_559, utilPct: 3, tempC: 40, powerW: 90 });
const model = (over: Partial<LiveModel> = {}): LiveModel => ({
  at: 1_000,
  state: 'running',
  detail: null,
  pids: [42],
  since: 900,
  vramMiB: 4_000,
  vramAt: 1_000,
  health: { ok: true, detail: 'http://127.0.0.1:8080/health: 200', at: 990 },
  transition: { from: 'stopped', to: 'running', at: 900, cause: 'observed', detail: null },
  ...over,
});

describe('live state table', () => {
  it('reads back what the writer wrote, for every host in one pipeline', async () => {
    const w1 = new LiveStateWriter(redis, prefix, 'gpu-1');
    await w1.models({ 'chat-a': model(), 'chat-b': model({ state: 'stopped', pids: [], vramMiB: null, vramAt: null, health: null }) });
    await w1.gpus({ at: 1_001, snapshot: { available: true, at: 1_001, gpus: [gpu(0, 'GPU-a'), gpu(1, 'GPU-b')] } });
    await w1.processes({
      at: 1_002,
      processes: [
        { pid: 42, name: 'llama-server', user: 'lab', usedMiB: 4_000, gpuUuid: 'GPU-a', model: 'chat-a' },
        { pid: 77, name: 'python3', user: 'olga', usedMiB: 3_000, gpuUuid: 'GPU-b', model: null },
      ],
    });
    await w1.facts({ at: 1_003, error: 'systeminformation failed' });
    await w1.refresh({ at: 1_004, passes: 7, intervalMs: 5_000 });
    await redis.hset(heartbeatKey(prefix, 'gpu-1'), { host: 'gpu-1', version: '1.2.3', pid: 99, startedAt: 500, lastBeat: 1_004, intervalMs: 5_000 });

    const [one, two] = await readLiveStates(redis, prefix, ['gpu-1', 'gpu-2']);
    expect(one!.models.get('chat-a')).toEqual(model());
    expect(one!.models.get('chat-b')).toMatchObject({ state: 'stopped', health: null });
    expect(one!.processes!.processes).toHaveLength(2);
    expect(one!.facts).toEqual({ at: 1_003, error: 'systeminformation failed' });
    expect(one!.refresh).toEqual({ at: 1_004, passes: 7, intervalMs: 5_000 });
    expect(one!.heartbeat).toMatchObject({ host: 'gpu-1', version: '1.2.3', pid: 99 });
    expect(Object.fromEntries(unknownMiBByGpu(one!))).toEqual({ 'GPU-a': 0, 'GPU-b': 3_000 });
    // a host that never reported: everything empty, nothing thrown
    expect(two).toEqual({ host: 'gpu-2', heartbeat: null, gpus: null, facts: null, processes: null, refresh: null, models: new Map() });
    expect(await redis.pttl(liveStateKey(prefix, 'gpu-1'))).toBeGreaterThan(6 * 24 * 3600_000);
  });

  it('leaves out a field that does not parse, and drops models no longer in the inventory', async () => {
    const w = new LiveStateWriter(redis, prefix, 'gpu-3');
    await w.models({ 'chat-a': model(), 'chat-old': model() });
    await redis.hset(liveStateKey(prefix, 'gpu-3'), modelField('chat-bad'), '{"state":"exploded"}', 'gpus', 'not json');
    const [state] = await readLiveStates(redis, prefix, ['gpu-3']);
    expect([...state!.models.keys()].sort()).toEqual(['chat-a', 'chat-old']);
    expect(state!.gpus).toBeNull();

    await w.keepOnly(['chat-a']);
    const [after] = await readLiveStates(redis, prefix, ['gpu-3']);
    expect([...after!.models.keys()]).toEqual(['chat-a']);
  });

  it('refuses to write a value that does not match its schema', async () => {
    const w = new LiveStateWriter(redis, prefix, 'gpu-4');
    await expect(w.models({ 'chat-a': { ...model(), state: 'exploded' } as unknown as LiveModel })).rejects.toThrow();
    expect(await redis.exists(liveStateKey(prefix, 'gpu-4'))).toBe(0);
  });
});
