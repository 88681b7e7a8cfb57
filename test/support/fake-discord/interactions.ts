/**
 * INTERACTION_CREATE payloads as Discord sends them over the gateway: slash commands (type 2),
 * autocomplete (type 4) and component presses (type 3), in a guild channel (with `member`, its
 * roles and permissions) or in the bot's DM (with `user` and a `channel` of type 1). Each gets a
 * fresh id and token and is registered in the state, so the REST routes can hold the bot to
 * Discord's rules for that interaction.
 */
import { randomBytes } from 'node:crypto';
import { ChannelType, InteractionType, type FakeState, type InteractionRecord, type Wire } from './state.js';

export type OptionValue = string | number | boolean;

/** An option spelled out; `type` is taken from the registered command, or inferred from `value`. */
export interface OptionInput {
  name: string;
  type?: number;
  value?: OptionValue;
  focused?: boolean;
  options?: OptionInput[];
}

export interface InteractionInput {
  /** User id or username (default: the first configured user). */
  user?: string;
  /** Channel id or name (default: the first text channel). Ignored with `dm`. */
  channel?: string;
  /** From the bot's DM with the user: `user` instead of `member`, `channel` of type 1, context 1. */
  dm?: boolean;
  /** The user's locale (default `en-US`). */
  locale?: string;
  /** Override the member's permissions (default: @everyone plus the member's roles). */
  memberPermissions?: bigint | string;
  /** Override `app_permissions` (default: the bot's permissions). */
  appPermissions?: bigint | string;
  /** The bot gets the interaction this long after Discord created it; counts against the 3 s window. */
  ageMs?: number;
}

export interface SlashCommandInput extends InteractionInput {
  /** The command's name. If it was registered (PUT …/commands), its id and option types are used. */
  name: string;
  /** `{ model: 'chat-hermes', force: true }` or a list of OptionInput. */
  options?: Record<string, OptionValue> | OptionInput[];
  subcommand?: string;
  group?: string;
}

export interface AutocompleteInput extends SlashCommandInput {
  /** The option being typed; it gets `focused: true` (its value from `options`, or `value`). */
  focused: string;
  /** What the user has typed so far in the focused option (default: its value in `options`, or ''). */
  value?: string;
}

export interface ComponentInput extends InteractionInput {
  customId: string;
  /** The message the component is on: an id or a message object. Default: the newest stored message with that custom_id. */
  message?: string | Wire;
  /** 2 button (default), 3 string select, … */
  componentType?: number;
  /** Selected values, for select menus. */
  values?: string[];
}

const OptionType = { Subcommand: 1, SubcommandGroup: 2, String: 3, Integer: 4, Boolean: 5, User: 6, Channel: 7, Role: 8, Mentionable: 9, Number: 10 } as const;

function inferType(value: OptionValue | undefined): number {
  if (typeof value === 'boolean') return OptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  return OptionType.String;
}

function findCommand(state: FakeState, name: string): Wire | undefined {
  const guild = state.guildCommands.get(state.guildId) ?? [];
  return guild.find((c) => c.name === name && (c.type ?? 1) === 1) ?? state.globalCommands.find((c) => c.name === name && (c.type ?? 1) === 1);
}

function componentsOf(message: Wire): Wire[] {
  const out: Wire[] = [];
  const walk = (c: Wire) => {
    if (!c || typeof c !== 'object') return;
    out.push(c);
    for (const child of Array.isArray(c.components) ? c.components : []) walk(child);
    if (c.accessory) walk(c.accessory);
  };
  for (const c of Array.isArray(message?.components) ? message.components : []) walk(c);
  return out;
}

export class InteractionFactory {
  constructor(private readonly state: FakeState) {}

  /** The `channel` object of an interaction, with the invoking member's permissions in it. */
  private channelFor(userId: string, input: InteractionInput, channelId?: string): Wire {
    const { state } = this;
    if (input.dm) return { ...state.dmChannelFor(userId) };
    const channel = state.channels.get(channelId ?? state.resolveChannel(input.channel));
    if (!channel) throw new Error('fake-discord: unknown channel');
    if (channel.type === ChannelType.DM) return { ...channel };
    const permissions = input.memberPermissions ?? state.permissionsOf(userId);
    return { ...channel, permissions: BigInt(permissions).toString() };
  }

  /** Builds the payload, registers it, and returns its record. */
  private create(type: number, input: InteractionInput, data: Wire, extra: Wire = {}, channelId?: string): InteractionRecord {
    const { state } = this;
    const userId = state.resolveUser(input.user);
    const createdAt = state.clock.now() - (input.ageMs ?? 0);
    const id = state.ids.next(createdAt);
    const token = `aW50ZXJhY3Rpb246${id}${randomBytes(24).toString('base64url')}`;
    const channel = this.channelFor(userId, input, channelId);
    const dm = channel.type === ChannelType.DM;
    const payload: Wire = {
      id,
      application_id: state.applicationId,
      type,
      data,
      token,
      version: 1,
      channel,
      channel_id: channel.id,
      app_permissions: BigInt(input.appPermissions ?? state.permissionsOf(state.bot.id)).toString(),
      locale: input.locale ?? 'en-US',
      entitlements: [],
      entitlement_sku_ids: [],
      authorizing_integration_owners: { '0': dm ? '0' : state.guildId },
      context: dm ? 1 : 0,
      attachment_size_limit: 10 * 1024 * 1024,
      ...extra,
    };
    if (dm) payload.user = state.users.get(userId);
    else {
      if (!state.isMember(userId)) throw new Error(`fake-discord: user ${userId} is not a member of the guild; use dm: true`);
      const member = state.memberObject(userId, true);
      if (input.memberPermissions !== undefined) member.permissions = BigInt(input.memberPermissions).toString();
      payload.member = member;
      payload.guild_id = state.guildId;
      payload.guild = { id: state.guildId, locale: 'en-US', features: [] };
      payload.guild_locale = 'en-US';
    }
    const record: InteractionRecord = { id, token, type, payload, createdAt, channelId: channel.id, acknowledged: false, followUpIds: [] };
    state.interactions.set(id, record);
    state.interactionsByToken.set(token, record);
    return record;
  }

  /** Option objects for a command invocation, typed from the registered definition where there is one. */
  private commandData(input: SlashCommandInput, focused?: { name: string; value: string }): Wire {
    const { state } = this;
    const command = findCommand(state, input.name);
    let defs: Wire[] = command?.options ?? [];
    if (input.subcommand) {
      const groupDef = input.group ? defs.find((d) => d.name === input.group && d.type === OptionType.SubcommandGroup) : undefined;
      const subDef = (groupDef?.options ?? defs).find((d: Wire) => d.name === input.subcommand && d.type === OptionType.Subcommand);
      defs = subDef?.options ?? [];
    }
    const given: OptionInput[] = Array.isArray(input.options)
      ? input.options
      : Object.entries(input.options ?? {}).map(([name, value]) => ({ name, value }));
    if (focused && !given.some((o) => o.name === focused.name)) given.push({ name: focused.name, value: focused.value });

    const resolved: Wire = {};
    const leaf = (option: OptionInput): Wire => {
      const isFocused = focused?.name === option.name || Boolean(option.focused);
      const type = option.type ?? defs.find((d) => d.name === option.name)?.type ?? inferType(option.value);
      // Autocomplete sends what was typed so far as a string, whatever the option's type.
      let value: OptionValue | undefined = focused?.name === option.name ? focused.value : option.value;
      if (!isFocused && (type === OptionType.Integer || type === OptionType.Number)) value = Number(value);
      const out: Wire = { name: option.name, type, value };
      if (isFocused) out.focused = true;
      this.resolve(type, String(value), resolved);
      return out;
    };

    let options: Wire[] = given.map(leaf);
    if (input.subcommand) {
      const sub = { name: input.subcommand, type: OptionType.Subcommand, options };
      options = input.group ? [{ name: input.group, type: OptionType.SubcommandGroup, options: [sub] }] : [sub];
    }
    const data: Wire = { id: command?.id ?? state.ids.next(), name: input.name, type: 1, options };
    if (command?.guild_id) data.guild_id = command.guild_id;
    if (Object.keys(resolved).length > 0) data.resolved = resolved;
    return data;
  }

  /** Fills `resolved` for user, channel and role options, as Discord does. */
  private resolve(type: number, id: string, resolved: Wire): void {
    const { state } = this;
    if (type === OptionType.User || type === OptionType.Mentionable) {
      const user = state.users.get(id);
      if (user) {
        (resolved.users ??= {})[id] = user;
        if (state.isMember(id)) {
          const { user: _user, ...member } = state.memberObject(id, true);
          (resolved.members ??= {})[id] = member;
        }
      }
    }
    if (type === OptionType.Role || type === OptionType.Mentionable) {
      const role = state.roles.get(id);
      if (role) (resolved.roles ??= {})[id] = role;
    }
    if (type === OptionType.Channel) {
      const channel = state.channels.get(id);
      if (channel) (resolved.channels ??= {})[id] = { id, name: channel.name, type: channel.type, permissions: state.permissionsOf(state.bot.id).toString() };
    }
  }

  slashCommand(input: SlashCommandInput): InteractionRecord {
    return this.create(InteractionType.ApplicationCommand, input, this.commandData(input));
  }

  autocomplete(input: AutocompleteInput): InteractionRecord {
    const fromOptions = Array.isArray(input.options) ? input.options.find((o) => o.name === input.focused)?.value : input.options?.[input.focused];
    const value = input.value ?? (fromOptions === undefined ? '' : String(fromOptions));
    return this.create(InteractionType.Autocomplete, input, this.commandData(input, { name: input.focused, value }));
  }

  component(input: ComponentInput): InteractionRecord {
    const { state } = this;
    let message: Wire;
    if (typeof input.message === 'string') {
      message = state.findMessage(input.message);
      if (!message) throw new Error(`fake-discord: unknown message ${input.message}`);
    } else if (input.message) {
      message = input.message;
    } else {
      const has = (m: Wire) => componentsOf(m).some((c) => c.custom_id === input.customId);
      const preferred = input.dm ? undefined : input.channel ? state.resolveChannel(input.channel) : undefined;
      const lists = preferred ? [state.channelMessages(preferred)] : [...state.messages.values()];
      message = lists
        .flat()
        .filter(has)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .pop();
      if (!message) throw new Error(`fake-discord: no stored message has a component with custom_id ${JSON.stringify(input.customId)}; pass \`message\``);
    }
    const component = componentsOf(message).find((c) => c.custom_id === input.customId);
    const componentType = input.componentType ?? component?.type ?? 2;
    const data: Wire = { custom_id: input.customId, component_type: componentType };
    if (input.values) data.values = input.values;
    const channelId = input.dm ? undefined : input.channel ? state.resolveChannel(input.channel) : message.channel_id;
    const dm = input.dm ?? state.channels.get(message.channel_id)?.type === ChannelType.DM;
    return this.create(InteractionType.MessageComponent, { ...input, dm }, data, { message: structuredClone(message) }, dm ? undefined : channelId);
  }
}
