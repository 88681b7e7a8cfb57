/**
 * The rules fed by hand, in order and with the times they say, against the real Redis: which
 * transitions of a model mean "down", what a stop by labops looks like, ghost VRAM thresholds, a
 * real HTTP proxy that stops answering, and GPU-heavy units enabled at boot.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisAlertMarks } from '../src/alerts/marks.js';
import { alertRedisKey, RedisAlertStore } from '../src/alerts/redis-store.js';
import { silentLogger } from '../src/core/logger.js';
import type { Reply } from '../src/core/reply.js';
import { LiteLLMClient } from '../src/litellm/client.js';
import type { NoticeSink } from '../src/notify/notice.js';
import { readStopIntent, recordStopIntent } from '../src/state/stop-intent.js';
import { BootServiceAlerts } from '../src/worker/alerts/boot-services.js';
import { GhostVramAlerts } from '../src/worker/alerts/ghost-vram.js';
import type { GhostVram, ModelTransition } from '../src/worker/alerts/inputs.js';
import { pickToFree } from '../src/worker/alerts/idle-models.js';
import { ModelDownAlerts } from '../src/worker/alerts/model-down.js';
import { modelDownReply } from '../src/worker/alerts/model-down-reply.js';
import { ProxyDownAlerts } from '../src/worker/alerts/proxy-down.js';
import { REDIS_URL, deleteKeys, uniqueName } from './support/env.js';

const prefix = uniqueName('rules');
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});
beforeEach(() => deleteKeys(prefix));

class ListSink implements NoticeSink {
  readonly posted: Reply[] = [];
  async post(_channel: 'alert' | 'log', reply: Reply) {
    this.posted.push(reply);
  }
  transitions() {
    return this.posted.map((r) => (r.data as { transition: string }).transition);
  }
}

const logger = silentLogger();
const T0 = 1_800_000_000_000;
const common = (sink: ListSink) => ({ host: 'gpu-1', sink, store: new RedisAlertStore(redis, prefix), marks: new RedisAlertMarks(redis, prefix), logger });
const noInputs = { onModelTransition: () => () => undefined, onGhostVram: () => () => undefined };

function modelDown(sink: ListSink) {
  return new ModelDownAlerts({
    ...common(sink),
    settings: { enabled: true, for: 10_000, repeatEvery: 3_600_000, logLines: 2 },
    inputs: noInputs,
    logs: async () => ['line 1', 'line 2', 'line 3'],
    stopIntent: (model) => readStopIntent(redis, prefix, 'gpu-1', model),
  });
}
const t = (model: string, from: ModelTransition['from'], to: ModelTransition['to'], at: number, extra: Partial<ModelTransition> = {}): ModelTransition => ({ host: 'gpu-1', model, from, to, at, cause: 'observed', pinned: false, ...extra });

describe('model down', () => {
  it('a running model that stops by itself fires after `for` with its last log lines; a restart that fails keeps it firing; running again resolves', async () => {
    const sink = new ListSink();
    const rule = modelDown(sink);
    await rule.handle(t('chat-a', 'unknown', 'running', T0));
    expect(await rule.handle(t('chat-a', 'running', 'failed', T0 + 1_000, { detail: 'exited with 1' }))).toMatchObject({ transition: 'pending' });
    expect(sink.posted).toEqual([]);
    // not posted, but stored with what the rule saw (/alerts shows it)
    expect(await redis.hgetall(alertRedisKey(prefix, { host: 'gpu-1', subject: 'chat-a', kind: 'model-down' }))).toMatchObject({ status: 'pending', model: 'chat-a', state: 'failed', was: 'running' });
    // systemd restarts it, and it fails again: a restart is no recovery, the same alert goes on, still "was running"
    expect(await rule.handle(t('chat-a', 'failed', 'starting', T0 + 5_000))).toBeNull();
    expect(await rule.handle(t('chat-a', 'starting', 'failed', T0 + 6_000))).toBeNull();
    expect(sink.transitions()).toEqual([]);
    expect(await rule.handle(t('chat-a', 'failed', 'failed', T0 + 11_000))).toMatchObject({ transition: 'firing' });
    expect(sink.transitions()).toEqual(['firing']);
    expect(sink.posted[0]).toMatchObject({ tone: 'error', title: 'gpu-1 chat-a down for 10 s: was running, now failed, and labops did not stop it', data: { from: 'running', to: 'failed', logLines: ['line 2', 'line 3'] } });
    await rule.handle(t('chat-a', 'failed', 'starting', T0 + 20_000));
    await rule.handle(t('chat-a', 'starting', 'running', T0 + 25_000));
    expect(sink.transitions()).toEqual(['firing', 'resolved']);
    expect(sink.posted[1]!.title).toBe('gpu-1 chat-a running again after 24 s down');
  });

  it('labops stops are not "down": by the transition\'s cause, or by the stop intent alone; an intent older than the last start does not count', async () => {
    const sink = new ListSink();
    const rule = modelDown(sink);
    await rule.handle(t('chat-a', 'stopped', 'running', T0));
    expect(await rule.handle(t('chat-a', 'running', 'stopped', T0 + 1_000, { cause: 'labops-stop' }))).toBeNull();
    await rule.handle(t('chat-a', 'stopped', 'running', T0 + 2_000));
    expect(await rule.handle(t('chat-a', 'running', 'stopped', T0 + 3_000, { cause: 'idle-unload' }))).toBeNull();

    // a live state that did not know: the intent labops recorded tells
    await rule.handle(t('chat-b', 'stopped', 'running', T0));
    await recordStopIntent(redis, prefix, 'gpu-1', 'chat-b', { cause: 'labops-stop', at: T0 + 500 });
    expect(await rule.handle(t('chat-b', 'running', 'stopped', T0 + 1_000))).toBeNull();
    // started again after that intent, then crashed: the old intent is stale
    await rule.handle(t('chat-b', 'stopped', 'running', T0 + 2_000));
    expect(await rule.handle(t('chat-b', 'running', 'stopped', T0 + 3_000))).toMatchObject({ transition: 'pending' });
    expect(sink.posted).toEqual([]);
  });

  it('keeps the log block of a notice within one message: the last lines that fit, each clipped', () => {
    const long = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(300)}`);
    const reply = modelDownReply({
      key: { host: 'gpu-1', subject: 'chat-a', kind: 'model-down' },
      keyString: 'gpu-1:chat-a:model-down',
      facts: { model: 'chat-a', from: 'running', to: 'failed', cause: 'observed', pinned: false, at: T0, logLines: [...long, 'boom ``` fence'] },
      state: { status: 'firing', pendingSince: T0, firingSince: T0 + 10_000, resolvedAt: null, lastNotifiedAt: T0 + 10_000 },
      transition: 'firing',
      now: T0 + 10_000,
      host: 'gpu-1',
      forMs: 10_000,
    });
    const block = reply.blocks.find((b) => b.kind === 'text') as { text: string };
    expect(block.text.length).toBeLessThan(2_600);
    expect(block.text).toMatch(/^Last 13 log lines:\n```\nline 38 x+…\n/);
    expect(block.text).toMatch(/\nboom ''' fence\n```$/);
  });

  it('a pinned model is down whenever it is not running; an unpinned one that was never running is not', async () => {
    const sink = new ListSink();
    const rule = modelDown(sink);
    expect(await rule.handle(t('chat-x', 'unknown', 'stopped', T0))).toBeNull();
    expect(await rule.handle(t('chat-x', 'stopped', 'failed', T0 + 1_000))).toBeNull();
    expect(await rule.handle(t('chat-p', 'unknown', 'stopped', T0, { pinned: true }))).toMatchObject({ transition: 'pending' });
    await rule.handle(t('chat-p', 'stopped', 'stopped', T0 + 10_000, { pinned: true }));
    expect(sink.posted.map((r) => r.title)).toEqual(['gpu-1 chat-p down for 10 s: pinned, now stopped, and labops did not stop it']);
  });
});

describe('ghost VRAM', () => {
  const g = (unknownMiB: number, at: number): GhostVram => ({
    host: 'gpu-1',
    gpuIndex: 1,
    gpuUuid: 'GPU-1',
    at,
    unknownMiB,
    processes: unknownMiB > 0 ? [{ pid: 4242, name: 'python3', user: 'ada', usedMiB: unknownMiB }] : [],
  });

  it('more than minMiB for longer than `for` fires; minMiB or less resolves; a short blip is never posted', async () => {
    const sink = new ListSink();
    const offers: GhostVram[] = [];
    const rule = new GhostVramAlerts({
      ...common(sink),
      settings: { enabled: true, for: 60_000, repeatEvery: 3_600_000, minMiB: 1_024 },
      inputs: noInputs,
      stopIdle: async (ghost) => {
        offers.push(ghost);
        return null;
      },
    });
    await rule.handle(g(1_024, T0));
    await rule.handle(g(5_000, T0 + 1_000));
    await rule.handle(g(0, T0 + 2_000)); // a blip: cancelled, not posted
    await rule.handle(g(5_000, T0 + 10_000));
    await rule.handle(g(5_000, T0 + 70_000));
    await rule.handle(g(900, T0 + 80_000));
    expect(sink.posted.map((r) => [r.tone, r.title])).toEqual([
      ['error', 'gpu-1 GPU 1: 5,000 MiB held by a process no model owns, for 1 min'],
      ['ok', 'gpu-1 GPU 1: unknown VRAM back to 900 MiB after 10 s firing'],
    ]);
    expect(sink.posted[0]!.blocks[1]).toEqual({ kind: 'table', columns: ['pid', 'process', 'user', 'VRAM'], rows: [['4242', 'python3', 'ada', '5,000 MiB']] });
    expect(offers).toHaveLength(1);
  });
});

describe('proxy down', () => {
  it('checks /health/liveliness of a real server: down fires after `for`, and answering again resolves', async () => {
    let server: Server | null = createServer((req, res) => {
      res.writeHead(req.url === '/health/liveliness' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify('I\'m alive!'));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    const client = new LiteLLMClient({ baseUrl: url, masterKey: 'sk-test-master-key', timeoutMs: 1_000 });
    const sink = new ListSink();
    const rule = new ProxyDownAlerts({
      ...common(sink),
      settings: { enabled: true, for: 20_000, repeatEvery: 3_600_000, interval: 10_000 },
      url,
      proxyModel: 'litellm',
      async check(signal) {
        const r = await client.liveliness({ signal });
        return r.ok ? { ok: true, latencyMs: r.latencyMs } : { ok: false, kind: r.kind, detail: 'detail' in r ? r.detail : `HTTP ${r.status}`, latencyMs: r.latencyMs };
      },
    });
    try {
      expect(await rule.checkOnce(T0)).toBeNull();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = null;
      expect(await rule.checkOnce(T0 + 10_000)).toMatchObject({ transition: 'pending' });
      expect(await rule.checkOnce(T0 + 30_000)).toMatchObject({ transition: 'firing' });
      expect(sink.posted[0]).toMatchObject({ tone: 'error', title: expect.stringMatching(new RegExp(`^LiteLLM proxy at ${url} down for 20 s: `)), data: { kind: 'proxy-down', check: { ok: false, kind: 'down' } } });
      expect(sink.posted[0]!.actions?.map((a) => a.label)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h', 'Start litellm']);

      server = createServer((_req, res) => res.end('"I\'m alive!"'));
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      expect(await rule.checkOnce(T0 + 40_000)).toMatchObject({ transition: 'resolved' });
      expect(sink.posted[1]!.title).toBe(`LiteLLM proxy at ${url} answers again after 30 s down`);
    } finally {
      await rule.stop();
      server?.close();
    }
  });
});

describe('boot services', () => {
  it('one alert per GPU-heavy unit enabled at boot, with the repair as a button; disabled resolves; an unreadable unit keeps its state', async () => {
    const sink = new ListSink();
    let enabled: boolean | null = true;
    const rule = new BootServiceAlerts({
      ...common(sink),
      settings: { enabled: true, for: 0, repeatEvery: 86_400_000, interval: 3_600_000 },
      check: async () => [
        { model: 'embeddings-default', unit: 'litellm-embed-arctic.service', vramMiB: 1_800, enabled },
        { model: 'chat-vllm', unit: 'vllm.service', vramMiB: 20_000, enabled: false },
      ],
    });
    expect(await rule.checkOnce(T0)).toEqual([{ key: 'gpu-1:litellm-embed-arctic.service:boot-service', transition: 'firing', at: T0 }]);
    expect(sink.posted[0]).toMatchObject({ tone: 'warn', title: 'gpu-1: litellm-embed-arctic.service (embeddings-default, 1,800 MiB) starts at boot', hint: '/repair kind:boot-services host:gpu-1 disables it at boot (a dry run first).' });
    expect(sink.posted[0]!.actions?.at(-1)).toEqual({ label: 'Repair boot services', command: 'repair', options: { kind: 'boot-services', host: 'gpu-1' }, style: 'primary' });
    enabled = null;
    expect(await rule.checkOnce(T0 + 1_000)).toEqual([]);
    enabled = false;
    expect(await rule.checkOnce(T0 + 2_000)).toEqual([{ key: 'gpu-1:litellm-embed-arctic.service:boot-service', transition: 'resolved', at: T0 + 2_000 }]);
    expect(sink.posted[1]).toMatchObject({ tone: 'ok', title: 'gpu-1: litellm-embed-arctic.service (embeddings-default, 1,800 MiB) no longer starts at boot' });
  });
});

describe('stop idle models', () => {
  it('picks the smallest idle model that frees enough, else the largest first until enough, else none', () => {
    const idle = [
      { name: 'a', vramMiB: 2_000 },
      { name: 'b', vramMiB: 4_000 },
      { name: 'c', vramMiB: 9_000 },
    ];
    expect(pickToFree(idle, 3_000)?.map((m) => m.name)).toEqual(['b']);
    expect(pickToFree(idle, 10_000)?.map((m) => m.name)).toEqual(['c', 'b']);
    expect(pickToFree(idle, 16_000)).toBeNull();
  });
});
