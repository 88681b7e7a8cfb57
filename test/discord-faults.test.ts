/**
 * The bot delivers through Discord's 429s and 5xx: the real startDiscord in-process (the real
 * discord.js Client, real Redis, the durable notify queue) against the fake Discord, which fails
 * the interaction callback, the `@original` edits, channel posts and message edits on request
 * (see test/support/fake-discord/README.md, "Injected faults"). Every test waits on the fake's call
 * log and message state; each asserts that what the user should see arrives, once.
 */
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import type { RunningChat } from '../src/bot/chat.js';
import type { AnyCommand } from '../src/chat/command.js';
import { defineCommand } from '../src/bot/define-command.js';
import { startDiscord } from '../src/chat/discord/bot.js';
import { CommandRegistry } from '../src/chat/registry.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { info, ok, type Reply } from '../src/core/reply.js';
import { NOTIFY_QUEUE } from '../src/queue/names.js';
import { Notifier } from '../src/queue/notice-queue.js';
import { IDS, logLines, startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { REDIS_URL } from './support/env.js';
import { FakeRoute, isRoute, type Fault, type FaultRule, type InteractionHandle, type RecordedCall, type RouteSelector } from './support/fake-discord/index.js';

const LOADING = 128;

/** Gates the `steps` command waits on, by name; the test opens them. */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
function gate(name: string) {
  let entry = gates.get(name);
  if (!entry) {
    let open = () => undefined as void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    entry = { open, opened };
    gates.set(name, entry);
  }
  return entry;
}

const testCommands: AnyCommand[] = [
  defineCommand({
    name: 'quick',
    description: 'Test: answers at once',
    capability: 'viewer',
    options: { tag: { type: 'string', description: 'tells the answers apart', required: true } },
    async execute({ options }): Promise<Reply> {
      return info(`Answer ${options.tag}`);
    },
  }),
  defineCommand({
    name: 'steps',
    description: 'Test: two progress lines, each after the test opens a gate',
    capability: 'viewer',
    options: { tag: { type: 'string', description: 'names the gates', required: true } },
    async execute({ options, progress }): Promise<Reply> {
      progress(`${options.tag} step 1`);
      await gate(`${options.tag}:1`).opened;
      progress(`${options.tag} step 2`);
      await gate(`${options.tag}:2`).opened;
      return ok(`Steps ${options.tag} done`);
    },
  }),
];

let env: DiscordLab;
let ctx: OwnedBotContext;
let chat: RunningChat;
let redis: Redis;
let notifier: Notifier;
let notices: Queue;
const logs: string[] = [];

beforeAll(async () => {
  env = await startDiscordLab();
  const { config } = loadConfig(env.lab.configFile, env.botEnv);
  ctx = await createBotContext(config, pino({ level: 'silent' }), testCommands);
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) }));
  chat = await startDiscord({ ...ctx, commands: new CommandRegistry(testCommands) }, logger, { responder: { progressIntervalMs: 100 }, drainMs: 2_000 });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  notifier = new Notifier(redis, env.lab.prefix, silentLogger());
  notices = new Queue(NOTIFY_QUEUE, { connection: redis, prefix: env.lab.prefix });
});

afterEach(() => {
  // a rule a failed test left behind must not fail the next one
  for (const rule of rules.splice(0)) rule.cancel();
});

afterAll(async () => {
  if (process.env.SHOW_BOT_LOG) console.log(logs.join(''), env.fake.describeCalls(80));
  await chat?.close();
  await notices?.close();
  await notifier?.close();
  redis?.disconnect();
  await ctx?.close();
  await env?.close();
});

const rules: FaultRule[] = [];
/** fake.failNext, cancelled after the test whatever happens */
function fail(route: RouteSelector, fault: Fault, times?: number): FaultRule {
  const rule = env.fake.failNext(route, fault, times);
  rules.push(rule);
  return rule;
}

const titleOf = (c: RecordedCall): string | undefined => (c.message ?? c.body)?.embeds?.[0]?.title;
const isCallback = (c: RecordedCall) => isRoute(c, FakeRoute.callback);
const isEdit = (c: RecordedCall) => isRoute(c, FakeRoute.editOriginal);
const channelPostsSince = (mark: number, title: string) => env.fake.calls.filter((c) => c.seq > mark && isRoute(c, FakeRoute.channelPost) && titleOf(c) === title);
/** Stored messages (any channel the bot writes to) whose first embed has `title`. */
const stored = (title: string) => ['ops', 'alerts', 'log'].flatMap((ch) => env.fake.messages(ch)).filter((m) => m.embeds?.[0]?.title === title);
const logged = (pattern: RegExp) => logLines(logs.join('')).some((l) => pattern.test(String(l.msg)));

/** The command's result shown in its interaction response: one 200 edit with it, one message. */
async function answeredInPlace(cmd: InteractionHandle, title: string, mark: number, timeoutMs = 10_000): Promise<void> {
  await cmd.waitForEdit((c) => c.status === 200 && titleOf(c) === title, timeoutMs);
  expect(cmd.original()).toMatchObject({ embeds: [{ title }] });
  expect(cmd.original().flags & LOADING).toBe(0);
  expect(stored(title).map((m) => m.id)).toEqual([cmd.original().id]);
  expect(cmd.calls().filter((c) => c.status === 200 && titleOf(c) === title)).toHaveLength(1);
  expect(channelPostsSince(mark, title)).toEqual([]);
}

/** The result posted once as a channel message (the interaction could not be acknowledged). */
async function answeredInChannel(title: string, mark: number, user: string, command: string, timeoutMs = 10_000): Promise<RecordedCall> {
  const post = await env.fake.waitFor((c) => c.seq > mark && isRoute(c, FakeRoute.channelPost) && c.status === 200 && titleOf(c) === title, timeoutMs);
  expect(post.params.channel).toBe(IDS.channels.ops);
  expect(post.body.content).toContain(`/${command} asked by <@${IDS.users[user as keyof typeof IDS.users]}>`);
  expect(stored(title).map((m) => m.id)).toEqual([post.response.id]);
  return post;
}

describe('the acknowledgement (defer) through failures', () => {
  it('a 5xx on the defer is retried by discord.js: acknowledged, answered in place', async () => {
    const mark = env.fake.mark();
    fail(FakeRoute.callback, { status: 502 });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'a1' } });
    await answeredInPlace(cmd, 'Answer a1', mark);
    expect(cmd.calls().filter(isCallback).map((c) => [c.status, c.injected])).toEqual([
      [502, true],
      [204, false],
    ]);
  });

  it('a short 429 on the defer: discord.js waits Retry-After (1 s), still within the 3 s window', async () => {
    const mark = env.fake.mark();
    fail(FakeRoute.callback, { status: 429, retryAfterMs: 300 });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'a2' } });
    await answeredInPlace(cmd, 'Answer a2', mark);
    const [limited, acked] = cmd.calls().filter(isCallback);
    expect([limited!.status, acked!.status]).toEqual([429, 204]);
    expect(acked!.time - limited!.time).toBeGreaterThanOrEqual(1_000);
  });

  it('a 5xx after Discord took the defer (the retry gets 40060): still answered in place, not in a second message', async () => {
    const mark = env.fake.mark();
    fail(FakeRoute.callback, { status: 502, processed: true });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'a3' } });
    await answeredInPlace(cmd, 'Answer a3', mark);
    expect(cmd.calls().filter(isCallback).map((c) => [c.status, c.response?.code])).toEqual([
      [502, 0],
      [400, 40060],
    ]);
  });

  it('a 429 longer than the window (10062): the answer is posted to the channel once', async () => {
    const mark = env.fake.mark();
    // Retry-After 3: discord.js sleeps 3 s and calls back after the window
    fail(FakeRoute.callback, { status: 429, retryAfter: 2.5 });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'a4' } });
    await answeredInChannel('Answer a4', mark, 'alice', 'quick');
    expect(cmd.calls().filter(isCallback).map((c) => [c.status, c.response?.code])).toEqual([
      [429, undefined],
      [404, 10062],
    ]);
    expect(cmd.calls().filter(isEdit)).toEqual([]);
  });

  it('a 5xx storm on the defer outlasting the retries: answered in the channel, once, through a post whose answer is lost', async () => {
    const mark = env.fake.mark();
    const storm = fail(FakeRoute.callback, { status: 503 }, Infinity);
    // the channel post takes effect but its answer is lost: discord.js posts again
    fail(FakeRoute.channelPost, { status: 502, processed: true });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'a5' } });
    const post = await answeredInChannel('Answer a5', mark, 'alice', 'quick');
    expect(storm.hits).toBe(4);
    expect(channelPostsSince(mark, 'Answer a5').map((c) => [c.status, c.note])).toEqual([
      [502, 'processed'],
      [200, 'nonce-deduplicated'],
    ]);
    expect(env.fake.messages('ops').filter((m) => m.embeds?.[0]?.title === 'Answer a5').map((m) => m.id)).toEqual([post.response.id]);
    expect(cmd.record.acknowledged).toBe(false);
  });
});

describe('progress and result edits (@original) through failures', () => {
  it('a 5xx storm on a progress edit: that edit is skipped, later ones and the result arrive, the result once', async () => {
    const mark = env.fake.mark();
    const storm = fail(FakeRoute.editOriginal, { status: 503 }, Infinity);
    const cmd = env.fake.slashCommand({ name: 'steps', user: 'alice', channel: 'ops', options: { tag: 'b1' } });
    // the first progress edit and discord.js's 3 retries fail
    await cmd.waitForEdit(() => storm.hits >= 4);
    await expect.poll(() => logged(/progress edit failed/)).toBe(true);
    storm.cancel();
    gate('b1:1').open();
    await cmd.waitForEdit((c) => c.status === 200 && c.message.content === '⏳ b1 step 2');
    gate('b1:2').open();
    await answeredInPlace(cmd, 'Steps b1 done', mark);
    expect(storm.hits).toBe(4);
  });

  it('a 5xx after the result edit took effect, then a short 429: the result is shown once', async () => {
    const mark = env.fake.mark();
    fail(FakeRoute.editOriginal, { status: 502, processed: true });
    fail(FakeRoute.editOriginal, { status: 429, retryAfterMs: 200 });
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'b2' } });
    await answeredInPlace(cmd, 'Answer b2', mark);
    expect(cmd.calls().filter(isEdit).map((c) => [c.status, c.note])).toEqual([
      [502, 'processed'],
      [429, undefined],
      [200, undefined],
    ]);
  });

  it('a 5xx storm on the result edit outlasting discord.js retries: the result still arrives, once, when it ends', async () => {
    const mark = env.fake.mark();
    const storm = fail(FakeRoute.editOriginal, { status: 503 }, Infinity);
    const cmd = env.fake.slashCommand({ name: 'quick', user: 'alice', channel: 'ops', options: { tag: 'b3' } });
    await cmd.waitForEdit(() => storm.hits >= 4);
    storm.cancel();
    await answeredInPlace(cmd, 'Answer b3', mark);
    expect(cmd.calls().filter(isEdit).some((c) => /could not be shown/.test(c.message?.embeds?.[0]?.description ?? ''))).toBe(false);
  });
});

describe('alerts and log notices through a 5xx storm', () => {
  const alert = (title: string): Reply => ({ outcome: 'ok', tone: 'warn', title, blocks: [] });

  it('every notice is delivered once after the storm ends, edits in place, none posted twice', async () => {
    // an alert already on the channel, to be edited during the storm
    await notifier.post('alert', alert('VRAM high on gpu-1 (c)'), { key: 'gpu-1:gpu0:vram-high:c' });
    const first = await env.fake.waitFor((c) => isRoute(c, FakeRoute.channelPost) && c.status === 200 && titleOf(c) === 'VRAM high on gpu-1 (c)', 10_000);
    const mark = env.fake.mark();

    // the first tries take effect but lose their answers; then nothing gets through until the storm ends
    fail(FakeRoute.channelEdit, { status: 502, processed: true });
    fail(FakeRoute.channelPost, { status: 502, processed: true }, 2);
    const storm = fail([FakeRoute.channelPost, FakeRoute.channelEdit], { status: 503 }, Infinity);
    await notifier.post('alert', alert('VRAM critical on gpu-1 (c)'), { key: 'gpu-1:gpu0:vram-high:c' });
    await notifier.post('alert', alert('Ghost VRAM on gpu-1 (c)'), { key: 'gpu-1:gpu0:ghost:c' });
    await notifier.post('log', alert('Repair applied (c1)'));
    await notifier.post('log', alert('Repair undone (c2)'));

    await env.fake.waitFor(() => storm.hits >= 4, 15_000);
    storm.cancel();
    const titles = ['VRAM critical on gpu-1 (c)', 'Ghost VRAM on gpu-1 (c)', 'Repair applied (c1)', 'Repair undone (c2)'];
    await expect.poll(() => titles.map((t) => stored(t).length), { timeout: 15_000 }).toEqual([1, 1, 1, 1]);
    // nothing is left to try: the queue is empty, so no later try can post a second copy
    await expect.poll(async () => notices.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed'), { timeout: 10_000 }).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      prioritized: 0,
      failed: 0,
    });

    expect(stored('VRAM critical on gpu-1 (c)').map((m) => m.id)).toEqual([first.response.id]);
    expect(stored('VRAM high on gpu-1 (c)')).toEqual([]);
    expect(env.fake.messages('alerts').map((m) => m.embeds[0].title)).toEqual(['VRAM critical on gpu-1 (c)', 'Ghost VRAM on gpu-1 (c)']);
    expect(env.fake.messages('log').map((m) => m.embeds[0].title)).toEqual(['Repair applied (c1)', 'Repair undone (c2)']);
    // every notice was tried in the storm, and each created at most one message
    const writes = env.fake.calls.filter((c) => c.seq > mark && (isRoute(c, FakeRoute.channelPost) || isRoute(c, FakeRoute.channelEdit)));
    for (const title of titles) expect(writes.filter((c) => titleOf(c) === title && c.injected).length, title).toBeGreaterThanOrEqual(1);
    const created = writes.filter((c) => isRoute(c, FakeRoute.channelPost) && (c.status === 200 || c.note === 'processed') && c.note !== 'nonce-deduplicated');
    expect(created.map(titleOf).sort()).toEqual(['Ghost VRAM on gpu-1 (c)', 'Repair applied (c1)', 'Repair undone (c2)']);
    expect(logged(/notice not delivered yet; will retry/)).toBe(true);
  });
});
