/**
 * The fake Discord, driven by the real discord.js Client: if these pass, end-to-end tests of the
 * bot can trust what the fake records. One Client logs in once for the whole file (discord.js
 * allows one IDENTIFY per 5 s); the tests run in order and the last ones close things down.
 */
import { once } from 'node:events';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  Routes,
  type ChatInputCommandInteraction,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeRoute, isRoute, startFakeDiscord, type FakeDiscord, type RecordedCall } from './support/fake-discord/index.js';

const APPLICATION_ID = '1310000000000000001';
const GUILD_ID = '1310000000000000002';

const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

let fake: FakeDiscord;
let client: Client;
let ops: TextChannel;
let baselineTcp = 0;
const clientErrors: unknown[] = [];
const shardErrors: Error[] = [];
/** What the Client does with the next interactions; each test sets it. */
let onInteraction: (interaction: Interaction) => Promise<void> = async () => undefined;

function nextClientError(): Promise<unknown> {
  return new Promise((resolve) => client.once(Events.Error, resolve));
}

beforeAll(async () => {
  baselineTcp = tcpHandles();
  fake = await startFakeDiscord({
    applicationId: APPLICATION_ID,
    guildId: GUILD_ID,
    channels: [{ name: 'ops' }, { name: 'alerts' }],
    roles: [{ name: 'operator' }, { name: 'admin', permissions: 8n }],
    users: [{ username: 'alice', roles: ['operator'] }, { username: 'bob' }],
    heartbeatIntervalMs: 1_000,
  });
  client = new Client({
    intents: [GatewayIntentBits.Guilds],
    partials: [Partials.Channel],
    rest: { api: fake.restUrl },
    allowedMentions: { parse: [] },
  });
  client.on(Events.Error, (error) => clientErrors.push(error));
  client.on(Events.ShardError, (error) => shardErrors.push(error));
  // Returning the promise lets discord.js (captureRejections) turn a rejection into an `error` event.
  client.on(Events.InteractionCreate, (interaction) => onInteraction(interaction));
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
  ops = client.channels.cache.get(fake.channelId('ops')) as TextChannel;
});

afterAll(async () => {
  await client?.destroy();
  await fake?.close();
});

describe('fake Discord with the real discord.js Client', () => {
  it('logs in: GET /gateway/bot, IDENTIFY → READY + GUILD_CREATE, heartbeats acknowledged', async () => {
    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.application?.id).toBe(APPLICATION_ID);
    const guild = client.guilds.cache.get(GUILD_ID);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.map((c) => c.name).sort()).toEqual(['alerts', 'ops']);
    expect(guild?.roles.cache.some((r) => r.name === 'operator')).toBe(true);
    expect(ops.type).toBe(ChannelType.GuildText);

    expect(fake.calls[0]).toMatchObject({ method: 'GET', route: '/gateway/bot', status: 200 });
    expect(fake.calls[0]?.headers.authorization).toBe(`Bot ${fake.token}`);
    const open = fake.gatewayLog.find((r) => r.kind === 'open');
    expect(open?.url).toBe('/gateway?v=10&encoding=json');
    const identify = fake.gatewayLog.find((r) => r.kind === 'in' && r.op === 2);
    expect(identify?.d).toMatchObject({ token: fake.token, intents: GatewayIntentBits.Guilds, shard: [0, 1] });
    expect(fake.gatewayLog.filter((r) => r.kind === 'out' && r.op === 0).map((r) => r.t)).toEqual(['READY', 'GUILD_CREATE']);
    await fake.waitForGateway((r) => r.kind === 'out' && r.op === 11, 3_000);
  });

  it('answers application.fetch() and registers guild commands with ids', async () => {
    const application = await client.application!.fetch();
    expect(application.installParams?.scopes).toContain('applications.commands');

    const commands = await client.application!.commands.set(
      [
        {
          name: 'status',
          description: 'Lab status',
          options: [
            { type: ApplicationCommandOptionType.String, name: 'host', description: 'GPU host', autocomplete: true },
            { type: ApplicationCommandOptionType.Integer, name: 'n', description: 'how many' },
            { type: ApplicationCommandOptionType.Boolean, name: 'verbose', description: 'more detail' },
          ],
        },
        { name: 'stop', description: 'Stop a model', options: [{ type: ApplicationCommandOptionType.String, name: 'model', description: 'model', required: true }] },
      ],
      GUILD_ID,
    );
    expect(commands.size).toBe(2);
    const put = await fake.waitFor((c) => c.method === 'PUT' && c.route === '/applications/:app/guilds/:guild/commands');
    expect(put.status).toBe(200);
    expect(put.body.map((c: { name: string }) => c.name)).toEqual(['status', 'stop']);
    expect(fake.commands().map((c) => c.id).sort()).toEqual([...commands.keys()].sort());

    // A second overwrite keeps the ids of commands with the same name, like Discord.
    const again = await client.application!.commands.set([{ name: 'status', description: 'Lab status, v2' }], GUILD_ID);
    expect([...again.keys()]).toEqual([commands.find((c) => c.name === 'status')!.id]);
    await client.application!.commands.set(
      [
        {
          name: 'status',
          description: 'Lab status',
          options: [
            { type: ApplicationCommandOptionType.String, name: 'host', description: 'GPU host', autocomplete: true },
            { type: ApplicationCommandOptionType.Integer, name: 'n', description: 'how many' },
            { type: ApplicationCommandOptionType.Boolean, name: 'verbose', description: 'more detail' },
          ],
        },
      ],
      GUILD_ID,
    );

    // Discord's validation: an upper-case name is refused with 50035.
    await expect(client.application!.commands.set([{ name: 'Status', description: 'x' }], GUILD_ID)).rejects.toMatchObject({ code: 50035, status: 400 });
  });

  it('a slash command answered with deferReply then editReply with an embed', async () => {
    const seen: Record<string, unknown> = {};
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      Object.assign(seen, {
        host: i.options.getString('host'),
        n: i.options.getInteger('n'),
        verbose: i.options.getBoolean('verbose'),
        inGuild: i.inGuild(),
        roles: i.member && 'cache' in i.member.roles ? [...i.member.roles.cache.values()].map((r) => r.name) : [],
        locale: i.locale,
      });
      await i.deferReply();
      await i.editReply({ embeds: [new EmbedBuilder().setTitle('Lab status').setDescription('gpu-1: 2 models running')] });
      seen.fetchedTitle = (await i.fetchReply()).embeds[0]?.title;
    };
    const cmd = fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops', options: { host: 'gpu-1', n: 3, verbose: true } });
    expect(cmd.payload).toMatchObject({ type: 2, entitlements: [], context: 0, guild_id: GUILD_ID, authorizing_integration_owners: { '0': GUILD_ID } });
    expect(cmd.payload.data.id).toBe(fake.commands().find((c) => c.name === 'status')?.id);

    const callback = await cmd.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 5 }, headers: { authorization: undefined } });
    const edit = await cmd.waitForEdit();
    expect(edit.status).toBe(200);
    expect(edit.path).toBe(`/api/v10/webhooks/${APPLICATION_ID}/${cmd.token}/messages/@original`);
    expect(edit.message.embeds[0]).toMatchObject({ title: 'Lab status', description: 'gpu-1: 2 models running' });
    expect(callback.seq).toBeLessThan(edit.seq);

    await cmd.waitForCall((c) => c.method === 'GET' && c.route.endsWith('/messages/@original'));
    await vi.waitFor(() => expect(seen.fetchedTitle).toBe('Lab status'));
    expect(seen).toMatchObject({ host: 'gpu-1', n: 3, verbose: true, inGuild: true, locale: 'en-US' });
    expect(seen.roles).toContain('operator');
    const original = cmd.original();
    expect(original.flags & MessageFlags.Loading).toBe(0);
    expect(original.embeds[0].title).toBe('Lab status');
    expect(fake.messages('ops').at(-1)?.id).toBe(original.id);
    expect(cmd.record).toMatchObject({ acknowledged: true, callbackType: 5 });
  });

  it('a slash command from a DM: user instead of member, channel of type 1 (needs Partials.Channel)', async () => {
    let channelType: ChannelType | undefined;
    let inGuild: boolean | undefined;
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      channelType = i.channel?.type;
      inGuild = i.inGuild();
      await i.reply({ content: 'status works in DMs', flags: MessageFlags.Ephemeral });
    };
    const cmd = fake.dm({ name: 'status', user: 'bob' });
    expect(cmd.payload.member).toBeUndefined();
    expect(cmd.payload).toMatchObject({ user: { username: 'bob' }, channel: { type: 1 }, context: 1, authorizing_integration_owners: { '0': '0' } });
    const callback = await cmd.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 4, data: { content: 'status works in DMs', flags: MessageFlags.Ephemeral } } });
    expect(channelType).toBe(ChannelType.DM);
    expect(inGuild).toBe(false);
    expect(cmd.original().channel_id).toBe(cmd.payload.channel.id);
  });

  it('autocomplete answered with respond()', async () => {
    let focused: unknown;
    onInteraction = async (i) => {
      if (!i.isAutocomplete()) return;
      focused = i.options.getFocused(true);
      await i.respond([
        { name: 'gpu-1', value: 'gpu-1' },
        { name: 'gpu-2', value: 'gpu-2' },
      ]);
    };
    const ac = fake.autocomplete({ name: 'status', user: 'alice', focused: 'host', value: 'gpu' });
    expect(ac.payload.data.options).toEqual([{ name: 'host', type: 3, value: 'gpu', focused: true }]);
    const callback = await ac.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 8, data: { choices: [{ name: 'gpu-1' }, { name: 'gpu-2' }] } } });
    expect(focused).toMatchObject({ name: 'host', value: 'gpu' });
    expect(ac.record.choices).toHaveLength(2);
  });

  it('a button press answered with update(), then an ephemeral follow-up', async () => {
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('stop:chat-hermes').setLabel('Stop').setStyle(ButtonStyle.Danger));
    const prompt = await ops.send({ content: 'Stop chat-hermes? It frees 6.1 GiB.', components: [row] });
    onInteraction = async (i) => {
      if (!i.isButton()) return;
      await i.update({ content: `Stopping chat-hermes (asked by ${i.user.username})`, components: [] });
      await i.followUp({ content: 'Stopped.', flags: MessageFlags.Ephemeral });
    };
    const press = fake.pressButton({ customId: 'stop:chat-hermes', user: 'alice' });
    expect(press.payload).toMatchObject({ type: 3, data: { custom_id: 'stop:chat-hermes', component_type: 2 }, message: { id: prompt.id } });
    const callback = await press.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 7 } });
    expect(fake.message(prompt.id)).toMatchObject({ content: 'Stopping chat-hermes (asked by alice)', components: [] });
    const followUp = await press.waitForFollowUp();
    expect(followUp).toMatchObject({ status: 200, query: { wait: 'true' }, response: { content: 'Stopped.', flags: MessageFlags.Ephemeral } });
    expect(press.record.followUpIds).toEqual([followUp.response.id]);
  });

  it('deferUpdate then editReply edits the component message; showModal is recorded', async () => {
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('apply:repair-1').setLabel('Apply').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId('explain:repair-1').setLabel('Why?').setStyle(ButtonStyle.Secondary),
    );
    const plan = await ops.send({ content: 'Repair plan: 3 rows', components: [row] });
    onInteraction = async (i) => {
      if (!i.isButton()) return;
      if (i.customId.startsWith('apply:')) {
        await i.deferUpdate();
        await i.editReply({ content: 'Repair applied', components: [] });
      } else {
        await i.showModal({ custom_id: 'why:repair-1', title: 'Why?', components: [{ type: 1, components: [{ type: 4, custom_id: 'reason', label: 'Reason', style: 1 }] }] });
      }
    };
    const modal = fake.pressButton({ customId: 'explain:repair-1', user: 'alice' });
    expect(await modal.waitForCallback()).toMatchObject({ status: 204, body: { type: 9, data: { custom_id: 'why:repair-1', title: 'Why?' } } });
    expect(modal.record.modal.custom_id).toBe('why:repair-1');

    const apply = fake.pressButton({ customId: 'apply:repair-1', user: 'alice' });
    expect(await apply.waitForCallback()).toMatchObject({ status: 204, body: { type: 6 } });
    const edit = await apply.waitForEdit();
    expect(edit).toMatchObject({ status: 200, response: { id: plan.id, content: 'Repair applied' } });
    expect(fake.message(plan.id)).toMatchObject({ content: 'Repair applied', components: [] });
  });

  it('channel messages: edit, fetch, and GET /channels/:id', async () => {
    const sent = await ops.send('VRAM 71 %');
    const edited = await sent.edit('VRAM 93 %');
    expect(edited.editedTimestamp).not.toBeNull();
    const fetched = await ops.messages.fetch({ message: sent.id, force: true });
    expect(fetched.content).toBe('VRAM 93 %');
    const alerts = await client.channels.fetch(fake.channelId('alerts'), { force: true });
    expect(alerts?.type).toBe(ChannelType.GuildText);
    const routes = fake.calls.slice(-3).map((c) => `${c.method} ${c.route} ${c.status}`);
    expect(routes).toEqual(['PATCH /channels/:channel/messages/:message 200', 'GET /channels/:channel/messages/:message 200', 'GET /channels/:channel 200']);
  });

  it('global commands and any dispatch', async () => {
    const global = await client.application!.commands.set([{ name: 'help', description: 'What you may run' }]);
    expect(fake.commands('global').map((c) => c.id)).toEqual([...global.keys()]);
    expect(fake.calls.at(-1)).toMatchObject({ method: 'PUT', route: '/applications/:app/commands', status: 200 });

    const created = once(client, Events.GuildRoleCreate);
    expect(fake.dispatch('GUILD_ROLE_CREATE', { guild_id: GUILD_ID, role: fake.state.roleObject({ id: '1310000000000000099', name: 'on-call', position: 9 }) })).toBe(1);
    const [role] = await created;
    expect(role.name).toBe('on-call');
  });

  it('a second callback on one interaction answers 400 code 40060', async () => {
    let second: unknown;
    let replied: string | undefined;
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      const response = await i.reply({ content: 'first', withResponse: true });
      replied = response.resource?.message?.content;
      second = await i.client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 4, data: { content: 'second' } }, auth: false }).catch((error: unknown) => error);
    };
    const cmd = fake.slashCommand({ name: 'status', user: 'alice' });
    await cmd.waitForCall((c) => c.status === 400);
    await vi.waitFor(() => expect(second).toBeInstanceOf(DiscordAPIError));
    expect(second).toMatchObject({ status: 400, code: 40060 });
    expect(replied).toBe('first');
    expect(cmd.calls().map((c) => [c.status, c.query.with_response])).toEqual([
      [200, 'true'],
      [400, undefined],
    ]);
    expect(fake.messages('ops').filter((m) => m.content === 'second')).toHaveLength(0);
  });

  it('a callback after the 3 s window gets 404 code 10062, and the Client emits error instead of crashing', async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.deferReply();
    };
    const emitted = nextClientError();
    const late = fake.slashCommand({ name: 'status', user: 'alice', ageMs: 3_500 });
    const error = await emitted;
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({ status: 404, code: 10062 });
    const callback = await late.waitForCallback();
    expect(callback).toMatchObject({ status: 404, response: { message: 'Unknown interaction', code: 10062 } });
    expect(late.record.acknowledged).toBe(false);
    expect(client.isReady()).toBe(true);
  });

  it('a 429 on message create: discord.js waits Retry-After, then the message is delivered once', async () => {
    fake.failNext('POST /channels/:channel/messages', 429, { retryAfter: 1 });
    const mark = fake.mark();
    const sent = await ops.send('after the rate limit');
    const posts = fake.calls.filter((c) => c.seq > mark && c.method === 'POST' && c.route === '/channels/:channel/messages');
    expect(posts.map((c) => [c.status, c.injected])).toEqual([
      [429, true],
      [200, false],
    ]);
    const [limited, delivered] = posts as [RecordedCall, RecordedCall];
    expect(limited.responseHeaders).toMatchObject({ 'Retry-After': '1', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Scope': 'user' });
    expect(limited.response).toMatchObject({ retry_after: 1, global: false });
    expect(delivered.time - limited.time).toBeGreaterThanOrEqual(1_000);
    expect(fake.messages('ops').filter((m) => m.content === 'after the rate limit').map((m) => m.id)).toEqual([sent.id]);
  });

  it('a 500 is retried by discord.js and delivered once', async () => {
    fake.failNext('/channels/:id/messages', 500);
    const sent = await ops.send('after a 500');
    expect(fake.messages('ops').filter((m) => m.content === 'after a 500').map((m) => m.id)).toEqual([sent.id]);
    expect(fake.calls.filter((c) => c.body?.content === 'after a 500').map((c) => c.status)).toEqual([500, 200]);
  });

  it("a 429 on an interaction callback carries Discord's rate-limit headers and body; discord.js sleeps Retry-After and acknowledges", async () => {
    let deferred = false;
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      deferred = true;
    };
    const rule = fake.failNext(FakeRoute.callback, { status: 429, retryAfterMs: 300, code: 0 });
    const cmd = fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops' });
    const ok = await cmd.waitForCall((c) => isRoute(c, FakeRoute.callback) && c.status === 204);
    const [limited] = cmd.calls();
    expect(limited).toMatchObject({ status: 429, injected: true, response: { message: 'You are being rate limited.', retry_after: 0.3, global: false, code: 0 } });
    const headers = limited!.responseHeaders;
    expect(headers).toMatchObject({ 'Retry-After': '1', 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset-After': '0.300', 'X-RateLimit-Scope': 'user' });
    expect(headers['X-RateLimit-Bucket']).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(headers['X-RateLimit-Reset']) * 1000).toBeCloseTo(limited!.time + 300, -2);
    expect(headers['X-RateLimit-Global']).toBeUndefined();
    // discord.js reads the whole-second Retry-After, not the body's retry_after
    expect(ok.time - limited!.time).toBeGreaterThanOrEqual(1_000);
    await vi.waitFor(() => expect(deferred).toBe(true));
    expect(cmd.record.acknowledged).toBe(true);
    expect(rule).toMatchObject({ hits: 1, remaining: 0 });
  });

  it('a global 429 says so in its headers and body; each route gets its own bucket', async () => {
    fake.failNext(FakeRoute.channelPost, { status: 429, global: true, retryAfter: 0.2 });
    fake.failNext(FakeRoute.channelEdit, 429, { retryAfter: 0.2, bucket: 'edits' });
    const sent = await ops.send('after a global limit');
    await sent.edit('edited after a limit');
    const [post] = fake.calls.filter((c) => c.injected && c.body?.content === 'after a global limit');
    const [edit] = fake.calls.filter((c) => c.injected && c.body?.content === 'edited after a limit');
    expect(post!.responseHeaders).toMatchObject({ 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global', 'Retry-After': '1' });
    expect(post!.response).toEqual({ message: 'You are being rate limited.', retry_after: 0.2, global: true });
    expect(edit!.responseHeaders).toMatchObject({ 'X-RateLimit-Bucket': 'edits' });
    expect(fake.message(sent.id).content).toBe('edited after a limit');
    expect(fake.messages('ops').filter((m) => m.content === 'edited after a limit')).toHaveLength(1);
  });

  it('a 5xx storm on several routes lasts until cancelled; discord.js gives up after its 3 retries', async () => {
    const storm = fake.failNext([FakeRoute.channelPost, FakeRoute.channelEdit], { status: 503 }, Infinity);
    await expect(ops.send('into the storm')).rejects.toMatchObject({ status: 503 });
    expect(storm).toMatchObject({ hits: 4, remaining: Infinity });
    expect(fake.calls.filter((c) => c.body?.content === 'into the storm').map((c) => [c.status, c.injected, c.response?.message])).toEqual(
      Array(4).fill([503, true, '503: Service Unavailable']),
    );
    expect(fake.messages('ops').some((m) => m.content === 'into the storm')).toBe(false);
    storm.cancel();
    expect(storm.remaining).toBe(0);
    const sent = await ops.send('after the storm');
    expect(fake.message(sent.id).content).toBe('after the storm');
    expect(storm.hits).toBe(4);
  });

  it('a processed 5xx: the message is stored but the answer lost, so a retry posts it twice unless a nonce is enforced', async () => {
    fake.failNext(FakeRoute.channelPost, { status: 502, processed: true });
    await ops.send('posted twice');
    expect(fake.messages('ops').filter((m) => m.content === 'posted twice')).toHaveLength(2);
    expect(fake.calls.filter((c) => c.body?.content === 'posted twice').map((c) => [c.status, c.note])).toEqual([
      [502, 'processed'],
      [200, undefined],
    ]);

    fake.failNext(FakeRoute.channelPost, { status: 502, processed: true });
    const sent = await ops.send({ content: 'posted once', nonce: 'processed-502', enforceNonce: true });
    expect(fake.messages('ops').filter((m) => m.content === 'posted once').map((m) => m.id)).toEqual([sent.id]);
    expect(fake.calls.filter((c) => c.body?.content === 'posted once').map((c) => [c.status, c.note])).toEqual([
      [502, 'processed'],
      [200, 'nonce-deduplicated'],
    ]);
    expect(() => fake.failNext(FakeRoute.channelPost, { status: 429, processed: true })).toThrow(/only a 5xx/);
    expect(() => fake.failNext(FakeRoute.channelPost, 200)).toThrow(/4xx or 5xx/);
  });

  it('a nonce sent with enforce_nonce returns the first message instead of creating a second', async () => {
    const first = await ops.send({ content: 'exactly once', nonce: 'labops-alert-42', enforceNonce: true });
    const second = await ops.send({ content: 'exactly once', nonce: 'labops-alert-42', enforceNonce: true });
    expect(second.id).toBe(first.id);
    expect(fake.messages('ops').filter((m) => m.content === 'exactly once')).toHaveLength(1);
    expect(fake.calls.filter((c) => c.body?.nonce === 'labops-alert-42').map((c) => c.note)).toEqual([undefined, 'nonce-deduplicated']);
  });

  it("validates Discord's message limits with 400 code 50035", async () => {
    await expect(ops.send('x'.repeat(2001))).rejects.toMatchObject({ status: 400, code: 50035, rawError: { errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } });
    await expect(ops.send({ embeds: [{ description: 'y'.repeat(4097) }] })).rejects.toMatchObject({ code: 50035, rawError: { errors: { embeds: { 0: { description: {} } } } } });
    await expect(ops.send({ embeds: Array.from({ length: 11 }, (_, i) => ({ title: `e${i}` })) })).rejects.toMatchObject({ code: 50035 });
    await expect(ops.send({ embeds: [{ fields: Array.from({ length: 26 }, (_, i) => ({ name: `f${i}`, value: 'v' })) }] })).rejects.toMatchObject({ code: 50035 });
    await expect(ops.send({ embeds: [{ title: 't'.repeat(200), description: 'd'.repeat(4000) }, { description: 'd'.repeat(2000) }] })).rejects.toMatchObject({
      code: 50035,
      rawError: { errors: { embeds: { _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED' }] } } },
    });
    await expect(
      ops.send({ content: 'c', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'go', custom_id: 'c'.repeat(101) }] }] }),
    ).rejects.toMatchObject({ code: 50035, rawError: { errors: { components: { 0: { components: { 0: { custom_id: {} } } } } } } });
    expect(fake.messages('ops').some((m) => m.content.startsWith('xxxx'))).toBe(false);
  });

  it('records allowed_mentions: with { parse: [] } nothing is pinged', async () => {
    const aliceId = fake.userId('alice');
    const mark = fake.mark();
    const sent = await ops.send(`@everyone <@${aliceId}> <@&${fake.roleId('operator')}> the proxy is down`);
    const call = await fake.waitFor((c) => c.seq > mark && c.route === '/channels/:channel/messages');
    expect(call.body.allowed_mentions).toEqual({ parse: [] });
    expect(fake.message(sent.id)).toMatchObject({ mentions: [], mention_roles: [], mention_everyone: false });
    // Every message the Client wrote (replies, updates, follow-ups, edits, channel posts) carried it.
    const writes = fake.messageWrites();
    expect(new Set(writes.map((c) => `${c.method} ${c.route}`)).size).toBeGreaterThanOrEqual(4);
    for (const write of writes) expect(write.message.allowed_mentions, `${write.method} ${write.path}`).toEqual({ parse: [] });
  });

  it('keeps multipart attachments: file names and contents', async () => {
    const sent = await ops.send({ content: 'vram chart', files: [{ attachment: Buffer.from('PNGDATA'), name: 'vram.png' }] });
    const call = fake.calls.find((c) => c.body?.content === 'vram chart');
    expect(call?.headers.contentType).toMatch(/^multipart\/form-data/);
    expect(call?.files.map((f) => [f.field, f.name, f.data.toString()])).toEqual([['files[0]', 'vram.png', 'PNGDATA']]);
    const attachment = fake.message(sent.id).attachments[0];
    expect(attachment).toMatchObject({ filename: 'vram.png', size: 7 });
    expect(fake.attachment(attachment.id)?.data.toString()).toBe('PNGDATA');
    expect(await (await fetch(attachment.url)).text()).toBe('PNGDATA');
  });

  it('an interaction token older than 15 minutes gets 401 code 50027 (and the bot token stays valid)', async () => {
    let resolveHeld: (i: ChatInputCommandInteraction) => void = () => undefined;
    const held = new Promise<ChatInputCommandInteraction>((resolve) => (resolveHeld = resolve));
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      resolveHeld(i);
    };
    const cmd = fake.slashCommand({ name: 'status', user: 'alice' });
    const interaction = await held;
    fake.clock.advance(15 * 60_000 + 1_000);
    await expect(interaction.editReply('much later')).rejects.toMatchObject({ status: 401, code: 50027 });
    const edit = await cmd.waitForEdit();
    expect(edit).toMatchObject({ status: 401, response: { message: 'Invalid Webhook Token', code: 50027 } });
    expect((await ops.send('still logged in')).content).toBe('still logged in');
  });

  it('a resumable gateway close (4000) leads to RESUME on resume_gateway_url, replaying what was missed', async () => {
    const readySessionId = fake.gatewayLog.find((r) => r.t === 'READY')?.d.session_id;
    const resumed = once(client, Events.ShardResume);
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.reply('back again');
    };
    expect(fake.closeGateway(4000)).toBe(1);
    // Dispatched while the client is away: Discord replays it after RESUME.
    const cmd = fake.slashCommand({ name: 'status', user: 'alice' });
    await resumed;
    const resume = fake.gatewayLog.find((r) => r.kind === 'in' && r.op === 6);
    expect(resume?.d).toMatchObject({ token: fake.token, session_id: readySessionId });
    const opens = fake.gatewayLog.filter((r) => r.kind === 'open');
    expect(opens.at(-1)?.url).toMatch(/^\/gateway\/resume\?v=10/);
    expect(fake.gatewayLog.filter((r) => r.kind === 'in' && r.op === 2)).toHaveLength(1);
    expect(fake.gatewayLog.some((r) => r.kind === 'close' && r.code === 4000 && r.by === 'server')).toBe(true);
    const callback = await cmd.waitForCallback();
    expect(callback).toMatchObject({ status: 204, body: { type: 4, data: { content: 'back again' } } });
  });

  it('a wrong token is refused: GET /gateway/bot answers 401 and login rejects with TokenInvalid', async () => {
    const other = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.restUrl } });
    other.on(Events.Error, () => undefined);
    await expect(other.login('not-the-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    await other.destroy();
    expect(fake.calls.at(-1)).toMatchObject({ route: '/gateway/bot', status: 401 });
  });

  it('an unrecoverable close (4004) disconnects the shard for good', async () => {
    const disconnected = new Promise<{ code: number }>((resolve) => client.once(Events.ShardDisconnect, (event) => resolve(event)));
    fake.closeGateway(4004, 'Authentication failed.');
    expect((await disconnected).code).toBe(4004);
    await vi.waitFor(() => expect(shardErrors.map((e) => e.message)).toContain('Authentication failed'));
    expect(() => fake.slashCommand({ name: 'status' })).toThrow(/no gateway session/);
  });

  it('client.destroy() and fake.close() leave nothing open', async () => {
    await client.destroy();
    await fake.close();
    await fake.close();
    expect(fake.openConnections()).toEqual({ http: 0, gateway: 0 });
    await vi.waitFor(() => expect(tcpHandles()).toBe(baselineTcp), { timeout: 3_000 });
    expect(clientErrors).toHaveLength(1);
  });
});
