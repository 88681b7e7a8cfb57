import type { CommandDef, OptionDefs } from '../chat/command.js';
import type { BotContext } from './context.js';

/** Identity helper: a plain object gets full type inference of its options, and the bot's context. */
export function defineCommand<const O extends OptionDefs>(def: CommandDef<O, BotContext>): CommandDef<O, BotContext> {
  return def;
}
