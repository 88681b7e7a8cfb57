/**
 * Discord's REST endpoints as the fake answers them: gateway discovery, the bot's user and
 * application, application commands, interaction callbacks, interaction webhooks (original
 * response and follow-ups), channel messages, DMs and a few guild reads. Each handler checks what
 * Discord checks (unknown ids, the 3 s callback window, double acknowledgement, token lifetime,
 * message limits, nonces) and answers with Discord's error codes.
 */
import { createMessage, deleteMessage, editMessage } from './messages.js';
import type { RouteContext, RouteDef, RouteResult } from './rest.js';
import { CallbackType, ChannelType, InteractionType, MessageFlags, Permission, type FakeState, type InteractionRecord, type Wire } from './state.js';
import { ApiError, apiError, checkChoices, checkCommands, checkMessage, checkModal, Errors, FormErrors } from './validate.js';

export type MessageEvent = 'MESSAGE_CREATE' | 'MESSAGE_UPDATE' | 'MESSAGE_DELETE';

export interface RouteDeps {
  state: FakeState;
  /** The gateway URL `GET /gateway/bot` hands out. */
  gatewayUrl: () => string;
  /** Called after a message is created, edited or deleted (the gateway turns it into a dispatch). */
  onMessage: (event: MessageEvent, message: Wire) => void;
}

/** Callback types Discord accepts per interaction type. */
const ALLOWED_CALLBACKS: Record<number, number[]> = {
  [InteractionType.ApplicationCommand]: [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource, CallbackType.Modal],
  [InteractionType.MessageComponent]: [
    CallbackType.ChannelMessageWithSource,
    CallbackType.DeferredChannelMessageWithSource,
    CallbackType.DeferredUpdateMessage,
    CallbackType.UpdateMessage,
    CallbackType.Modal,
  ],
  [InteractionType.Autocomplete]: [CallbackType.AutocompleteResult],
  [InteractionType.ModalSubmit]: [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource, CallbackType.DeferredUpdateMessage, CallbackType.UpdateMessage],
};

const TEXT_CHANNEL_TYPES = new Set([ChannelType.GuildText, ChannelType.DM, ChannelType.GuildAnnouncement, 2, 3, 10, 11, 12, 13]);

const ok = (body: Wire, status = 200): RouteResult => ({ status, body });
const noContent = (): RouteResult => ({ status: 204 });
const isError = (value: unknown): value is ApiError => value instanceof ApiError;

export function discordRoutes(deps: RouteDeps): RouteDef[] {
  const { state } = deps;
  const now = () => state.clock.now();
  const visible = (message: Wire) => !(message.flags & MessageFlags.Ephemeral);
  const announce = (event: MessageEvent, message: Wire) => {
    if (visible(message)) deps.onMessage(event, message);
  };

  // ---- application commands ----

  function commandObject(def: Wire, existing: Wire | undefined, guildId: string | undefined): Wire {
    const command: Wire = {
      id: existing?.id ?? state.ids.next(),
      application_id: state.applicationId,
      version: state.ids.next(),
      default_member_permissions: def.default_member_permissions ?? null,
      type: def.type ?? 1,
      name: def.name,
      name_localizations: def.name_localizations ?? null,
      description: def.description ?? '',
      description_localizations: def.description_localizations ?? null,
      nsfw: def.nsfw ?? false,
      contexts: def.contexts ?? null,
      integration_types: def.integration_types ?? [0],
    };
    if (guildId) command.guild_id = guildId;
    else command.dm_permission = def.dm_permission ?? true;
    if (Array.isArray(def.options) && def.options.length > 0) command.options = def.options;
    return command;
  }

  function commandList(ctx: RouteContext): Wire[] | ApiError {
    if (ctx.params.app !== state.applicationId) return Errors.missingAccess();
    const guildId = ctx.params.guild;
    if (guildId === undefined) return state.globalCommands;
    if (guildId !== state.guildId) return Errors.missingAccess();
    let list = state.guildCommands.get(guildId);
    if (!list) state.guildCommands.set(guildId, (list = []));
    return list;
  }

  function overwriteCommands(ctx: RouteContext): RouteResult | ApiError {
    const list = commandList(ctx);
    if (isError(list)) return list;
    const invalid = checkCommands(ctx.body);
    if (invalid) return invalid;
    const next = (ctx.body as Wire[]).map((def) => commandObject(def, list.find((c) => c.name === def.name && c.type === (def.type ?? 1)), ctx.params.guild));
    list.splice(0, list.length, ...next);
    return ok(next);
  }

  function createCommand(ctx: RouteContext): RouteResult | ApiError {
    const list = commandList(ctx);
    if (isError(list)) return list;
    const invalid = checkCommands([ctx.body]);
    if (invalid) return invalid;
    const index = list.findIndex((c) => c.name === ctx.body.name && c.type === (ctx.body.type ?? 1));
    const command = commandObject(ctx.body, list[index], ctx.params.guild);
    if (index >= 0) list[index] = command;
    else list.push(command);
    return ok(command, index >= 0 ? 200 : 201);
  }

  function findCommand(ctx: RouteContext): { list: Wire[]; index: number } | ApiError {
    const list = commandList(ctx);
    if (isError(list)) return list;
    const index = list.findIndex((c) => c.id === ctx.params.command);
    return index < 0 ? Errors.unknownCommand() : { list, index };
  }

  // ---- interactions ----

  function componentMessage(record: InteractionRecord): Wire {
    const raw = record.payload.message;
    const stored = raw?.id ? state.findMessage(raw.id) : undefined;
    if (stored) return stored;
    const copy = structuredClone(raw);
    const list = state.messages.get(record.channelId) ?? [];
    list.push(copy);
    state.messages.set(record.channelId, list);
    return copy;
  }

  function callback(ctx: RouteContext): RouteResult | ApiError {
    const record = state.interactions.get(ctx.params.interaction ?? '');
    if (!record || record.token !== ctx.params.token) return Errors.unknownInteraction();
    if (now() - record.createdAt > state.settings.callbackWindowMs) return Errors.unknownInteraction();
    if (record.acknowledged) return Errors.alreadyAcknowledged();
    const body = ctx.body ?? {};
    const type = body.type;
    const data = body.data ?? {};
    if (!(ALLOWED_CALLBACKS[record.type] ?? []).includes(type)) {
      const errors = new FormErrors();
      errors.add('type', 'INTERACTION_RESPONSE_TYPE_INVALID', `Interaction response type ${String(type)} is not valid for interaction type ${record.type}`);
      return errors.result() as ApiError;
    }
    const messageType = record.type === InteractionType.ApplicationCommand ? 20 : 0;
    let message: Wire | undefined;
    switch (type) {
      case CallbackType.ChannelMessageWithSource: {
        ctx.call.message = data;
        const invalid = checkMessage(data, { prefix: 'data', create: true, fileCount: ctx.files.length });
        if (invalid) return invalid;
        message = createMessage(state, { channelId: record.channelId, payload: data, files: ctx.files, type: messageType, interaction: record });
        record.originalMessageId = message.id;
        announce('MESSAGE_CREATE', message);
        break;
      }
      case CallbackType.DeferredChannelMessageWithSource: {
        const flags = (data.flags ?? 0) & MessageFlags.Ephemeral;
        message = createMessage(state, { channelId: record.channelId, payload: { flags }, files: [], type: messageType, extraFlags: MessageFlags.Loading, interaction: record });
        record.originalMessageId = message.id;
        announce('MESSAGE_CREATE', message);
        break;
      }
      case CallbackType.DeferredUpdateMessage:
        message = componentMessage(record);
        record.originalMessageId = message.id;
        break;
      case CallbackType.UpdateMessage: {
        ctx.call.message = data;
        const invalid = checkMessage(data, { prefix: 'data', create: false, fileCount: ctx.files.length });
        if (invalid) return invalid;
        message = editMessage(state, componentMessage(record), data, ctx.files);
        record.originalMessageId = message.id;
        announce('MESSAGE_UPDATE', message);
        break;
      }
      case CallbackType.AutocompleteResult: {
        const invalid = checkChoices(data);
        if (invalid) return invalid;
        record.choices = data.choices ?? [];
        break;
      }
      case CallbackType.Modal: {
        const invalid = checkModal(data);
        if (invalid) return invalid;
        record.modal = data;
        break;
      }
    }
    record.acknowledged = true;
    record.callbackType = type;
    if (ctx.query.get('with_response') !== 'true') return noContent();
    const withMessage = message && type !== CallbackType.DeferredUpdateMessage;
    return ok({
      interaction: {
        id: record.id,
        type: record.type,
        ...(withMessage
          ? {
              response_message_id: message.id,
              response_message_loading: type === CallbackType.DeferredChannelMessageWithSource,
              response_message_ephemeral: Boolean(message.flags & MessageFlags.Ephemeral),
            }
          : {}),
      },
      resource: { type, ...(withMessage ? { message } : {}) },
    });
  }

  function webhookInteraction(ctx: RouteContext): InteractionRecord | ApiError {
    if (ctx.params.app !== state.applicationId) return Errors.unknownWebhook();
    const record = state.interactionsByToken.get(ctx.params.token ?? '');
    if (!record) return Errors.invalidWebhookToken();
    if (now() - record.createdAt > state.settings.tokenLifetimeMs) return Errors.invalidWebhookToken();
    return record;
  }

  function interactionMessage(ctx: RouteContext): { record: InteractionRecord; message: Wire } | ApiError {
    const record = webhookInteraction(ctx);
    if (isError(record)) return record;
    const id = ctx.params.message ?? record.originalMessageId;
    if (!id || (id !== record.originalMessageId && !record.followUpIds.includes(id))) return Errors.unknownMessage();
    const message = state.findMessage(id);
    return message ? { record, message } : Errors.unknownMessage();
  }

  function followUp(ctx: RouteContext): RouteResult | ApiError {
    const record = webhookInteraction(ctx);
    if (isError(record)) return record;
    if (!record.acknowledged || record.type === InteractionType.Autocomplete) return Errors.unknownWebhook();
    const body = ctx.body ?? {};
    ctx.call.message = body;
    const invalid = checkMessage(body, { prefix: '', create: true, fileCount: ctx.files.length });
    if (invalid) return invalid;
    const message = createMessage(state, { channelId: record.channelId, payload: body, files: ctx.files, interaction: record });
    record.followUpIds.push(message.id);
    announce('MESSAGE_CREATE', message);
    return ctx.query.get('wait') === 'true' ? ok(message) : noContent();
  }

  function getInteractionMessage(ctx: RouteContext): RouteResult | ApiError {
    const found = interactionMessage(ctx);
    return isError(found) ? found : ok(found.message);
  }

  function editInteractionMessage(ctx: RouteContext): RouteResult | ApiError {
    const found = interactionMessage(ctx);
    if (isError(found)) return found;
    const body = ctx.body ?? {};
    ctx.call.message = body;
    const invalid = checkMessage(body, { prefix: '', create: false, fileCount: ctx.files.length });
    if (invalid) return invalid;
    const message = editMessage(state, found.message, body, ctx.files);
    announce('MESSAGE_UPDATE', message);
    return ok(message);
  }

  function deleteInteractionMessage(ctx: RouteContext): RouteResult | ApiError {
    const found = interactionMessage(ctx);
    if (isError(found)) return found;
    deleteMessage(state, found.message);
    announce('MESSAGE_DELETE', found.message);
    return noContent();
  }

  // ---- channels and messages ----

  function channelOf(ctx: RouteContext): Wire | ApiError {
    return state.channels.get(ctx.params.channel ?? '') ?? Errors.unknownChannel();
  }

  function canSend(channel: Wire): ApiError | null {
    if (!TEXT_CHANNEL_TYPES.has(channel.type)) return apiError(400, 50008, 'Cannot send messages in a non-text channel');
    if (channel.guild_id) {
      const bits = state.permissionsOf(state.bot.id);
      if (!(bits & Permission.ViewChannel) || !(bits & Permission.SendMessages)) return apiError(403, 50013, 'Missing Permissions');
    }
    return null;
  }

  function channelMessage(ctx: RouteContext): { channel: Wire; message: Wire } | ApiError {
    const channel = channelOf(ctx);
    if (isError(channel)) return channel;
    const message = state.channelMessages(channel.id).find((m) => m.id === ctx.params.message);
    return message ? { channel, message } : Errors.unknownMessage();
  }

  function postMessage(ctx: RouteContext): RouteResult | ApiError {
    const channel = channelOf(ctx);
    if (isError(channel)) return channel;
    const denied = canSend(channel);
    if (denied) return denied;
    const body = ctx.body ?? {};
    ctx.call.message = body;
    const invalid = checkMessage(body, { prefix: '', create: true, fileCount: ctx.files.length });
    if (invalid) return invalid;
    const enforced = body.enforce_nonce === true && body.nonce !== undefined && body.nonce !== null;
    const nonceKey = `${state.bot.id}:${String(body.nonce)}`;
    if (enforced) {
      const seen = state.nonces.get(nonceKey);
      const earlier = seen && now() - seen.at <= state.settings.nonceWindowMs ? state.findMessage(seen.messageId) : undefined;
      if (earlier) {
        ctx.call.note = 'nonce-deduplicated';
        return ok(earlier);
      }
    }
    const message = createMessage(state, { channelId: channel.id, payload: body, files: ctx.files });
    if (enforced) state.nonces.set(nonceKey, { messageId: message.id, at: now() });
    announce('MESSAGE_CREATE', message);
    return ok(message);
  }

  function patchMessage(ctx: RouteContext): RouteResult | ApiError {
    const found = channelMessage(ctx);
    if (isError(found)) return found;
    if (found.message.author?.id !== state.bot.id) return Errors.notAuthor();
    const body = ctx.body ?? {};
    ctx.call.message = body;
    const invalid = checkMessage(body, { prefix: '', create: false, fileCount: ctx.files.length });
    if (invalid) return invalid;
    const message = editMessage(state, found.message, body, ctx.files);
    announce('MESSAGE_UPDATE', message);
    return ok(message);
  }

  function reaction(ctx: RouteContext, add: boolean): RouteResult | ApiError {
    const found = channelMessage(ctx);
    if (isError(found)) return found;
    const name = ctx.params.emoji ?? '';
    const reactions: Wire[] = (found.message.reactions ??= []);
    const existing = reactions.find((r) => (r.emoji.id ? `${r.emoji.name}:${r.emoji.id}` : r.emoji.name) === name);
    if (add && !existing) {
      const [emojiName, emojiId] = name.split(':');
      reactions.push({ emoji: { id: emojiId ?? null, name: emojiName }, count: 1, count_details: { burst: 0, normal: 1 }, me: true, me_burst: false, burst_colors: [] });
    } else if (!add && existing) reactions.splice(reactions.indexOf(existing), 1);
    return noContent();
  }

  const guildOnly = (ctx: RouteContext): ApiError | null => (ctx.params.guild === state.guildId ? null : Errors.unknownGuild());

  const gatewayBot = () =>
    ok({ url: deps.gatewayUrl(), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } });

  const route = (method: string, pattern: string, auth: boolean, handle: RouteDef['handle']): RouteDef => ({ method, pattern, auth, handle });

  return [
    // discovery, the bot and its application
    route('GET', '/gateway', false, () => ok({ url: deps.gatewayUrl() })),
    route('GET', '/gateway/bot', true, gatewayBot),
    route('GET', '/users/@me', true, () => ok(state.bot)),
    route('GET', '/applications/@me', true, () => ok(state.applicationObject())),
    route('PATCH', '/applications/@me', true, () => ok(state.applicationObject())),
    route('GET', '/oauth2/applications/@me', true, () => ok(state.applicationObject())),
    route('POST', '/users/@me/channels', true, (ctx) => {
      const userId = String(ctx.body?.recipient_id ?? '');
      return state.users.has(userId) ? ok(state.dmChannelFor(userId)) : Errors.unknownUser();
    }),
    route('GET', '/users/:user', true, (ctx) => {
      const user = state.users.get(ctx.params.user ?? '');
      return user ? ok(user) : Errors.unknownUser();
    }),

    // application commands (global and guild)
    ...(['/applications/:app/commands', '/applications/:app/guilds/:guild/commands'] as const).flatMap((base) => [
      route('GET', base, true, (ctx) => {
        const list = commandList(ctx);
        return isError(list) ? list : ok(list);
      }),
      route('PUT', base, true, overwriteCommands),
      route('POST', base, true, createCommand),
      route('GET', `${base}/:command`, true, (ctx) => {
        const found = findCommand(ctx);
        return isError(found) ? found : ok(found.list[found.index]);
      }),
      route('PATCH', `${base}/:command`, true, (ctx) => {
        const found = findCommand(ctx);
        if (isError(found)) return found;
        const merged = { ...found.list[found.index], ...ctx.body };
        const invalid = checkCommands([merged]);
        if (invalid) return invalid;
        found.list[found.index] = commandObject(merged, found.list[found.index], ctx.params.guild);
        return ok(found.list[found.index]);
      }),
      route('DELETE', `${base}/:command`, true, (ctx) => {
        const found = findCommand(ctx);
        if (isError(found)) return found;
        found.list.splice(found.index, 1);
        return noContent();
      }),
    ]),

    // interaction callbacks and interaction webhooks (no bot token: the interaction token is the auth)
    route('POST', '/interactions/:interaction/:token/callback', false, callback),
    route('POST', '/webhooks/:app/:token', false, followUp),
    route('GET', '/webhooks/:app/:token/messages/@original', false, getInteractionMessage),
    route('PATCH', '/webhooks/:app/:token/messages/@original', false, editInteractionMessage),
    route('DELETE', '/webhooks/:app/:token/messages/@original', false, deleteInteractionMessage),
    route('GET', '/webhooks/:app/:token/messages/:message', false, getInteractionMessage),
    route('PATCH', '/webhooks/:app/:token/messages/:message', false, editInteractionMessage),
    route('DELETE', '/webhooks/:app/:token/messages/:message', false, deleteInteractionMessage),

    // channels and messages
    route('GET', '/channels/:channel', true, (ctx) => {
      const channel = channelOf(ctx);
      return isError(channel) ? channel : ok(channel);
    }),
    route('GET', '/channels/:channel/messages', true, (ctx) => {
      const channel = channelOf(ctx);
      if (isError(channel)) return channel;
      const limit = Math.min(Math.max(Number(ctx.query.get('limit') ?? 50), 1), 100);
      const before = ctx.query.get('before');
      const after = ctx.query.get('after');
      let list = state.channelMessages(channel.id).filter(visible);
      if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after));
      return ok(after ? list.slice(0, limit).reverse() : list.slice(-limit).reverse());
    }),
    route('POST', '/channels/:channel/messages', true, postMessage),
    route('GET', '/channels/:channel/messages/:message', true, (ctx) => {
      const found = channelMessage(ctx);
      return isError(found) ? found : ok(found.message);
    }),
    route('PATCH', '/channels/:channel/messages/:message', true, patchMessage),
    route('DELETE', '/channels/:channel/messages/:message', true, (ctx) => {
      const found = channelMessage(ctx);
      if (isError(found)) return found;
      deleteMessage(state, found.message);
      announce('MESSAGE_DELETE', found.message);
      return noContent();
    }),
    route('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', true, (ctx) => reaction(ctx, true)),
    route('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/@me', true, (ctx) => reaction(ctx, false)),
    route('POST', '/channels/:channel/typing', true, (ctx) => {
      const channel = channelOf(ctx);
      return isError(channel) ? channel : noContent();
    }),

    // guild reads
    route('GET', '/guilds/:guild', true, (ctx) => guildOnly(ctx) ?? ok(state.guildObject())),
    route('GET', '/guilds/:guild/channels', true, (ctx) => guildOnly(ctx) ?? ok(state.guildChannels())),
    route('GET', '/guilds/:guild/roles', true, (ctx) => guildOnly(ctx) ?? ok([...state.roles.values()])),
    route('GET', '/guilds/:guild/members', true, (ctx) => guildOnly(ctx) ?? ok([...state.memberRoles.keys()].map((id) => state.memberObject(id)))),
    route('GET', '/guilds/:guild/members/:user', true, (ctx) => {
      const denied = guildOnly(ctx);
      if (denied) return denied;
      return state.isMember(ctx.params.user ?? '') ? ok(state.memberObject(ctx.params.user ?? '')) : apiError(404, 10007, 'Unknown Member');
    }),

    // attachments uploaded to the fake, served back (what Discord's CDN does)
    route('GET', '/attachments/:channel/:attachment/:filename', false, (ctx) => {
      const file = state.files.get(ctx.params.attachment ?? '');
      return file ? { status: 200, raw: { data: file.data, contentType: file.contentType } } : Errors.notFound();
    }),
  ];
}
