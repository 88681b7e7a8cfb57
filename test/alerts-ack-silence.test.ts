/**
 * Acknowledgements and silences against the real Redis, with the rules' own machinery (tracker,
 * announcer, store, marks) and the bot's /ack, /silence and /alerts logic; time is passed in, so
 * repeats and the ends of silences happen when the test says.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { alertKeyString, parseAlertKey, type AlertKey } from '../src/alerts/alert-key.js';
import { AlertAnnouncer } from '../src/alerts/announcer.js';
import { RedisAlertMarks } from '../src/alerts/marks.js';
import { alertIndexKey, alertRedisKey, RedisAlertStore } from '../src/alerts/redis-store.js';
import { AlertTracker } from '../src/alerts/tracker.js';
import { acknowledge, silence } from '../src/bot/alerts/manage.js';
import { startAlertWatch } from '../src/bot/alerts/watch.js';
import { alertsReply, listAlerts } from '../src/bot/alerts/list.js';
import { Inventory } from '../src/config/inventory.js';
import { parseConfig } from '../src/config/load.js';
import type { Caller } from '../src/chat/command.js';
import { silentLogger } from '../src/core/logger.js';
import type { Reply } from '../src/core/reply.js';
import { isUserError } from '../src/core/errors.js';
import type { NoticeSink } from '../src/notify/notice.js';
import { REDIS_URL, deleteKeys, uniqueName } from './support/env.js';

const prefix = uniqueName('ack');
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});
beforeEach(() => deleteKeys(prefix));

class ListSink implements NoticeSink {
  readonly posted: { key: string; reply: Reply }[] = [];
  async post(_channel: 'alert' | 'log', reply: Reply, opts: { key?: string } = {}) {
    this.posted.push({ key: opts.key ?? '', reply });
  }
  get last() {
    return this.posted.at(-1)!.reply;
  }
}

const config = parseConfig(`
redis: { url: "${REDIS_URL}", prefix: ${prefix} }
hosts:
  gpu-1:
    alerts:
      vramHighPercent: 90
      for: 2m
      modelDown: { for: 10s }
`);
const olga: Caller = { id: 'discord:1320000000000000032', name: 'olga', role: 'operator', adapter: 'discord', channelId: 'alerts', inDM: false };
const KEY: AlertKey = { host: 'gpu-1', subject: 'chat-x', kind: 'model-down' };
const K = alertKeyString(KEY);
const T0 = 1_800_000_000_000;
const FOR = 1_000;
const REPEAT = 60_000;

function setup() {
  const sink = new ListSink();
  const logger = silentLogger();
  const marks = new RedisAlertMarks(redis, prefix);
  const store = new RedisAlertStore(redis, prefix);
  const announcer = new AlertAnnouncer({ marks, sink, logger });
  const tracker = new AlertTracker<{ down: boolean }>({
    store,
    announcer,
    logger,
    timing: { forMs: FOR, repeatEveryMs: REPEAT },
    announcePending: false,
    render: ({ transition, facts }) => ({
      reply: { outcome: 'ok', tone: transition === 'resolved' ? 'ok' : 'error', title: `chat-x ${transition} (${facts.down ? 'down' : 'up'})`, blocks: [], data: { transition } },
      actions: [{ label: 'Start chat-x', command: 'start', options: { model: 'chat-x', host: 'gpu-1' } }],
    }),
  });
  const ctx = { config, inventory: new Inventory(config), redis, redisUrl: REDIS_URL, prefix, logger, notify: sink };
  return { sink, marks, store, tracker, ctx };
}

const labels = (r: Reply) => (r.actions ?? []).map((a) => a.label);
const texts = (r: Reply) => r.blocks.flatMap((b) => (b.kind === 'text' ? [b.text] : []));

describe('acknowledge', () => {
  it('names who acknowledged, drops its button, stops the repeats, still posts the resolve; the next firing is not acknowledged', async () => {
    const { sink, tracker, ctx, store } = setup();
    await tracker.observe(KEY, 'breach', { down: true }, T0);
    expect(sink.posted).toEqual([]); // pending is not posted for this kind
    await tracker.tick(T0 + FOR);
    expect(sink.posted).toHaveLength(1);
    expect(sink.last.title).toBe('chat-x firing (down)');
    expect(sink.posted[0]!.key).toBe(K);
    expect(labels(sink.last)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h', 'Start chat-x']);
    expect(sink.last.actions![0]).toEqual({ label: 'Acknowledge', command: 'ack', options: { key: K }, style: 'primary' });
    expect(sink.last.actions![1]).toMatchObject({ command: 'silence', options: { key: K, for: '1h' } });

    const reply = await acknowledge(ctx, olga, K, T0 + 5_000);
    expect(reply).toMatchObject({ outcome: 'ok', title: `Acknowledged ${K} (firing for 4 s): its repeats stop; the resolve is still posted.` });
    expect(sink.posted).toHaveLength(2);
    expect(sink.last.title).toBe('chat-x firing (down)');
    expect(texts(sink.last)[0]).toMatch(/^Acknowledged by @olga at \d{4}-\d\d-\d\d \d\d:\d\d UTC: repeats stop; the resolve is still posted\.$/);
    expect(labels(sink.last)).toEqual(['Silence 1 h', 'Silence 8 h', 'Start chat-x']);
    expect(sink.last.data).toMatchObject({ key: K, acknowledged: { by: 'olga', byId: olga.id, at: T0 + 5_000 }, silencedUntil: null });
    expect((await acknowledge(ctx, olga, K, T0 + 6_000)).title).toBe(`${K} was already acknowledged by @olga 1 s ago.`);

    // the repeat happens in the state machine, and is not posted
    expect(await tracker.tick(T0 + FOR + REPEAT)).toEqual([{ key: K, transition: 'repeat', at: T0 + FOR + REPEAT }]);
    expect(sink.posted).toHaveLength(2);
    expect(await redis.hget(alertRedisKey(prefix, KEY), 'lastNotifiedAt')).toBe(String(T0 + FOR + REPEAT));

    await tracker.observe(KEY, 'clear', { down: false }, T0 + 70_000);
    expect(sink.posted).toHaveLength(3);
    expect(sink.last).toMatchObject({ title: 'chat-x resolved (up)', tone: 'ok', actions: [] });
    expect(texts(sink.last)[0]).toMatch(/^Acknowledged by @olga/);

    await tracker.observe(KEY, 'breach', { down: true }, T0 + 80_000);
    await tracker.tick(T0 + 80_000 + FOR);
    expect(labels(sink.last)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h', 'Start chat-x']);
    expect(texts(sink.last)).toEqual([]);
    expect((await store.load(KEY))?.status).toBe('firing');
  });

  it('refuses what is not firing, and keys that are not alerts, with what to do', async () => {
    const { ctx, tracker } = setup();
    const fail = async (p: Promise<unknown>) => p.then(() => null, (err: unknown) => (isUserError(err) ? { kind: err.kind, message: err.message, hint: err.hint } : err));
    expect(await fail(acknowledge(ctx, olga, K))).toEqual({ kind: 'failed', message: `${K} is not firing: nothing to acknowledge.`, hint: '/alerts lists the alerts that fire.' });
    await tracker.observe(KEY, 'breach', { down: true }, T0);
    expect(await fail(acknowledge(ctx, olga, K))).toMatchObject({ kind: 'failed', message: `${K} is not firing (it is pending): nothing to acknowledge.` });
    expect(await fail(acknowledge(ctx, olga, 'gpu-1 gpu0'))).toMatchObject({ kind: 'usage', message: '"gpu-1 gpu0" is not an alert key.' });
    expect(await fail(acknowledge(ctx, olga, 'gpu-9:gpu0:vram-high'))).toMatchObject({ kind: 'usage', message: 'Unknown host "gpu-9".' });
    expect(await fail(silence(ctx, olga, 'gpu-1:gpu0:vram-low', '1h'))).toMatchObject({ kind: 'usage', message: '"vram-low" is not an alert kind.' });
    expect(await fail(silence(ctx, olga, K, 'soon'))).toMatchObject({ kind: 'usage', message: '/silence for: expected a duration from 1m to 30d (30m, 1h, 8h, 2d) or off, got "soon".' });
    expect(await fail(silence(ctx, olga, K, '10s'))).toMatchObject({ kind: 'usage' });
  });
});

describe('silence', () => {
  it('holds back every post until it ends; then the current state is posted once, by one claimant', async () => {
    const { sink, tracker, ctx, marks } = setup();
    await tracker.observe(KEY, 'breach', { down: true }, T0);
    await tracker.tick(T0 + FOR);
    expect(sink.posted).toHaveLength(1);

    const reply = await silence(ctx, olga, K, '1h', T0 + 2_000);
    expect(reply.title).toMatch(new RegExp(`^Silenced ${K} for 1 h, until .*: nothing about it is posted until then, and then its current state once\\.$`));
    // the message says so at once, with Unsilence instead of the silence buttons
    expect(sink.posted).toHaveLength(2);
    expect(texts(sink.last)[0]).toMatch(/^Silenced by @olga until .* UTC \(1 h left\): nothing about this alert is posted until then\.$/);
    expect(labels(sink.last)).toEqual(['Acknowledge', 'Unsilence', 'Start chat-x']);
    expect(sink.last.actions![1]).toMatchObject({ command: 'silence', options: { key: K, for: 'off' } });

    // the alert goes on changing state, and posts nothing
    await tracker.observe(KEY, 'clear', { down: false }, T0 + 10_000);
    await tracker.observe(KEY, 'breach', { down: true }, T0 + 20_000);
    await tracker.tick(T0 + 20_000 + FOR);
    await tracker.observe(KEY, 'clear', { down: false }, T0 + 30_000);
    expect(sink.posted).toHaveLength(2);
    expect((await marks.current(KEY))?.reply.title).toBe('chat-x resolved (up)');

    const rows = await listAlerts(ctx, undefined, T0 + 40_000);
    expect(rows).toEqual([expect.objectContaining({ key: K, status: 'resolved', silenced: { by: 'olga', until: T0 + 2_000 + 3_600_000 } })]);
    expect(alertsReply(rows, T0 + 40_000).title).toBe('Alerts: 0 firing, 0 pending, 1 silenced');

    // the end: one claimant posts the current state once
    const end = T0 + 2_000 + 3_600_000;
    expect(await marks.endedSilences(end - 1)).toEqual([]);
    expect(await marks.endedSilences(end)).toEqual([KEY]);
    expect(await marks.claimEnded(KEY, end)).toBe(true);
    expect(await marks.claimEnded(KEY, end)).toBe(false);
    await new AlertAnnouncer({ marks, sink, logger: silentLogger() }).repost(KEY, end);
    expect(sink.posted).toHaveLength(3);
    expect(sink.last).toMatchObject({ title: 'chat-x resolved (up)', actions: [] });
    expect(texts(sink.last)).toEqual([]);
    expect(await listAlerts(ctx, undefined, end)).toEqual([]);
  });

  it('off lifts it at once and posts the current state; a key without an alert can be silenced ahead', async () => {
    const { sink, tracker, ctx } = setup();
    await tracker.observe(KEY, 'breach', { down: true }, T0);
    await tracker.tick(T0 + FOR);
    await silence(ctx, olga, K, '8h', T0 + 2_000);
    await tracker.tick(T0 + FOR + REPEAT);
    expect(sink.posted).toHaveLength(2);
    const lifted = await silence(ctx, olga, K, 'off', T0 + REPEAT + 5_000);
    expect(lifted).toMatchObject({ outcome: 'ok', title: `Silence of ${K} lifted; its current state is posted.` });
    expect(sink.posted).toHaveLength(3);
    expect(sink.last.title).toBe('chat-x repeat (down)');
    expect(labels(sink.last)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h', 'Start chat-x']);
    expect((await silence(ctx, olga, K, 'off')).title).toBe(`${K} was not silenced; nothing changed.`);

    const ahead = await silence(ctx, olga, 'gpu-1:gpu0:vram-high', '2h', T0);
    expect(ahead.outcome).toBe('ok');
    expect(sink.posted).toHaveLength(3); // nothing to post yet
    const rows = await listAlerts(ctx, 'gpu-1', T0 + REPEAT + 6_000);
    expect(rows.map((r) => [r.key, r.status, r.silenced?.by ?? null])).toEqual([
      [K, 'firing', null],
      ['gpu-1:gpu0:vram-high', 'inactive', 'olga'],
    ]);
    const reply = alertsReply(rows, T0 + REPEAT + 6_000);
    expect(reply).toMatchObject({ title: 'Alerts: 1 firing, 0 pending, 1 silenced', tone: 'error' });
    expect(reply.blocks[0]).toMatchObject({ kind: 'table', columns: ['alert', 'state', 'for', 'note'], rows: [[K, 'firing', '1 min 5 s', '–'], ['gpu-1:gpu0:vram-high', 'not firing', '–', expect.stringMatching(/^silenced by @olga, /)]] });
  });
});

describe('the bot-side watch', () => {
  it('of two bots one watches: worker offline is posted once; when that bot stops, the other goes on from the stored state', async () => {
    const twoHosts = parseConfig(`
redis: { url: "${REDIS_URL}", prefix: ${prefix} }
hosts:
  gpu-1: { alerts: { workerOffline: { for: 0s } } }
  gpu-2: { alerts: { workerOffline: { enabled: false } } }
  gpu-3: {}
`);
    const beat = (host: string, lastBeat: number) => redis.hset(`${prefix}:heartbeat:${host}`, { host, version: '0.1.0', pid: 4242, startedAt: lastBeat - 60_000, lastBeat, intervalMs: 1_000 });
    await beat('gpu-1', Date.now() - 60_000);
    await beat('gpu-2', Date.now() - 60_000);
    const [sinkA, sinkB] = [new ListSink(), new ListSink()];
    const watch = (sink: ListSink) => startAlertWatch({ config: twoHosts, redis, prefix, sink, logger: silentLogger(), intervalMs: 60_000, immediately: false });
    const a = watch(sinkA);
    const b = watch(sinkB);
    try {
      expect(await a.tick()).toBe(true);
      expect(await b.tick()).toBe(false);
      expect(await a.tick()).toBe(true);
      // gpu-2 has the alert off; gpu-3 never reported: neither is alerted
      expect(sinkA.posted.map((p) => [p.key, p.reply.title])).toEqual([['gpu-1:worker:worker-offline', 'gpu-1 worker offline for 0 s: last heartbeat 1 min ago']]);
      expect(labels(sinkA.last)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h']);
      expect(sinkB.posted).toEqual([]);

      await a.stop();
      expect(await b.tick()).toBe(true);
      expect(sinkB.posted).toEqual([]); // still firing, as the store says: nothing new
      await beat('gpu-1', Date.now());
      expect(await b.tick()).toBe(true);
      expect(sinkB.posted.map((p) => p.reply.title)).toEqual([expect.stringMatching(/^gpu-1 worker is back after \d+ s offline$/)]);
      expect(sinkA.posted).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('the alert store and keys', () => {
  it('indexes stored alerts and drops expired ones from the index', async () => {
    const store = new RedisAlertStore(redis, prefix);
    const other: AlertKey = { host: 'gpu-2', subject: 'gpu0', kind: 'vram-high' };
    await store.save(KEY, { status: 'firing', pendingSince: 1, firingSince: 2, resolvedAt: null, lastNotifiedAt: 2 }, { model: 'chat-x' });
    await store.save(other, { status: 'pending', pendingSince: 1, firingSince: null, resolvedAt: null, lastNotifiedAt: null }, {});
    expect((await store.list()).map((a) => [alertKeyString(a.key), a.state.status, a.context])).toEqual([
      ['gpu-1:chat-x:model-down', 'firing', { model: 'chat-x' }],
      ['gpu-2:gpu0:vram-high', 'pending', {}],
    ]);
    expect((await store.list({ host: 'gpu-2' })).map((a) => a.key)).toEqual([other]);
    await redis.del(alertRedisKey(prefix, other)); // expired
    expect((await store.list()).map((a) => a.key)).toEqual([KEY]);
    expect(await redis.smembers(alertIndexKey(prefix))).toEqual([K]);
    await store.save(KEY, { status: 'inactive', pendingSince: null, firingSince: null, resolvedAt: null, lastNotifiedAt: null }, {});
    expect(await redis.smembers(alertIndexKey(prefix))).toEqual([]);
  });

  it('parses keys: host, a subject that may be a unit name, and a kind', () => {
    expect(parseAlertKey('gpu-1:litellm-embed-arctic.service:boot-service')).toEqual({ host: 'gpu-1', subject: 'litellm-embed-arctic.service', kind: 'boot-service' });
    expect(parseAlertKey('gpu-1:gpu0')).toBeNull();
    expect(parseAlertKey('gpu-1:a b:vram-high')).toBeNull();
  });
});

describe('alert settings', () => {
  const hostAlerts = (yaml: string) => parseConfig(`hosts:\n  gpu-1:\n    alerts:\n${yaml}`).hosts['gpu-1']!.alerts;

  it('gives every kind its defaults, and reads the VRAM keys of earlier versions', () => {
    const a = hostAlerts('      {}\n');
    expect(a).toEqual({
      vramHigh: { enabled: true, percent: 95, for: 60_000, repeatEvery: 3_600_000 },
      modelDown: { enabled: true, for: 30_000, repeatEvery: 3_600_000, logLines: 15 },
      ghostVram: { enabled: true, for: 300_000, repeatEvery: 21_600_000, minMiB: 1024 },
      workerOffline: { enabled: true, for: 60_000, repeatEvery: 3_600_000 },
      proxyDown: { enabled: true, for: 60_000, repeatEvery: 3_600_000, interval: 15_000 },
      bootServices: { enabled: true, for: 0, repeatEvery: 86_400_000, interval: 3_600_000 },
    });
    expect(config.hosts['gpu-1']!.alerts.vramHigh).toEqual({ enabled: true, percent: 90, for: 120_000, repeatEvery: 3_600_000 });
    expect(config.hosts['gpu-1']!.alerts.modelDown.for).toBe(10_000);
  });

  it('says which key to keep when an old and a new name are both set, and lists the keys of a kind', () => {
    expect(() => hostAlerts('      vramHighPercent: 90\n      vramHigh: { percent: 80 }\n')).toThrow(
      'hosts.gpu-1.alerts.vramHighPercent: the old name of alerts.vramHigh.percent, which is set too: keep only alerts.vramHigh.percent',
    );
    expect(() => hostAlerts('      ghostVram: { minMib: 10 }\n')).toThrow(/hosts\.gpu-1\.alerts\.ghostVram: unknown key "minMib" \(expected enabled, for, repeatEvery, minMiB\)/);
    expect(() => hostAlerts('      modelDwn: {}\n')).toThrow(/hosts\.gpu-1\.alerts: unknown key "modelDwn" \(expected vramHigh, modelDown, ghostVram, workerOffline, proxyDown, bootServices\)/);
  });
});
