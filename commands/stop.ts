import { footprintMiB, liveModelState, nothingToStop, runStop, stopDeclined, stopQuestion, whatItFrees } from '../src/bot/lifecycle/stop.js';
import { defineCommand } from '../src/bot/define-command.js';
import { requesterOf } from '../src/chat/requester.js';

export default defineCommand({
  name: 'stop',
  description: 'Stop a model (asks first, and says what it frees).',
  capability: 'operator',
  mutating: true,
  options: {
    model: { type: 'string', required: true, description: 'name, alias or unique prefix', autocomplete: 'model' },
    host: { type: 'string', description: 'the host, where the model is on several', autocomplete: 'host' },
  },
  async execute({ ctx, caller, options, progress, confirm }) {
    const ref = ctx.inventory.resolveModel(options.model, options.host);
    const live = await liveModelState(ctx, ref, requesterOf(caller), progress);
    const nothing = nothingToStop(ref, live);
    if (nothing) return nothing;
    const question = stopQuestion(ctx.config, [{ ref, live, frees: whatItFrees(live, await footprintMiB(ctx, ref), ref.model.vramMiB) }]);
    if (!(await confirm(question))) return stopDeclined(ref, question);
    return await runStop(ctx, caller, ref, progress);
  },
});
