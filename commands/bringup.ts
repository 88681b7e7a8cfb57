import { runBringupCommand } from '../src/bot/proxy/bringup.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'bringup',
  description: 'After a reboot: the proxy up and ready, /doctor, the listed models started, /smoke — one report.',
  capability: 'operator',
  mutating: true,
  options: {
    models: { type: 'string', description: 'models to start, comma-separated (default: none)', autocomplete: 'model', maxLength: 600 },
  },
  async execute({ ctx, caller, options, progress }) {
    return await runBringupCommand(ctx, caller, options.models, progress);
  },
});
