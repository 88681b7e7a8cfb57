import { defineCommand } from '../src/bot/define-command.js';
import { vramReply } from '../src/bot/vram/reply.js';

export default defineCommand({
  name: 'vram',
  description: 'VRAM per GPU and per model or process, with a chart of the last hour.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }) {
    return await vramReply(ctx, ctx.inventory.selectHosts(options.host));
  },
});
