import { randomUUID } from 'node:crypto';
import type { Caller, ConfirmRequest } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import type { ModelRef } from '../../config/inventory.js';
import type { Config } from '../../config/schema.js';
import type { ModelStatus } from '../../contracts/lab-data.js';
import { modelStop } from '../../contracts/model-stop.js';
import type { Requester } from '../../contracts/define.js';
import { errorMessage, failedError, isUserError } from '../../core/errors.js';
import { statusSnapshot, type StatusSnapshot } from '../../contracts/status-snapshot.js';
import { ensureRedis } from '../../redis/connection.js';
import { isOnline, readHeartbeat } from '../../state/heartbeat.js';
import { mib } from '../../core/format.js';
import { declined, info, text, type Reply } from '../../core/reply.js';
import { stopDedupId } from '../../state/model-keys.js';
import type { BotContext } from '../context.js';
import { stateText } from '../status/render.js';
import { failureReply, fallbackLines, stopReply } from './replies.js';

/** A model's state as its worker tells it now; a worker that does not answer is a clear failure. */
export async function liveModelState(ctx: BotContext, ref: ModelRef, requestedBy: Requester, progress: (text: string) => void): Promise<ModelStatus> {
  return (await liveModelStates(ctx, [ref], requestedBy, progress))[0]!;
}

/**
 * The states of models of one host, asked fresh from its worker (a status.snapshot job): a stop is
 * an action, so it does not go by the live state, which may be a pass old.
 */
export async function liveModelStates(ctx: BotContext, refs: ModelRef[], requestedBy: Requester, progress: (text: string) => void): Promise<ModelStatus[]> {
  const host = refs[0]!.host;
  const { snapshot, problem } = await askWorker(ctx, host, requestedBy, progress);
  return refs.map((ref) => {
    const live = snapshot?.models.find((m) => m.name === ref.name);
    if (!snapshot || !live) {
      throw failedError(`Cannot stop ${ref.name}: the worker on ${ref.host} does not answer (${problem ?? 'no answer'}).`, `Nothing was queued. Is \`labops worker --host ${ref.host}\` running? /status shows it.`);
    }
    return live;
  });
}

async function askWorker(ctx: BotContext, host: string, requestedBy: Requester, progress: (text: string) => void): Promise<{ snapshot: StatusSnapshot | null; problem: string | null }> {
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const heartbeat = await readHeartbeat(ctx.redis, ctx.prefix, host);
  if (!isOnline(heartbeat)) return { snapshot: null, problem: !heartbeat ? 'no worker has reported yet' : heartbeat.stoppedAt ? 'worker stopped' : 'worker offline' };
  try {
    progress(`asking the worker on ${host}`);
    return { snapshot: await ctx.jobs.run(statusSnapshot, host, {}, { requestedBy, waitMs: 10_000, dropIfUnanswered: true }), problem: null };
  } catch (err) {
    if (!isUserError(err)) ctx.logger.error({ err, host }, 'status snapshot failed');
    return { snapshot: null, problem: errorMessage(err) };
  }
}

/** The answer when there is nothing to stop (or no way to tell), else null. */
export function nothingToStop(ref: ModelRef, live: ModelStatus): Reply | null {
  if (live.state === 'stopped' || live.state === 'failed') {
    const how = live.state === 'failed' ? ` (it ${live.detail ? `failed: ${live.detail}` : 'failed'})` : '';
    return info(`${ref.name} is already stopped on ${ref.host}${how}; nothing was touched.`, [], { data: { status: 'already-stopped', host: ref.host, model: ref.name, state: live.state } });
  }
  if (live.state === 'unknown') {
    return { ...info(`Cannot tell whether ${ref.name} runs on ${ref.host}: ${live.detail ?? 'unknown state'}.`, [], { hint: 'Nothing was stopped.' }), outcome: 'failed', tone: 'error' };
  }
  return null;
}

/** What a stop frees: the VRAM held now, else the measured footprint, else the declared VRAM. */
export function whatItFrees(live: Pick<ModelStatus, 'vramMiB'>, footprintMiB: number | null, declaredMiB: number): string {
  if (live.vramMiB) return `It frees about ${mib(live.vramMiB)} of VRAM (held now).`;
  const expected = footprintMiB ?? declaredMiB;
  return expected > 0 ? `It frees about ${mib(expected)} of VRAM (${footprintMiB !== null ? 'its measured footprint' : 'declared'}).` : 'No VRAM is attributed to it.';
}

export async function footprintMiB(ctx: BotContext, ref: ModelRef): Promise<number | null> {
  try {
    return (await ctx.footprints.get(ref.host, ref.name))?.vramMiB ?? null;
  } catch (err) {
    ctx.logger.warn({ model: ref.name, err }, 'could not read the model footprint; the stop question uses the declared VRAM');
    return null;
  }
}

/** The confirmation a stop asks for, however it is reached (/stop, or /start stop_first): what it frees and what breaks. */
export function stopQuestion(config: Config, stops: { ref: ModelRef; live: ModelStatus; frees: string }[], then?: string): ConfirmRequest {
  const names = stops.map((s) => s.ref.name);
  const lines = stops.flatMap(({ ref, live, frees }) => [
    `${ref.name} is ${stateText(live)}. ${frees}`,
    `Requests in flight to ${ref.name} will fail.`,
    ...fallbackLines(config, [ref.name, ...(ref.model.litellmName ? [ref.model.litellmName] : [])]),
  ]);
  const host = stops[0]?.ref.host ?? '?';
  return {
    title: then ? `Stop ${names.join(' and ')} on ${host}, then ${then}?` : `Stop ${names.join(' and ')} on ${host}?`,
    detail: [...lines, `/start ${names[0]} loads it again.`].join('\n'),
    confirmLabel: then ? `Stop ${names.join(' + ')} and start` : `Stop ${names.join(' + ')}`,
    danger: true,
    rule: 'stop',
  };
}

export function stopDeclined(ref: ModelRef, question: ConfirmRequest, others: ModelRef[] = []): Reply {
  const names = [ref, ...others].map((r) => r.name);
  const title = others.length === 0 ? `${ref.name} was not stopped.` : `${names.join(' and ')} were not stopped.`;
  return { ...declined(title, { data: { status: 'declined', host: ref.host, model: ref.name, ...(others.length > 0 ? { models: names } : {}) } }), blocks: [text(question.detail ?? '')] };
}

/** The models of a /stop: `model`, and `also` (comma-separated) on the same host; each once. */
export function stopTargets(ctx: BotContext, options: { model: string; host?: string; also?: string }): ModelRef[] {
  const ref = ctx.inventory.resolveModel(options.model, options.host);
  const others = (options.also ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => ctx.inventory.resolveModel(n, ref.host));
  return [...new Map([ref, ...others].map((r) => [r.name, r])).values()];
}

/** Several stops, one after the other, answered as one reply (the worst outcome wins). */
export async function runStops(ctx: BotContext, caller: Caller, refs: ModelRef[], progress: (text: string) => void): Promise<Reply> {
  const replies: Reply[] = [];
  for (const ref of refs) replies.push(await runStop(ctx, caller, ref, progress));
  if (replies.length === 1) return replies[0]!;
  const bad = replies.find((r) => r.outcome !== 'ok');
  const host = refs[0]!.host;
  const title = bad ? `Not every model was stopped on ${host}: ${bad.title}` : `Stopped ${refs.map((r) => r.name).join(' and ')} on ${host}.`;
  return {
    ...(bad ?? replies[0]!),
    title,
    blocks: replies.map((r) => text(r.title)),
    data: { status: bad ? 'partly' : 'stopped', host, results: replies.map((r) => r.data) },
    hint: `/start loads them again.`,
  };
}

/** Queues the stop and waits for it; the worker's own failures come back as a reply. */
export async function runStop(ctx: BotContext, caller: Caller, ref: ModelRef, progress: (text: string) => void): Promise<Reply> {
  const requestId = randomUUID();
  try {
    const result = await ctx.jobs.run(modelStop, ref.host, { model: ref.name, requestId }, {
      requestedBy: requesterOf(caller),
      deduplicationId: stopDedupId(ref.host, ref.name),
      waitMs: 5 * 60_000,
      onProgress: (text) => progress(text),
    });
    return stopReply(result, requestId);
  } catch (err) {
    if (isUserError(err) && err.kind !== 'unavailable') return failureReply(err);
    throw err;
  }
}
