import { runSmokeCommand } from '../src/bot/proxy/smoke.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'smoke',
  description: 'Real 1-token requests through the LiteLLM proxy: which deployment answered, fallbacks seen.',
  capability: 'operator',
  options: {
    model: { type: 'string', description: 'one model (with the groups it serves) or proxy group; default: all', autocomplete: 'model' },
    host: { type: 'string', description: 'only the models of this host', autocomplete: 'host' },
    start: { type: 'boolean', description: 'start stopped local models first (as /start does); default: report them as stopped' },
  },
  async execute({ ctx, caller, options, progress }) {
    return await runSmokeCommand(ctx, caller, options, progress);
  },
});
