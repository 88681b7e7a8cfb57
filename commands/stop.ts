import { randomUUID } from 'node:crypto';
import { defineCommand } from '../src/chat/command.js';
import { declined, failed, info, text, type Reply } from '../src/core/reply.js';
import { requesterOf } from '../src/chat/requester.js';
import { isUserError } from '../src/core/errors.js';
import { FootprintStore } from '../src/db/footprints.js';
import { stopDedupId } from '../src/state/model-keys.js';
import { failureReply, fallbackLines, stopReply } from '../src/bot/lifecycle-replies.js';
import { collectHosts } from '../src/bot/status/collect.js';
import { mib } from '../src/core/format.js';
import { stateText } from '../src/bot/status/render.js';
import modelStop from '../jobs/model-stop.js';

export default defineCommand({
  name: 'stop',
  description: 'Stop a model (asks first, and says what it frees).',
  capability: 'operator',
  mutating: true,
  options: {
    model: { type: 'string', required: true, description: 'name, alias or unique prefix', autocomplete: 'model' },
    host: { type: 'string', description: 'the host, where the model is on several', autocomplete: 'host' },
  },
  async execute({ ctx, caller, options, progress, confirm }): Promise<Reply> {
    const ref = ctx.inventory.resolveModel(options.model, options.host);
    const requestedBy = requesterOf(caller);

    // the real state first: a stopped model is answered without a question
    const [report] = await collectHosts(ctx, [ref.host], { requestedBy, onProgress: progress });
    const live = report?.snapshot?.models.find((m) => m.name === ref.name);
    if (!report?.snapshot || !live) {
      return failed(`Cannot stop ${ref.name}: the worker on ${ref.host} does not answer (${report?.problem ?? 'no answer'}).`, [], {
        hint: `Nothing was queued. Is \`labops worker --host ${ref.host}\` running? /status shows it.`,
      });
    }
    if (live.state === 'stopped' || live.state === 'failed') {
      const how = live.state === 'failed' ? ` (it ${live.detail ? `failed: ${live.detail}` : 'failed'})` : '';
      return info(`${ref.name} is already stopped on ${ref.host}${how}; nothing was touched.`, [], { data: { status: 'already-stopped', host: ref.host, model: ref.name, state: live.state } });
    }
    if (live.state === 'unknown') {
      return failed(`Cannot tell whether ${ref.name} runs on ${ref.host}: ${live.detail ?? 'unknown state'}.`, [], { hint: 'Nothing was stopped.' });
    }

    let frees: string;
    if (live.vramMiB) frees = `It frees about ${mib(live.vramMiB)} of VRAM (held now).`;
    else {
      const footprint = await new FootprintStore(ctx.audit.database, ctx.audit.schema).get(ref.host, ref.name).catch(() => null);
      const expected = footprint?.vramMiB ?? ref.model.vramMiB;
      frees = expected > 0 ? `It frees about ${mib(expected)} of VRAM (${footprint ? 'its measured footprint' : 'declared'}).` : 'No VRAM is attributed to it.';
    }
    const detail = [
      `${ref.name} is ${stateText(live)}. ${frees}`,
      `Requests in flight to ${ref.name} will fail.`,
      ...fallbackLines(ctx.config, [ref.name, ...(ref.model.litellmName ? [ref.model.litellmName] : [])]),
      `/start ${ref.name} loads it again.`,
    ].join('\n');
    const confirmed = await confirm({ title: `Stop ${ref.name} on ${ref.host}?`, detail, confirmLabel: `Stop ${ref.name}`, danger: true });
    if (!confirmed) return { ...declined(`${ref.name} was not stopped.`, { data: { status: 'declined', host: ref.host, model: ref.name } }), blocks: [text(detail)] };

    const requestId = randomUUID();
    try {
      const result = await ctx.jobs.run(
        modelStop,
        ref.host,
        { model: ref.name, requestId },
        { requestedBy, deduplicationId: stopDedupId(ref.host, ref.name), waitMs: 5 * 60_000, onProgress: (text) => progress(text) },
      );
      return stopReply(result, requestId);
    } catch (err) {
      if (isUserError(err) && err.kind !== 'unavailable') return failureReply(err);
      throw err;
    }
  },
});
