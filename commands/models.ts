import { modelsReply } from '../src/bot/status/models.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'models',
  description: 'The model inventory: names, aliases, type, engine, state, VRAM (expected, measured, now), idle unload.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }) {
    return await modelsReply(ctx, ctx.inventory.selectHosts(options.host));
  },
});
