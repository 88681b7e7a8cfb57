/**
 * `labops bot` as a real child process with a Discord token, logged into the fake Discord, with a
 * real worker and Redis: slash commands, autocomplete, denials, the 10062 and 15-minute fallbacks,
 * alerts and the log through the durable notify queue, and the gateway closing. One bot for the
 * whole file (the tests run in order); the last test ends it with a fatal close code.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import { heading, text, type Reply } from '../src/core/reply.js';
import { silentLogger } from '../src/core/logger.js';
import { Notifier } from '../src/queue/notice-queue.js';
import { CliProcess, runCli, startWorkerProcess } from './support/cli.js';
import { IDS, logLines, startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { REDIS_URL } from './support/env.js';
import type { RecordedCall } from './support/fake-discord/index.js';

const EPHEMERAL = 64;

let env: DiscordLab;
let worker: CliProcess;
let bot: CliProcess;
let deploy: { code: number | null; stdout: string; stderr: string };
let redis: Redis;
let notifier: Notifier;

beforeAll(async () => {
  env = await startDiscordLab();
  deploy = await runCli(['deploy-commands', '--guild', IDS.guild], env.botEnv);
  worker = await startWorkerProcess(env.lab);
  bot = new CliProcess(['bot'], env.botEnv);
  await bot.waitFor(/"msg":"Discord ready"/, { stream: 'stderr', timeoutMs: 20_000 });
  redis = new Redis(REDIS_URL);
  notifier = new Notifier(redis, env.lab.prefix, silentLogger());
});

afterAll(async () => {
  if (process.env.SHOW_BOT_LOG) console.log(bot?.stderr, env.fake.describeCalls(80));
  await notifier?.close();
  redis?.disconnect();
  await bot?.stop();
  await worker?.stop();
  await env?.close();
});

const isFinalStatus = (c: RecordedCall) => c.status === 200 && c.message?.embeds?.[0]?.title === 'Status of gpu-1';

describe('labops bot on Discord', () => {
  it('deploy-commands registers every command by one bulk overwrite', () => {
    expect(deploy.code, deploy.stderr).toBe(0);
    const names = commands.map((c) => c.name);
    expect(deploy.stdout).toContain(`Registered ${names.length} slash commands in guild ${IDS.guild}: ${names.map((n) => `/${n}`).join(' ')}`);
    const puts = env.fake.calls.filter((c) => c.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ route: '/applications/:app/guilds/:guild/commands', status: 200, headers: { authorization: `Bot ${env.fake.token}` } });
    const registered = env.fake.commands();
    expect(registered.map((c) => c.name)).toEqual(names);
    expect(registered.find((c) => c.name === 'status')?.options).toEqual([{ type: 3, name: 'host', description: 'only this host', required: false, autocomplete: true, max_length: 100 }]);
  });

  it('/status: deferred at once, then one message edited to the final embeds, nothing pinged', async () => {
    const cmd = env.fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops' });
    const callback = await cmd.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 5 } });
    expect(callback.body.data?.flags ?? 0).toBe(0);
    const final = await cmd.waitForEdit(isFinalStatus, 15_000);
    const embeds = final.message.embeds;
    expect(embeds[1].title).toMatch(/^gpu-1 — worker v\d+\.\d+\.\d+ up/);
    expect(embeds[1].fields.map((f: { name: string }) => f.name)).toContain('GPU');
    expect(embeds.at(-1).description).toMatch(/chat-hermes-3-llama-3\.1-8b +chat +script +stopped/);
    expect(final.message.allowed_mentions).toEqual({ parse: [] });
    // every write of this interaction went to the one original message
    const writes = cmd.calls().filter((c) => c.method !== 'POST' || !c.route.endsWith('/callback'));
    expect(writes.every((c) => c.method === 'PATCH' && c.route.endsWith('/messages/@original'))).toBe(true);
    expect(cmd.original().embeds[0].title).toBe('Status of gpu-1');
    expect(cmd.original().flags & EPHEMERAL).toBe(0);
  });

  it('a member without a labops role is refused privately (a server administrator too)', async () => {
    for (const user of ['bob', 'sam']) {
      const cmd = env.fake.slashCommand({ name: 'status', user, channel: 'ops' });
      const callback = await cmd.waitForCallback();
      expect(callback).toMatchObject({ status: 204, body: { type: 5, data: { flags: EPHEMERAL } } });
      const edit = await cmd.waitForEdit((c) => c.status === 200);
      expect(edit.message.embeds[0].title).toBe('You have no labops role, and may not run /status: it needs viewer.');
      expect(cmd.original().flags & EPHEMERAL).toBe(EPHEMERAL);
    }
  });

  it('autocomplete of a host option on /models: from the inventory, nothing for a caller who may not run it', async () => {
    // /models has no model option; the lifecycle commands (/start) bring one: see discord-confirm.test.ts for model choices
    const ac = env.fake.autocomplete({ name: 'models', user: 'alice', focused: 'host', value: 'gpu' });
    expect(await ac.waitForCallback()).toMatchObject({ status: 204, body: { type: 8, data: { choices: [{ name: 'gpu-1', value: 'gpu-1' }] } } });
    const none = env.fake.autocomplete({ name: 'models', user: 'alice', focused: 'host', value: 'tpu' });
    expect((await none.waitForCallback()).body.data.choices).toEqual([]);
    const denied = env.fake.autocomplete({ name: 'models', user: 'bob', focused: 'host', value: 'gpu' });
    expect((await denied.waitForCallback()).body.data.choices).toEqual([]);
  });

  it('the lifecycle commands are registered: /stop is mutating, /start autocompletes its model', () => {
    expect(commands.find((c) => c.name === 'stop')?.mutating).toBe(true);
    expect((commands.find((c) => c.name === 'start')?.options as Record<string, { autocomplete?: string }>).model?.autocomplete).toBe('model');
  });

  it('a mutating command from commands/ (/stop) is refused in a DM', async () => {
    const dm = env.fake.dm({ name: 'stop', user: 'olga', options: { model: 'chat-hermes' } });
    expect(await dm.waitForCallback()).toMatchObject({ status: 204, body: { type: 5 } });
    expect((await dm.waitForEdit((c) => c.status === 200)).message.embeds[0].title).toBe('/stop changes the lab and is not run in direct messages.');
  });

  it('autocomplete of the model option of /start: names and aliases, only for operators', async () => {
    const ac = env.fake.autocomplete({ name: 'start', user: 'olga', channel: 'ops', focused: 'model', value: 'herm' });
    expect((await ac.waitForCallback()).body.data.choices).toEqual([{ name: 'chat-hermes-3-llama-3.1-8b (chat-hermes)', value: 'chat-hermes-3-llama-3.1-8b' }]);
    const viewer = env.fake.autocomplete({ name: 'start', user: 'alice', channel: 'ops', focused: 'model', value: 'herm' });
    expect((await viewer.waitForCallback()).body.data.choices).toEqual([]);
  });

  it('an interaction acknowledged too late (10062) is logged at warn and its result posted to the channel', async () => {
    const mark = env.fake.mark();
    const late = env.fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops', ageMs: 3_500 });
    expect(await late.waitForCallback()).toMatchObject({ status: 404, response: { code: 10062 } });
    const post = await env.fake.waitFor((c) => c.seq > mark && c.method === 'POST' && c.route === '/channels/:channel/messages' && c.status === 200, 5_000);
    expect(post.params.channel).toBe(IDS.channels.ops);
    expect(post.body.content).toContain(`/status asked by <@${IDS.users.alice}>`);
    expect(post.body.allowed_mentions).toEqual({ parse: [] });
    const messageId = post.response.id;
    await expect.poll(() => env.fake.message(messageId)?.embeds?.[0]?.title, { timeout: 15_000 }).toBe('Status of gpu-1');
    expect(env.fake.message(messageId).mentions).toEqual([]);
    await bot.waitFor(/"level":40[^\n]*"code":10062[^\n]*interaction expired before the bot acknowledged it/, { stream: 'stderr' });
  });

  it('a reply that outlives the interaction token (50027) goes on in a channel message, edited', async () => {
    env.fake.settings.tokenLifetimeMs = 0;
    try {
      const mark = env.fake.mark();
      const cmd = env.fake.slashCommand({ name: 'status', user: 'olga', channel: 'ops' });
      expect(await cmd.waitForCallback()).toMatchObject({ status: 204 });
      expect(await cmd.waitForEdit()).toMatchObject({ status: 401, response: { code: 50027 } });
      const post = await env.fake.waitFor((c) => c.seq > mark && c.method === 'POST' && c.route === '/channels/:channel/messages' && c.status === 200, 5_000);
      const messageId = post.response.id;
      await expect.poll(() => env.fake.message(messageId)?.embeds?.[0]?.title, { timeout: 15_000 }).toBe('Status of gpu-1');
      // one channel message, edited: no second post
      const posts = env.fake.calls.filter((c) => c.seq > mark && c.method === 'POST' && c.route === '/channels/:channel/messages');
      expect(posts).toHaveLength(1);
      await bot.waitFor(/the interaction token no longer works; continuing in a channel message/, { stream: 'stderr' });
    } finally {
      env.fake.settings.tokenLifetimeMs = 15 * 60_000;
    }
  });

  it('an alert reaches the alert channel through the notify queue, with no mentions; the same key edits it', async () => {
    const alert = (title: string, tone: Reply['tone']): Reply => ({ outcome: 'ok', tone, title, blocks: [heading('GPU 0'), text('@everyone 96 % of 80 GiB in use')] });
    const mark = env.fake.mark();
    await notifier.post('alert', alert('VRAM high on gpu-1', 'warn'), { key: 'gpu-1:gpu0:vram-high' });
    const post = await env.fake.waitFor((c) => c.seq > mark && c.route === '/channels/:channel/messages' && c.status === 200, 10_000);
    expect(post.params.channel).toBe(IDS.channels.alerts);
    expect(post.body).toMatchObject({ allowed_mentions: { parse: [] }, enforce_nonce: true });
    expect(post.body.nonce.length).toBeLessThanOrEqual(25);
    expect(post.body.embeds.map((e: { title: string }) => e.title)).toEqual(['VRAM high on gpu-1', 'GPU 0']);
    expect(env.fake.message(post.response.id)).toMatchObject({ mention_everyone: false, mentions: [], mention_roles: [] });

    await notifier.post('alert', alert('VRAM back to normal on gpu-1', 'ok'), { key: 'gpu-1:gpu0:vram-high' });
    const edit = await env.fake.waitFor((c) => c.seq > post.seq && c.method === 'PATCH' && c.route === '/channels/:channel/messages/:message', 10_000);
    expect(edit.params).toMatchObject({ channel: IDS.channels.alerts, message: post.response.id });
    expect(env.fake.messages('alerts').map((m) => m.embeds[0].title)).toEqual(['VRAM back to normal on gpu-1']);
  });

  it('a 429 on a log notice delays it (RetryLater) and it is delivered once', async () => {
    env.fake.failNext('POST /channels/:channel/messages', 429, { retryAfter: 1 });
    const title = 'Repair applied: provider of 3 models normalised';
    await notifier.post('log', { outcome: 'ok', tone: 'ok', title, blocks: [] });
    await expect.poll(() => env.fake.messages('log').filter((m) => m.embeds[0]?.title === title).length, { timeout: 10_000 }).toBe(1);
    const tries = env.fake.calls.filter((c) => c.body?.embeds?.[0]?.title === title);
    expect(tries.map((c) => [c.status, c.injected])).toEqual([
      [429, true],
      [200, false],
    ]);
    expect(tries[1]!.time - tries[0]!.time).toBeGreaterThanOrEqual(1_000);
    expect(tries[1]!.body.nonce).toBe(tries[0]!.body.nonce);
    await bot.waitFor(/notice not delivered yet; will retry/, { stream: 'stderr' });
  });

  it('a Discord 5xx on a notice delays it too; delivered once', async () => {
    env.fake.failNext('POST /channels/:channel/messages', 502);
    const title = 'Repair undone: LiteLLM_ProxyModelTable restored';
    await notifier.post('log', { outcome: 'ok', tone: 'ok', title, blocks: [] });
    await expect.poll(() => env.fake.messages('log').filter((m) => m.embeds[0]?.title === title).length, { timeout: 10_000 }).toBe(1);
    const tries = env.fake.calls.filter((c) => c.body?.embeds?.[0]?.title === title);
    expect(tries.map((c) => c.status)).toEqual([502, 200]);
    expect(tries[1]!.time - tries[0]!.time).toBeGreaterThanOrEqual(1_900);
  });

  it('a resumable gateway close is logged and resumed; the bot keeps answering', async () => {
    const from = bot.stderr.length;
    env.fake.closeGateway(4000);
    await bot.waitFor(/Discord gateway connection lost; reconnecting/, { stream: 'stderr', from });
    await bot.waitFor(/Discord gateway session resumed/, { stream: 'stderr', from });
    const cmd = env.fake.slashCommand({ name: 'help', user: 'alice', channel: 'ops' });
    const edit = await cmd.waitForEdit((c) => c.status === 200);
    expect(edit.message.embeds[0].title).toBe('Commands for alice (viewer)');
  });

  it('an unrecoverable close code (4004) ends the bot with a non-zero exit', async () => {
    env.fake.closeGateway(4004, 'Authentication failed.');
    const code = await bot.wait();
    expect(code).toBe(1);
    const fatal = logLines(bot.stderr).find((l) => l.code === 4004);
    expect(fatal).toMatchObject({ level: 50 });
    expect(bot.stderr).not.toContain(env.fake.token);
  });
});
