import { footprintMiB, liveModelStates, nothingToStop, runStop, runStops, stopDeclined, stopQuestion, stopTargets, whatItFrees } from '../src/bot/lifecycle/stop.js';
import { defineCommand } from '../src/bot/define-command.js';
import { requesterOf } from '../src/chat/requester.js';

export default defineCommand({
  name: 'stop',
  description: 'Stop a model, or several (asks first, and says what it frees).',
  capability: 'operator',
  mutating: true,
  options: {
    model: { type: 'string', required: true, description: 'name, alias or unique prefix', autocomplete: 'model' },
    host: { type: 'string', description: 'the host, where the model is on several', autocomplete: 'host' },
    also: { type: 'string', description: 'more models to stop on the same host (comma-separated); one confirmation for all', autocomplete: 'model', maxLength: 600 },
  },
  async execute({ ctx, caller, options, progress, confirm }) {
    const refs = stopTargets(ctx, options);
    const lives = await liveModelStates(ctx, refs, requesterOf(caller), progress);
    const up = refs.flatMap((ref, i) => (nothingToStop(ref, lives[i]!) ? [] : [{ ref, live: lives[i]! }]));
    if (up.length === 0) return nothingToStop(refs[0]!, lives[0]!)!;
    const stops = await Promise.all(up.map(async ({ ref, live }) => ({ ref, live, frees: whatItFrees(live, await footprintMiB(ctx, ref), ref.model.vramMiB) })));
    const question = stopQuestion(ctx.config, stops);
    const [first, ...others] = up.map((u) => u.ref);
    if (!(await confirm(question))) return stopDeclined(first!, question, others);
    return others.length === 0 ? await runStop(ctx, caller, first!, progress) : await runStops(ctx, caller, [first!, ...others], progress);
  },
});
