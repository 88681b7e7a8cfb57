import { randomUUID } from 'node:crypto';
import { defineCommand } from '../src/chat/command.js';
import type { Reply } from '../src/core/reply.js';
import { requesterOf } from '../src/chat/requester.js';
import { isUserError, usageError } from '../src/core/errors.js';
import { startDedupId } from '../src/state/model-keys.js';
import { assertWorkerOnline } from '../src/bot/worker-online.js';
import { failureReply, startReply } from '../src/bot/lifecycle-replies.js';
import modelStart from '../jobs/model-start.js';

/** On top of the model's own start timeout: the stops it makes room with, and a queue ahead of it. */
const WAIT_MARGIN_MS = 120_000;

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
  async execute({ ctx, caller, options, progress }): Promise<Reply> {
    const ref = ctx.inventory.resolveModel(options.model, options.host);
    if (options.force && caller.role !== 'admin') {
      return {
        outcome: 'denied',
        tone: 'error',
        title: `force:true overrides the VRAM check and needs admin; your role (${caller.role ?? 'none'}) may not use it.`,
        blocks: [],
        hint: `Start ${ref.name} without force; if it does not fit, the answer says which idle models to stop.`,
      };
    }
    const stopFirst = (options.stop_first ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((name) => ctx.inventory.resolveModel(name, ref.host).name);
    if (stopFirst.includes(ref.name)) throw usageError(`stop_first names ${ref.name} itself.`);

    await assertWorkerOnline(ctx, ref.host);
    // a start of the same model already queued or running answers this request too (BullMQ deduplication)
    const dedupId = startDedupId(ref.host, ref.name);
    const running = await ctx.jobs
      .queue(ref.host)
      .getDeduplicationJobId(dedupId)
      .catch(() => null);
    if (running) progress(`${ref.name} is already being started (job ${running}); following it`);
    else progress(`queued: start ${ref.name} on ${ref.host}`);

    const requestId = randomUUID();
    try {
      const result = await ctx.jobs.run(
        modelStart,
        ref.host,
        { model: ref.name, force: Boolean(options.force), stopFirst: [...new Set(stopFirst)], requestId },
        {
          requestedBy: requesterOf(caller),
          deduplicationId: dedupId,
          waitMs: (ref.model.health?.startTimeout ?? 120_000) + WAIT_MARGIN_MS,
          onProgress: (text) => progress(text),
        },
      );
      return startReply(result, requestId);
    } catch (err) {
      if (isUserError(err) && err.kind !== 'unavailable') return failureReply(err);
      throw err;
    }
  },
});
