import type { CommandInteractionOption, Interaction } from 'discord.js';
import type { DiscordUser } from './caller.js';

/**
 * An interaction as plain data: what the router and the responder need, read once from the
 * discord.js object so that everything after it works without discord.js classes.
 */
interface BaseInfo {
  id: string;
  token: string;
  applicationId: string;
  /** when Discord created it (its snowflake), ms */
  createdAt: number;
  /** when the gateway event reached the bot, ms */
  receivedAt: number;
  user: DiscordUser;
}

export interface CommandInfo extends BaseInfo {
  kind: 'command';
  name: string;
  options: Record<string, unknown>;
}

export interface AutocompleteInfo extends BaseInfo {
  kind: 'autocomplete';
  name: string;
  options: Record<string, unknown>;
  focused: { name: string; value: string };
}

export interface ButtonInfo extends BaseInfo {
  kind: 'button';
  customId: string;
  /** the message the button is on */
  messageId: string;
}

export type InteractionInfo = CommandInfo | AutocompleteInfo | ButtonInfo;

export function infoOf(interaction: Interaction, receivedAt: number): InteractionInfo | null {
  const member = interaction.member;
  let roleIds: string[] | null = null;
  if (member) roleIds = Array.isArray(member.roles) ? [...member.roles] : [...member.roles.cache.keys()];
  const base = {
    id: interaction.id,
    applicationId: interaction.applicationId,
    createdAt: interaction.createdTimestamp,
    receivedAt,
    user: {
      userId: interaction.user.id,
      username: interaction.user.username,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? '',
      roleIds,
    },
  };
  if (interaction.isChatInputCommand()) {
    return { ...base, token: interaction.token, kind: 'command', name: interaction.commandName, options: optionValues(interaction.options.data) };
  }
  if (interaction.isAutocomplete()) {
    const focused = interaction.options.getFocused(true);
    return { ...base, token: interaction.token, kind: 'autocomplete', name: interaction.commandName, options: optionValues(interaction.options.data), focused: { name: focused.name, value: String(focused.value ?? '') } };
  }
  if (interaction.isButton()) {
    return { ...base, token: interaction.token, kind: 'button', customId: interaction.customId, messageId: interaction.message.id };
  }
  return null;
}

/** `{ model: 'chat-hermes', force: true }` from Discord's option list (labops commands have no subcommands). */
function optionValues(data: readonly CommandInteractionOption[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const option of data) {
    if (option.options) Object.assign(out, optionValues(option.options));
    else if (option.value !== undefined && option.value !== null) out[option.name] = option.value;
  }
  return out;
}
