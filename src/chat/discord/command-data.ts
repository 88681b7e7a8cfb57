import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { AnyCommand, OptionDef } from '../command.js';
import { DEFAULT_MAX_OPTION, MAX_LINE } from '../input.js';

/** Discord's limits on application commands. */
export const COMMAND_LIMITS = { description: 100, options: 25, choices: 25, choiceLength: 100, name: /^[-_\p{L}\p{N}]{1,32}$/u } as const;

/**
 * A command definition as Discord's application command JSON (for a bulk overwrite). Pure: the
 * same `commands/index.ts` list always gives the same JSON.
 *
 * - Required options come first (Discord refuses a required option after an optional one).
 * - A string option with `autocomplete` gets Discord's autocomplete; one with `choices` gets them listed.
 * - A mutating command is offered in guilds only; the others in the bot's DMs too. Who may run
 *   what is checked by the bot; `default_member_permissions` is left open so that a server admin
 *   may narrow it per role in the server's Integrations settings (a first gate only).
 */
export function commandData(command: AnyCommand): RESTPostAPIChatInputApplicationCommandsJSONBody {
  if (!COMMAND_LIMITS.name.test(command.name) || command.name !== command.name.toLowerCase()) {
    throw new Error(`/${command.name}: not a valid Discord command name (lower case, 1–32 letters, digits, - or _)`);
  }
  const entries = Object.entries(command.options as Record<string, OptionDef>);
  if (entries.length > COMMAND_LIMITS.options) throw new Error(`/${command.name}: Discord allows at most ${COMMAND_LIMITS.options} options`);
  const ordered = [...entries.filter(([, d]) => d.required), ...entries.filter(([, d]) => !d.required)];
  const options = ordered.map(([name, def]) => optionData(command.name, name, def));
  return {
    type: ApplicationCommandType.ChatInput,
    name: command.name,
    description: clip(command.description, COMMAND_LIMITS.description),
    ...(options.length > 0 ? { options } : {}),
    contexts: command.mutating ? [InteractionContextType.Guild] : [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    nsfw: false,
  };
}

export function commandsData(commands: readonly AnyCommand[]): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return commands.map(commandData);
}

function optionData(commandName: string, name: string, def: OptionDef): APIApplicationCommandBasicOption {
  if (!COMMAND_LIMITS.name.test(name) || name !== name.toLowerCase()) {
    throw new Error(`/${commandName} ${name}: not a valid Discord option name (lower case, 1–32 letters, digits, - or _)`);
  }
  const base = { name, description: clip(def.description, COMMAND_LIMITS.description), required: Boolean(def.required) };
  switch (def.type) {
    case 'string': {
      const extra = { max_length: Math.min(MAX_LINE, Math.max(1, def.maxLength ?? DEFAULT_MAX_OPTION)) };
      if (def.choices && def.choices.length > 0) {
        if (def.choices.length > COMMAND_LIMITS.choices) throw new Error(`/${commandName} ${name}: Discord allows at most ${COMMAND_LIMITS.choices} choices`);
        const choices = def.choices.map((c) => ({ name: clip(c, COMMAND_LIMITS.choiceLength), value: c }));
        return { ...base, ...extra, type: ApplicationCommandOptionType.String, choices };
      }
      if (def.autocomplete) return { ...base, ...extra, type: ApplicationCommandOptionType.String, autocomplete: true };
      return { ...base, ...extra, type: ApplicationCommandOptionType.String };
    }
    case 'integer':
      return {
        ...base,
        type: ApplicationCommandOptionType.Integer,
        ...(def.min !== undefined ? { min_value: def.min } : {}),
        ...(def.max !== undefined ? { max_value: def.max } : {}),
      };
    case 'boolean':
      return { ...base, type: ApplicationCommandOptionType.Boolean };
  }
}

function clip(text: string, max: number): string {
  const t = text.trim() || '–';
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}
