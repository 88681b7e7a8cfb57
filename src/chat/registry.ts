import type { Config } from '../config/schema.js';
import { closest } from '../config/inventory.js';
import type { AnyCommand } from './command.js';

export class CommandRegistry {
  private readonly byName: Map<string, AnyCommand>;

  constructor(readonly list: readonly AnyCommand[]) {
    this.byName = new Map(list.map((c) => [c.name, c]));
    if (this.byName.size !== list.length) throw new Error('two commands share a name');
  }

  get(name: string): AnyCommand | undefined {
    return this.byName.get(name);
  }
}

/** Config keys that name commands, checked against the commands that exist (a typo must not silently do nothing). */
export function commandListProblems(config: Pick<Config, 'discord'>, commands: readonly AnyCommand[]): string[] {
  const names = commands.map((c) => c.name);
  return config.discord.twoPersonConfirm.flatMap((entry, i) => {
    if (names.includes(entry)) return [];
    const bare = entry.replace(/^\//, '');
    const hint = names.includes(bare) ? ` (write it without the slash: ${bare})` : `; expected one of ${closest(bare, names).join(' | ')}`;
    return [`discord.twoPersonConfirm.${i}: "${entry}" is not a labops command${hint}`];
  });
}
