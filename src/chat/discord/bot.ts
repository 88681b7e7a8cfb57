import { Client, Events, GatewayIntentBits, Partials, REST } from 'discord.js';
import type { RunningChat } from '../../bot/chat.js';
import type { BotContext } from '../../bot/context.js';
import { usageError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { consumeNotices } from '../../queue/notice-queue.js';
import { ActionStore } from './actions-store.js';
import { MemberRoles } from './caller.js';
import { startConfirmExpiry } from './confirm-expiry.js';
import { ConfirmStore } from './confirm-store.js';
import { DiscordRest } from './discord-rest.js';
import { watchGateway } from './gateway-events.js';
import { infoOf } from './interaction.js';
import { NoticePoster } from './notices.js';
import { RESPONDER_DEFAULTS, type ResponderOptions } from './responder.js';
import { Router } from './router.js';

export interface DiscordOptions {
  responder?: Partial<ResponderOptions>;
  /** how often expired confirmations are looked for (default 1 s) */
  sweepIntervalMs?: number;
  /** how long `close` waits for interactions being answered (default 10 s) */
  drainMs?: number;
}

/**
 * The Discord side of `labops bot` / `labops all`: logs the real discord.js Client in (REST base
 * from `discord.restApi`, gateway URL from `GET /gateway/bot`), answers interactions through the
 * router, posts the notify queue's alerts and log, and closes expired confirmations. `done`
 * resolves with 1 when Discord closes the gateway for good, so the supervisor restarts the process.
 */
export async function startDiscord(ctx: BotContext, logger: Logger, options: DiscordOptions = {}): Promise<RunningChat> {
  const d = ctx.config.discord;
  if (!d.token) throw usageError('No Discord token: set DISCORD_TOKEN (or discord.token in labops.yaml).');
  const log = logger.child({ component: 'discord' });
  const restOptions = d.restApi ? { api: d.restApi } : {};

  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    partials: [Partials.Channel],
    rest: restOptions,
    allowedMentions: { parse: [] },
  });
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  watchGateway(client, log, () => resolveDone(1));

  // interaction callbacks and webhooks are not bound to the bot's global rate limit
  const interactionRest = new REST({ ...restOptions, globalRequestsPerSecond: 10_000 });
  const rest = new DiscordRest(client.rest, interactionRest);
  const confirms = new ConfirmStore(ctx.redis, ctx.prefix);
  const actions = new ActionStore(ctx.redis, ctx.prefix);
  const router = new Router({
    ctx,
    confirms,
    actions,
    logger: log,
    rest,
    members: new MemberRoles(client.rest, d.guildId, log),
    responder: { ...RESPONDER_DEFAULTS, ...options.responder },
  });

  let closing = false;
  client.on(Events.InteractionCreate, (interaction) => {
    const receivedAt = Date.now();
    if (closing) return;
    const info = infoOf(interaction, receivedAt);
    if (info) void router.route(info);
  });

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(d.token);
  } catch (err) {
    await client.destroy().catch(() => undefined);
    throw err;
  }
  const first = await Promise.race([ready.then(() => 'ready' as const), done.then(() => 'closed' as const)]);
  if (first === 'ready') {
    const applicationId = client.application?.id;
    log.info({ user: client.user?.tag, applicationId, guilds: client.guilds.cache.size }, 'Discord ready');
    if (d.applicationId && applicationId && d.applicationId !== applicationId) log.warn({ configured: d.applicationId, actual: applicationId }, 'discord.applicationId is not the application of this token');
    if (d.guildId && !client.guilds.cache.has(d.guildId)) log.warn({ guildId: d.guildId }, 'the bot is not a member of discord.guildId; invite it, or fix the id');
  }

  // Notices get their own REST client that gives up on a 429 at once: the queue retries them later.
  const noticeRest = new REST({ ...restOptions, rejectOnRateLimit: () => true, retries: 0 }).setToken(d.token);
  const poster = new NoticePoster({ config: ctx.config, redis: ctx.redis, prefix: ctx.prefix, rest: new DiscordRest(noticeRest), actions, logger: log });
  const notices = consumeNotices(ctx.redisTarget, ctx.prefix, (notice, jobId) => poster.deliver(notice, jobId), log, { keys: ctx.signing.keys });
  const expiry = startConfirmExpiry({ ctx, confirms, rest, logger: log }, options.sweepIntervalMs ?? 1_000);

  let closed: Promise<void> | undefined;
  return {
    done,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        expiry.stop();
        await router.drain(options.drainMs ?? 10_000);
        await notices.close().catch((err: unknown) => log.warn({ err }, 'closing the notice consumer failed'));
        await client.destroy();
        for (const r of [noticeRest, interactionRest]) {
          r.clearHashSweeper();
          r.clearHandlerSweeper();
        }
      })()),
  };
}
