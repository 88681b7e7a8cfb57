import { planStart, runStart, startDeclined, stopFirstQuestion } from '../src/bot/lifecycle/start.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'start',
  description: 'Start a model (VRAM check first) and wait until it is healthy.',
  capability: 'operator',
  mutating: true,
  options: {
    model: { type: 'string', required: true, description: 'name, alias or unique prefix', autocomplete: 'model' },
    host: { type: 'string', description: 'the host, where the model is on several', autocomplete: 'host' },
    force: { type: 'boolean', description: 'start even when it does not fit in free VRAM (admin only)' },
    stop_first: { type: 'string', description: 'stop these idle models first to make room (comma-separated)', autocomplete: 'model', maxLength: 600 },
  },
  async execute({ ctx, caller, options, progress, confirm }) {
    const plan = planStart(ctx, caller, options);
    if (plan.stopFirst.length > 0 && !(await confirm(await stopFirstQuestion(ctx, caller, plan, progress)))) return startDeclined(plan);
    return await runStart(ctx, caller, plan, progress);
  },
});
