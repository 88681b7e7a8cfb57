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

