import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisAlertStore } from '../src/alerts/redis-store.js';
import { VramAlerts } from '../src/worker/alerts/vram-alerts.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { silentLogger } from '../src/core/logger.js';
import { consumeNotices, Notifier } from '../src/queue/notice-queue.js';
import { type Notice } from '../src/notify/notice.js';
import { fakeNvidiaSmi, nvidiaSmiProcesses, type FakeNvidiaSmi } from './support/fake-nvidia-smi-harness.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `labops-test-vram-e2e-${process.pid}-${Date.now()}`;
const INTERVAL = 250;
const FOR = 1_000;

const logger = silentLogger();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
let fake: FakeNvidiaSmi;
let restore: () => void;
let notifier: Notifier;
let monitor: NvidiaSmiMonitor;
let alerts: VramAlerts;
let consumer: { close(): Promise<void> };

/** Notices as they arrive, and waiters for the next one that matches. */
const received: { notice: Notice; at: number }[] = [];
const waiters: { match: (n: Notice) => boolean; resolve: (r: { notice: Notice; at: number }) => void }[] = [];
function nextNotice(match: (n: Notice) => boolean, timeoutMs = 15_000) {
  const seen = received.find((r) => match(r.notice));
  if (seen) return Promise.resolve(seen);
  return new Promise<{ notice: Notice; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching notice arrived')), timeoutMs);
    waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
  });
}
const transitionOf = (n: Notice) => (n.reply.data as { transition?: string } | undefined)?.transition;

beforeAll(async () => {
  fake = fakeNvidiaSmi({ usedMiB: 0 });
  restore = fake.activate();
  notifier = new Notifier(redis, prefix, logger);
  consumer = consumeNotices(
    REDIS_URL,
    prefix,
    async (notice) => {
      const entry = { notice, at: Date.now() };
      received.push(entry);
      for (const w of waiters.filter((w) => w.match(notice))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    },
    logger,
    { keys: null },
  );
  monitor = new NvidiaSmiMonitor('gpu-e2e', { enabled: true, sampleInterval: INTERVAL, appsInterval: 10_000 }, logger);
  alerts = new VramAlerts({
    host: 'gpu-e2e',
    settings: { enabled: true, percent: 95, for: FOR, repeatEvery: 3_600_000 },
    monitor,
    sink: notifier,
    store: new RedisAlertStore(redis, prefix),
    logger,
  });
  alerts.start();
  monitor.start();
  await new Promise<void>((resolve) => {
    const off = monitor.onSample(() => {
      off();
      resolve();
    });
  });
});

afterAll(async () => {
  await alerts?.stop();
  await monitor?.stop();
  await consumer?.close();
  await notifier?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  restore?.();
  fake?.cleanup();
  expect(nvidiaSmiProcesses()).toEqual([]);
});

// The latency budget (for + 2 × interval) is measured by `npm run bench`, not here: a loaded machine must not fail a test.
it(`posts a VRAM alert once the threshold has held for its 'for', and a resolve after it drops`, async () => {
  const crossed = Date.now();
  fake.setState({ usedMiB: 78100 });
  const firing = await nextNotice((n) => transitionOf(n) === 'firing');
  expect(firing.notice).toMatchObject({ channel: 'alert', key: 'gpu-e2e:gpu0:vram-high', reply: { tone: 'error' } });
  expect(firing.notice.reply.title).toMatch(/^gpu-e2e GPU 0 VRAM 96 % \(78,100 \/ 81,559 MiB\) for 1 s$/);
  // not before the threshold held for `for`
  expect(firing.notice.at - crossed).toBeGreaterThanOrEqual(FOR);
  expect(received.map((r) => transitionOf(r.notice))).toEqual(['pending', 'firing']);

  fake.setState({ usedMiB: 20000 });
  const resolved = await nextNotice((n) => transitionOf(n) === 'resolved');
  expect(resolved.notice).toMatchObject({ key: 'gpu-e2e:gpu0:vram-high', reply: { tone: 'ok', title: expect.stringMatching(/back to 25 %/) } });
  expect(await redis.hget(`${prefix}:alert:gpu-e2e:gpu0:vram-high`, 'status')).toBe('resolved');
});
