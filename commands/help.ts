import { defineCommand } from '../src/bot/define-command.js';
import { info, table, type Reply } from '../src/core/reply.js';
import { usage } from '../src/chat/options.js';
import { may } from '../src/chat/permissions.js';

export default defineCommand({
  name: 'help',
  description: 'The commands you may run.',
  capability: 'everyone',
  options: {},
  async execute({ ctx, caller }): Promise<Reply> {
    const mine = ctx.commands.list.filter((c) => may(caller.role, c.capability));
    return info(
      caller.role ? `Commands for ${caller.name} (${caller.role})` : `${caller.name} has no labops role: only /help`,
      [table(['command', 'what it does', 'who'], mine.map((c) => [usage(c), c.description, c.capability]))],
      {
        data: { role: caller.role, commands: mine.map((c) => ({ name: c.name, usage: usage(c), capability: c.capability })) },
        ...(caller.role ? {} : { hint: 'Ask an admin of the lab for a role.' }),
      },
    );
  },
});
