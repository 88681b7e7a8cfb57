import type { Caller } from '../../chat/command.js';
import { checkAccess } from '../../chat/dispatch.js';
import { requesterOf } from '../../chat/requester.js';
import type { ModelRef } from '../../config/inventory.js';
import { notConfigured } from '../../config/not-configured.js';
import { isSmokeType, smokeRun, smokeTargets, type SmokePayload } from '../../contracts/smoke.js';
import { errorMessage, isUserError, unavailableError, usageError } from '../../core/errors.js';
import type { Reply } from '../../core/reply.js';
import type { BotContext } from '../context.js';
import { runStart } from '../lifecycle/start.js';
import { assertWorkerOnline } from '../lifecycle/worker-online.js';
import { smokeReply, type StartedFirst } from './smoke-reply.js';

export interface SmokeOptions {
  model?: string;
  host?: string;
  start?: boolean;
}

export interface SmokePlan {
  /** the proxy's host, whose worker runs the smoke */
  proxyHost: string;
  payload: SmokePayload;
}

/**
 * Resolves /smoke's options: a proxy group by its exact name, else a model of the inventory (name,
 * alias or prefix) of a smoke type; the host is checked against the inventory.
 */
export function planSmoke(ctx: Pick<BotContext, 'config' | 'inventory'>, options: SmokeOptions): SmokePlan {
  const proxyHost = ctx.config.litellm.host;
  if (!proxyHost) throw unavailableError(`/smoke runs on the worker of the proxy's host, and ${notConfigured(ctx.config, 'litellm.host')}.`, 'Set litellm.host to the host whose inventory holds the proxy.');
  if (options.host !== undefined) ctx.inventory.host(options.host);
  const payload: SmokePayload = options.host !== undefined ? { host: options.host } : {};
  if (options.model === undefined) return { proxyHost, payload };
  if (ctx.config.litellm.groups[options.model]) return { proxyHost, payload: { ...payload, only: { kind: 'group', name: options.model } } };
  const ref = ctx.inventory.resolveModel(options.model, options.host);
  if (!isSmokeType(ref.model.type)) {
    throw usageError(`${ref.name} is a ${ref.model.type} model: /smoke sends chat, embeddings and vision requests through the proxy.`, 'Without a model, /smoke tests every model and proxy group.');
  }
  return { proxyHost, payload: { ...payload, only: { kind: 'model', host: ref.host, name: ref.name } } };
}

/** /smoke: optionally starts the stopped local models first (the /start path), then runs the smoke on the proxy's worker. */
export async function runSmokeCommand(ctx: BotContext, caller: Caller, options: SmokeOptions, progress: (text: string) => void): Promise<Reply> {
  const plan = planSmoke(ctx, options);
  let started: StartedFirst[] = [];
  if (options.start) {
    const denial = startDenial(ctx, caller);
    if (denial) return denial;
    started = await startFirst(ctx, caller, plan, progress);
  }
  await assertWorkerOnline(ctx, plan.proxyHost);
  progress(`queued: smoke on ${plan.proxyHost}`);
  const result = await ctx.jobs.run(smokeRun, plan.proxyHost, plan.payload, {
    requestedBy: requesterOf(caller),
    waitMs: smokeRun.timeoutMs,
    onProgress: (text) => progress(text),
  });
  return smokeReply(result, started);
}

/**
 * `start:true`: each local model the smoke is about (and each group's local model) goes through
 * the same path as /start — VRAM admission, one start at a time, "already running" untouched —
 * and needs what /start needs. A model that could not be started is then reported as stopped.
 */
async function startFirst(ctx: BotContext, caller: Caller, plan: SmokePlan, progress: (text: string) => void): Promise<StartedFirst[]> {
  const refs = modelsToStart(ctx, plan);
  const outcomes: StartedFirst[] = [];
  for (const ref of refs) {
    try {
      const reply = await runStart(ctx, caller, { ref, force: false, stopFirst: [] }, progress);
      outcomes.push({ model: ref.name, host: ref.host, status: startStatus(reply), ok: reply.outcome === 'ok', detail: reply.title });
    } catch (err) {
      if (!isUserError(err)) throw err;
      outcomes.push({ model: ref.name, host: ref.host, status: 'failed', ok: false, detail: errorMessage(err) });
    }
  }
  return outcomes;
}

/** Whoever may not /start here (role, DM, channel) may not start models through /smoke either. */
function startDenial(ctx: BotContext, caller: Caller): Reply | null {
  const start = ctx.commands.get('start');
  const denial = start ? checkAccess(ctx, start, caller) : null;
  return denial ? { ...denial, title: `start:true starts models, and ${denial.title.charAt(0).toLowerCase()}${denial.title.slice(1)}` } : null;
}

function modelsToStart(ctx: Pick<BotContext, 'config' | 'inventory'>, plan: SmokePlan): ModelRef[] {
  const all = ctx.inventory.models();
  const refs = smokeTargets(ctx.config, ctx.inventory, plan.payload).flatMap((t) => {
    if (t.kind === 'model') return all.filter((m) => m.host === t.host && m.name === t.name);
    return t.servedBy ? all.filter((m) => m.name === t.servedBy).slice(0, 1) : [];
  });
  return [...new Map(refs.map((r) => [`${r.host}/${r.name}`, r])).values()];
}

function startStatus(reply: Reply): string {
  const data = reply.data;
  const status = typeof data === 'object' && data !== null && 'status' in data ? (data as { status: unknown }).status : undefined;
  return typeof status === 'string' ? status : reply.outcome;
}
