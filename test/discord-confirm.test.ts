/**
 * Confirmation and action buttons, DMs, channels, model autocomplete, long output and the token
 * fallback, with the bot in-process (the real startDiscord, the real discord.js Client, real
 * Redis) and a small test-only registry: no mutating command exists in commands/ yet. When the
 * lifecycle commands land (/start, /stop), the model autocomplete and confirmation tests should
 * move to them in discord-bot.test.ts.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import { commands } from '../commands/index.js';
import type { RunningChat } from '../src/bot/chat.js';
import type { AnyCommand } from '../src/chat/command.js';
import { defineCommand } from '../src/bot/define-command.js';
import { startDiscord } from '../src/chat/discord/bot.js';
import { CommandRegistry } from '../src/chat/registry.js';
import { declined, info, ok, table, type Reply } from '../src/core/reply.js';
import { loadConfig } from '../src/config/load.js';
import { IDS, logLines, startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import type { InteractionHandle, RecordedCall } from './support/fake-discord/index.js';

const EPHEMERAL = 64;

/** What the test commands did, in order. */
const applied: string[] = [];
function gate(): { promise: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
let chattyGates = { burst: gate(), finish: gate() };
let releaseSlow: () => void = () => undefined;

const testCommands: AnyCommand[] = [
  defineCommand({
    name: 'drop',
    description: 'Test: a mutating command that asks to confirm',
    capability: 'operator',
    mutating: true,
    options: { model: { type: 'string', description: 'model', autocomplete: 'model', required: true } },
    async execute({ ctx, options, caller, confirm, progress }): Promise<Reply> {
      const ref = ctx.inventory.resolveModel(options.model);
      progress(`looking at ${ref.name}`);
      if (!(await confirm({ title: `Drop ${ref.name}?`, detail: 'It frees 9.3 GiB of VRAM.', confirmLabel: 'Drop', danger: true }))) return declined(`Not dropped: ${ref.name}.`);
      applied.push(`drop ${ref.name} as ${caller.name}`);
      return ok(`Dropped ${ref.name}`, [], { actions: [{ label: 'Peek', command: 'peek', options: { model: ref.name } }] });
    },
  }),
  defineCommand({
    name: 'wipe',
    description: 'Test: a two-person confirmation',
    capability: 'operator',
    mutating: true,
    options: {},
    async execute({ caller, confirm }): Promise<Reply> {
      if (!(await confirm({ title: 'Wipe the lab?', confirmLabel: 'Wipe', danger: true }))) return declined('Not wiped.');
      applied.push(`wipe as ${caller.name}`);
      return ok('Wiped');
    },
  }),
  defineCommand({
    name: 'peek',
    description: 'Test: a read-only command',
    capability: 'viewer',
    options: { model: { type: 'string', description: 'model', autocomplete: 'model' } },
    async execute({ caller, options }): Promise<Reply> {
      return info(`Peek ${options.model ?? 'all'} by ${caller.name}`);
    },
  }),
  defineCommand({
    name: 'big',
    description: 'Test: a reply longer than a message',
    capability: 'viewer',
    options: {},
    async execute(): Promise<Reply> {
      const rows = Array.from({ length: 400 }, (_, i) => [`model-${i}`, 'chat', 'running', `${i * 10} MiB`]);
      return info('400 models', [table(['model', 'type', 'state', 'VRAM'], rows)], { hint: 'Narrow it with host:' });
    },
  }),
  defineCommand({
    name: 'chatty',
    description: 'Test: many progress lines',
    capability: 'viewer',
    options: {},
    async execute({ progress }): Promise<Reply> {
      progress('step 1 of 20');
      await chattyGates.burst.promise;
      for (let i = 2; i <= 20; i++) progress(`step ${i} of 20`);
      await chattyGates.finish.promise;
      return ok('Chatty job done');
    },
  }),
  defineCommand({
    name: 'slow',
    description: 'Test: runs until the test lets it finish',
    capability: 'viewer',
    options: {},
    async execute({ progress }): Promise<Reply> {
      progress('step 1 of 2');
      await new Promise<void>((resolve) => (releaseSlow = resolve));
      progress('step 2 of 2');
      return ok('Slow job done');
    },
  }),
];

let env: DiscordLab;
let ctx: OwnedBotContext;
let chat: RunningChat;
const logs: string[] = [];

async function startBot(): Promise<RunningChat> {
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) }));
  return await startDiscord({ ...ctx, commands: new CommandRegistry(testCommands) }, logger, { sweepIntervalMs: 200, drainMs: 2_000 });
}

beforeAll(async () => {
  env = await startDiscordLab({ discord: { confirmTimeout: '3s', twoPersonConfirm: ['wipe'] } });
  const { config } = loadConfig(env.lab.configFile, env.botEnv);
  ctx = await createBotContext(config, pino({ level: 'silent' }), commands);
  chat = await startBot();
});

afterAll(async () => {
  await chat?.close();
  await ctx?.close();
  await env?.close();
});

const buttonsOf = (message: { components?: { components: { custom_id: string; disabled?: boolean; label: string }[] }[] }) => (message?.components ?? []).flatMap((r) => r.components);
const ok200 = (c: RecordedCall) => c.status === 200;

/** /drop model:… as `user`, up to its prompt; returns the handle and the prompt's custom ids. */
async function askToDrop(user = 'olga', model = 'chat-hermes'): Promise<{ cmd: InteractionHandle; confirmId: string; cancelId: string; messageId: string }> {
  const cmd = env.fake.slashCommand({ name: 'drop', user, channel: 'ops', options: { model } });
  expect(await cmd.waitForCallback()).toMatchObject({ status: 204, body: { type: 5 } });
  const prompt = await cmd.waitForEdit((c) => ok200(c) && buttonsOf(c.message).length === 2);
  const [confirm, cancel] = buttonsOf(prompt.message);
  return { cmd, confirmId: confirm!.custom_id, cancelId: cancel!.custom_id, messageId: prompt.response.id };
}

describe('confirmation buttons', () => {
  it('shows Confirm/Cancel on the reply; someone else is refused privately; the invoker applies it once', async () => {
    const { cmd, confirmId, messageId } = await askToDrop();
    expect(confirmId).toMatch(/^drop:confirm:[\w-]{16}$/);
    const prompt = cmd.original();
    expect(prompt.embeds[0]).toMatchObject({ title: '⚠ Drop chat-hermes-3-llama-3.1-8b?' });
    expect(prompt.embeds[0].description).toContain(`Only <@${IDS.users.olga}> can confirm.`);
    expect(buttonsOf(prompt).map((b) => b.label)).toEqual(['Drop', 'Cancel']);

    const other = env.fake.pressButton({ customId: confirmId, user: 'oscar' });
    expect(await other.waitForCallback()).toMatchObject({ status: 204, body: { type: 6 } });
    const refusal = await other.waitForFollowUp();
    expect(refusal.response.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refusal.message.embeds[0].description).toBe(`Only <@${IDS.users.olga}>, who asked for /drop, can confirm it.`);
    expect(buttonsOf(env.fake.message(messageId))).toHaveLength(2);
    expect(applied).toEqual([]);

    const mine = env.fake.pressButton({ customId: confirmId, user: 'olga' });
    expect(await mine.waitForCallback()).toMatchObject({ status: 204, body: { type: 6 } });
    const result = await mine.waitForEdit((c) => ok200(c) && c.message.embeds?.[0]?.title === 'Dropped chat-hermes-3-llama-3.1-8b');
    expect(result.response.id).toBe(messageId);
    expect(applied).toEqual(['drop chat-hermes-3-llama-3.1-8b as olga']);
    // the follow-up action became a button, stored in Redis
    const [peek] = buttonsOf(env.fake.message(messageId));
    expect(peek).toMatchObject({ label: 'Peek' });
    expect(peek!.custom_id).toMatch(/^peek:run:[\w-]{16}$/);
    expect(await ctx.redis.exists(`${env.lab.prefix}:discord:action:${peek!.custom_id.split(':')[2]}`)).toBe(1);

    // the old button, pressed again (say from a stale client): nothing happens twice
    const again = env.fake.pressButton({ customId: confirmId, user: 'olga', message: messageId });
    expect((await again.waitForFollowUp()).message.embeds[0].description).toMatch(/no longer pending/);
    expect(applied).toHaveLength(1);
  });

  it('two presses at the same moment apply it once (the claim is atomic)', async () => {
    applied.length = 0;
    const { confirmId, messageId } = await askToDrop();
    const a = env.fake.pressButton({ customId: confirmId, user: 'olga', message: messageId });
    const b = env.fake.pressButton({ customId: confirmId, user: 'olga', message: messageId });
    await Promise.all([a.waitForCallback(), b.waitForCallback()]);
    await expect.poll(() => env.fake.message(messageId).embeds[0]?.title).toBe('Dropped chat-hermes-3-llama-3.1-8b');
    const loser = await Promise.race([a.waitForFollowUp(undefined, 3_000), b.waitForFollowUp(undefined, 3_000)]);
    expect(loser.message.embeds[0].description).toMatch(/answered this confirmation first|no longer pending/);
    expect(applied).toEqual(['drop chat-hermes-3-llama-3.1-8b as olga']);
  });

  it('Cancel runs it again declined: the command says what it did not do', async () => {
    applied.length = 0;
    const { cancelId, messageId } = await askToDrop();
    const press = env.fake.pressButton({ customId: cancelId, user: 'olga' });
    await press.waitForEdit((c) => ok200(c) && c.message.embeds?.[0]?.title === 'Not dropped: chat-hermes-3-llama-3.1-8b.');
    expect(buttonsOf(env.fake.message(messageId))).toEqual([]);
    expect(applied).toEqual([]);
  });

  it('a two-person command: not the invoker, not a viewer, but a second operator', async () => {
    applied.length = 0;
    const cmd = env.fake.slashCommand({ name: 'wipe', user: 'olga', channel: 'ops' });
    const prompt = await cmd.waitForEdit((c) => ok200(c) && buttonsOf(c.message).length === 2);
    expect(prompt.message.embeds[0].description).toContain(`A second member with the operator role (not <@${IDS.users.olga}>) must confirm.`);
    const confirmId = buttonsOf(prompt.message)[0]!.custom_id;

    const self = env.fake.pressButton({ customId: confirmId, user: 'olga' });
    expect((await self.waitForFollowUp()).message.embeds[0].description).toMatch(/needs a second person/);
    const viewer = env.fake.pressButton({ customId: confirmId, user: 'alice' });
    expect((await viewer.waitForFollowUp()).message.embeds[0].description).toBe('Only a member with the operator role can confirm /wipe.');
    expect(applied).toEqual([]);

    const second = env.fake.pressButton({ customId: confirmId, user: 'oscar' });
    await second.waitForEdit((c) => ok200(c) && c.message.embeds?.[0]?.title === 'Wiped');
    expect(applied).toEqual(['wipe as olga']);
  });

  it('expires after discord.confirmTimeout: buttons disabled and it says so; a late press does nothing', async () => {
    applied.length = 0;
    const { confirmId, messageId } = await askToDrop();
    const edit = await env.fake.waitFor((c) => c.method === 'PATCH' && c.route === '/channels/:channel/messages/:message' && c.params.message === messageId, 6_000);
    expect(edit.status).toBe(200);
    const closed = env.fake.message(messageId);
    expect(closed.embeds[0].description).toMatch(/^It frees 9\.3 GiB of VRAM\.\n\nExpired: not confirmed within 3 s\./);
    expect(buttonsOf(closed).every((b) => b.disabled)).toBe(true);
    const late = env.fake.pressButton({ customId: confirmId, user: 'olga', message: messageId });
    expect((await late.waitForFollowUp()).message.embeds[0].description).toMatch(/no longer pending/);
    expect(applied).toEqual([]);
  });
});

describe('where mutating commands run', () => {
  it('refused in a DM (the role comes from the lab guild); a read-only command works there', async () => {
    const dm = env.fake.dm({ name: 'drop', user: 'olga', options: { model: 'chat-hermes' } });
    expect(await dm.waitForCallback()).toMatchObject({ status: 204, body: { type: 5 } });
    const edit = await dm.waitForEdit(ok200);
    expect(edit.message.embeds[0].title).toBe('/drop changes the lab and is not run in direct messages.');
    expect(env.fake.calls.some((c) => c.route === '/guilds/:guild/members/:user' && c.params.user === IDS.users.olga)).toBe(true);

    const peek = env.fake.dm({ name: 'peek', user: 'alice', options: { model: 'chat-hermes' } });
    expect((await peek.waitForEdit(ok200)).message.embeds[0].title).toBe('Peek chat-hermes by alice');
  });

  it('refused, privately, outside discord.commandChannelIds', async () => {
    const cmd = env.fake.slashCommand({ name: 'drop', user: 'olga', channel: 'random', options: { model: 'chat-hermes' } });
    expect(await cmd.waitForCallback()).toMatchObject({ body: { type: 5, data: { flags: EPHEMERAL } } });
    const edit = await cmd.waitForEdit(ok200);
    expect(edit.message.embeds[0]).toMatchObject({ title: "/drop changes the lab and runs only in the lab's command channels.", footer: { text: `→ Use <#${IDS.channels.ops}>.` } });
  });
});

describe('action buttons and autocomplete', () => {
  it('a follow-up action runs as whoever presses it, with their own permissions', async () => {
    const peekId = buttonsOf(env.fake.messages('ops').find((m) => buttonsOf(m).some((b) => b.custom_id.startsWith('peek:run:')))!).find((b) => b.custom_id.startsWith('peek:run:'))!.custom_id;
    const bob = env.fake.pressButton({ customId: peekId, user: 'bob' });
    expect(await bob.waitForCallback()).toMatchObject({ body: { type: 5, data: { flags: EPHEMERAL } } });
    expect((await bob.waitForEdit(ok200)).message.embeds[0].title).toMatch(/^You have no labops role, and may not run \/peek/);
    const alice = env.fake.pressButton({ customId: peekId, user: 'alice' });
    expect(await alice.waitForCallback()).toMatchObject({ body: { type: 5 } });
    expect((await alice.waitForEdit(ok200)).message.embeds[0].title).toBe('Peek chat-hermes-3-llama-3.1-8b by alice');
    expect(alice.original().flags & EPHEMERAL).toBe(0);
  });

  it('model choices from the inventory, only for a caller who may run the command', async () => {
    const ac = env.fake.autocomplete({ name: 'drop', user: 'olga', channel: 'ops', focused: 'model', value: 'herm' });
    expect((await ac.waitForCallback()).body.data.choices).toEqual([{ name: 'chat-hermes-3-llama-3.1-8b (chat-hermes)', value: 'chat-hermes-3-llama-3.1-8b' }]);
    const all = env.fake.autocomplete({ name: 'peek', user: 'alice', channel: 'ops', focused: 'model', value: '' });
    expect((await all.waitForCallback()).body.data.choices.map((c: { value: string }) => c.value)).toEqual(['chat-hermes-3-llama-3.1-8b', 'embeddings-default']);
    const viewer = env.fake.autocomplete({ name: 'drop', user: 'alice', channel: 'ops', focused: 'model', value: 'herm' });
    expect((await viewer.waitForCallback()).body.data.choices).toEqual([]);
    const elsewhere = env.fake.autocomplete({ name: 'drop', user: 'olga', channel: 'random', focused: 'model', value: 'herm' });
    expect((await elsewhere.waitForCallback()).body.data.choices).toEqual([]);
  });
});

describe('errors and progress', () => {
  it('an error found after a public acknowledgement is told privately: the reply is replaced by an ephemeral one', async () => {
    const cmd = env.fake.slashCommand({ name: 'drop', user: 'olga', channel: 'ops', options: { model: 'nonesuch' } });
    expect(await cmd.waitForCallback()).toMatchObject({ body: { type: 5 } });
    await cmd.waitForCall((c) => c.method === 'DELETE' && c.route.endsWith('/messages/@original') && c.status === 204);
    const followUp = await cmd.waitForFollowUp();
    expect(followUp.response.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(followUp.message.embeds[0].title).toBe('Unknown model "nonesuch".');
    expect(followUp.message.embeds[0].footer.text).toMatch(/^→ Closest: chat-hermes-3-llama-3\.1-8b/);
    expect(env.fake.messages('ops').some((m) => m.embeds?.[0]?.title === 'Unknown model "nonesuch".' && !(m.flags & EPHEMERAL))).toBe(false);
  });

  it('progress edits one message, at most once per 1.5 s, newest line first', async () => {
    chattyGates = { burst: gate(), finish: gate() };
    const cmd = env.fake.slashCommand({ name: 'chatty', user: 'alice', channel: 'ops' });
    const first = await cmd.waitForEdit((c) => ok200(c) && c.message.content === '⏳ step 1 of 20');
    // a burst of 19 lines: one edit, with the newest, when the interval since the first has passed
    chattyGates.burst.open();
    const newest = await cmd.waitForEdit((c) => ok200(c) && c.message.content === '⏳ step 20 of 20');
    expect(newest.time - first.time).toBeGreaterThanOrEqual(1_450);
    chattyGates.finish.open();
    await cmd.waitForEdit((c) => ok200(c) && c.message.embeds?.[0]?.title === 'Chatty job done');
    const edits = cmd.calls().filter((c) => c.method === 'PATCH');
    const progress = edits.filter((c) => c.message.content?.startsWith('⏳'));
    expect(progress.map((c) => c.message.content)).toEqual(['⏳ step 1 of 20', '⏳ step 20 of 20']);
    expect(edits.every((c) => c.route.endsWith('/messages/@original'))).toBe(true);
    expect(edits.at(-1)!.message.content).toBe('');
  });
});

describe('long output and long jobs', () => {
  it('a reply too long for a message keeps what fits inline and attaches the whole as .txt', async () => {
    const cmd = env.fake.slashCommand({ name: 'big', user: 'alice', channel: 'ops' });
    const edit = await cmd.waitForEdit(ok200);
    expect(edit.headers.contentType).toMatch(/^multipart\/form-data/);
    expect(edit.files.map((f) => f.name)).toEqual(['big.txt']);
    const whole = edit.files[0]!.data.toString();
    expect(whole.split('\n').filter((l) => /^model-\d+ /.test(l))).toHaveLength(400);
    const embed = edit.message.embeds[0];
    expect(embed.title).toBe('400 models');
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.description).toMatch(/```\n… \d+ more lines$/);
    expect(embed.footer.text).toMatch(/→ Narrow it with host:\nThe whole reply \(\d+ lines\) is attached as big\.txt\./);
    expect(cmd.original().attachments[0]).toMatchObject({ filename: 'big.txt' });
  });

  it('before the 15-minute token runs out, the reply moves to a channel message that is edited to the end', async () => {
    // The bot reads an interaction's age from its snowflake: with the fake's clock 14 min behind,
    // a new interaction looks 14 min old, 2 s before the bot stops trusting its token.
    const behind = 14 * 60_000 - 2_000;
    env.fake.clock.advance(-behind);
    try {
      const mark = env.fake.mark();
      const cmd = env.fake.slashCommand({ name: 'slow', user: 'alice', channel: 'ops' });
      expect(await cmd.waitForCallback()).toMatchObject({ status: 204 });
      const post = await env.fake.waitFor((c) => c.seq > mark && c.method === 'POST' && c.route === '/channels/:channel/messages' && ok200(c), 6_000);
      expect(post.body.content).toContain(`/slow asked by <@${IDS.users.alice}>`);
      expect(post.body.content).toContain('⏳ step 1 of 2');
      const pointer = await cmd.waitForEdit((c) => ok200(c) && /Continued in https:\/\/discord\.com\/channels\//.test(c.message.embeds?.[0]?.description ?? ''));
      expect(pointer.message.embeds[0].description).toContain(`/${IDS.guild}/${IDS.channels.ops}/${post.response.id}`);
      releaseSlow();
      await expect.poll(() => env.fake.message(post.response.id).embeds[0]?.title).toBe('Slow job done');
      const webhookCalls = cmd.calls().filter((c) => c.route.startsWith('/webhooks/'));
      expect(webhookCalls.at(-1)?.seq).toBe(pointer.seq);
    } finally {
      env.fake.clock.advance(behind);
    }
  });
});

describe('restarts', () => {
  it('a confirmation asked before a restart is answered after it (state in Redis)', async () => {
    applied.length = 0;
    const { confirmId, messageId } = await askToDrop();
    await chat.close();
    chat = await startBot();
    const press = env.fake.pressButton({ customId: confirmId, user: 'olga', message: messageId });
    await press.waitForEdit((c) => ok200(c) && c.message.embeds?.[0]?.title === 'Dropped chat-hermes-3-llama-3.1-8b', 8_000);
    expect(applied).toEqual(['drop chat-hermes-3-llama-3.1-8b as olga']);
    // every message the bot wrote in this file carried empty allowed_mentions
    for (const write of env.fake.messageWrites()) expect(write.message.allowed_mentions, `${write.method} ${write.path}`).toEqual({ parse: [] });
    expect(logLines(logs.join('')).filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
