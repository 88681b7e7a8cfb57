import { closest } from './inventory.js';
import type { Config } from './schema.js';

/** Config keys that name commands, checked against the commands that exist (a typo must not silently do nothing). */
export function commandListProblems(config: Pick<Config, 'discord'>, commandNames: readonly string[]): string[] {
  return config.discord.twoPersonConfirm.flatMap((entry, i) => {
    if (commandNames.includes(entry)) return [];
    const bare = entry.replace(/^\//, '');
    const hint = commandNames.includes(bare) ? ` (write it without the slash: ${bare})` : `; expected one of ${closest(bare, commandNames).join(' | ')}`;
    return [`discord.twoPersonConfirm.${i}: "${entry}" is not a labops command${hint}`];
  });
}
