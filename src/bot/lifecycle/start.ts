import { randomUUID } from 'node:crypto';
import type { Caller, ConfirmRequest } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import type { ModelRef } from '../../config/inventory.js';
import { checkStartRequest, modelStart } from '../../contracts/model-start.js';
import { isUserError } from '../../core/errors.js';
import { declined, type Reply } from '../../core/reply.js';
import { startDedupId } from '../../state/model-keys.js';
import type { BotContext } from '../context.js';
import { failureReply, startReply } from './replies.js';
import { footprintMiB, liveModelState, stopQuestion, whatItFrees } from './stop.js';
import { assertWorkerOnline } from './worker-online.js';

/** On top of the model's own start timeout: the stops it makes room with, and a queue ahead of it. */
const WAIT_MARGIN_MS = 120_000;

export interface StartPlan {
  ref: ModelRef;
  force: boolean;
  /** models to stop first, inventory names */
  stopFirst: ModelRef[];
}

/** Resolves the names of a /start (aliases, prefixes, `stop_first` as a comma-separated list) and checks its rules. */
export function planStart(ctx: BotContext, caller: Caller, options: { model: string; host?: string; force?: boolean; stop_first?: string }): StartPlan {
  const ref = ctx.inventory.resolveModel(options.model, options.host);
  const names = (options.stop_first ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const stopFirst = unique(names.map((name) => ctx.inventory.resolveModel(name, ref.host)));
  const force = Boolean(options.force);
  checkStartRequest(ctx.inventory, { host: ref.host, model: ref.name, force, stopFirst: stopFirst.map((r) => r.name) }, caller);
  return { ref, force, stopFirst };
}

/** The confirmation a start that stops other models first asks for: a stop is confirmed however it is reached. */
export async function stopFirstQuestion(ctx: BotContext, caller: Caller, plan: StartPlan, progress: (text: string) => void): Promise<ConfirmRequest> {
  const stops = await Promise.all(
    plan.stopFirst.map(async (ref) => {
      const live = await liveModelState(ctx, ref, requesterOf(caller), progress);
      return { ref, live, frees: whatItFrees(live, await footprintMiB(ctx, ref), ref.model.vramMiB) };
    }),
  );
  return stopQuestion(ctx.config, stops, `start ${plan.ref.name}`);
}

export function startDeclined(plan: StartPlan): Reply {
  return declined(`Nothing was stopped and ${plan.ref.name} was not started.`, { data: { status: 'declined', host: plan.ref.host, model: plan.ref.name } });
}

/** Queues the start (or follows the one already queued) and waits until the model is healthy. */
export async function runStart(ctx: BotContext, caller: Caller, plan: StartPlan, progress: (text: string) => void): Promise<Reply> {
  const { ref } = plan;
  await assertWorkerOnline(ctx, ref.host);
  // a start of the same model already queued or running answers this request too (BullMQ deduplication)
  const dedupId = startDedupId(ref.host, ref.name);
  const running = await ctx.jobs.runningDuplicate(ref.host, dedupId);
  progress(running ? `${ref.name} is already being started (job ${running}); following it` : `queued: start ${ref.name} on ${ref.host}`);
  const requestId = randomUUID();
  try {
    const result = await ctx.jobs.run(
      modelStart,
      ref.host,
      { model: ref.name, force: plan.force, stopFirst: plan.stopFirst.map((r) => r.name), requestId },
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
}

function unique(refs: ModelRef[]): ModelRef[] {
  return [...new Map(refs.map((r) => [r.name, r])).values()];
}
