import { setMaxListeners } from 'node:events';
import { smokeTargets, type SmokePayload, type SmokeResult, type SmokeRow, type SmokeTarget, type SmokeType } from '../../contracts/smoke.js';
import type { ModelState } from '../../contracts/lab-data.js';
import { unavailableError, usageError } from '../../core/errors.js';
import { excerpt } from '../../core/http.js';
import { mapLimit } from '../../core/map-limit.js';
import { redact, safeUrl } from '../../core/redact.js';
import type { ModelInfoEntry } from '../../litellm/client.js';
import { proxyClient } from '../../litellm/from-config.js';
import { saveSmokeResults } from '../../state/smoke-results.js';
import type { WorkerContext } from '../context.js';
import { failureText } from '../../litellm/failure-text.js';
import { raiseSmokeAlerts } from '../alerts/smoke-alerts.js';
import { smokeRequest, type SmokeAnswer } from './request.js';
import { deploymentName } from './served-by.js';

/**
 * /smoke on the proxy's host: real requests through the proxy, `litellm.smoke.concurrency` at a
 * time, each with `litellm.smoke.timeout`. A stopped local model is not asked (it is reported as
 * stopped; the groups it serves are, and show their fallback). Results are kept in Redis and
 * failures raise alerts.
 */
export async function runSmoke(ctx: WorkerContext, payload: SmokePayload, signal: AbortSignal, progress: (text: string) => void): Promise<SmokeResult> {
  const settings = ctx.config.litellm;
  if (settings.host !== ctx.hostName) {
    throw usageError(`/smoke runs on the worker of the proxy's host (litellm.host: ${settings.host ?? 'not set'}), not on ${ctx.hostName}.`);
  }
  const access = proxyClient(ctx.config, { requireMasterKey: true, llmTimeoutMs: settings.smoke.timeout });
  if (!access.ok) throw unavailableError(`/smoke cannot call the proxy: ${access.why}.`, 'Set it in labops.yaml (or the environment) and restart the worker.');
  const client = access.value;
  if (payload.host !== undefined) ctx.inventory.host(payload.host);
  const targets = smokeTargets(ctx.config, ctx.inventory, payload);
  if (targets.length === 0) throw usageError(payload.only ? `Nothing to smoke: ${payload.only.name} is neither a model of a smoke type nor a proxy group.` : 'Nothing to smoke: the inventory has no chat, embeddings or vision models and litellm.groups is empty.');

  const concurrency = ctx.config.litellm.smoke.concurrency;
  // every request in flight listens to the job's signal (its own timeout and fetch's)
  setMaxListeners(Math.max(10, concurrency * 3 + 10), signal);
  const t0 = performance.now();
  progress(`asking the proxy at ${safeUrl(client.baseUrl)} what it serves`);
  const [listed, info, states] = await Promise.all([client.models({ signal }), client.modelInfo({ signal }), localStates(ctx, targets, signal)]);
  const proxyProblem = listed.ok
    ? null
    : listed.kind === 'down' || listed.kind === 'timeout'
      ? listed.detail
      : `LiteLLM at ${safeUrl(client.baseUrl)} answered /v1/models with ${failureText(listed)}`;
  const served = new Set(listed.ok ? listed.ids : []);
  const deployments = info.ok ? info.deployments : [];

  const skipped = proxyProblem ? [] : targets.filter((t) => t.kind === 'model' && !t.explicit && !served.has(t.requested));
  const tested = targets.filter((t) => !skipped.includes(t));
  let inFlight = 0;
  let maxInFlight = 0;
  let done = 0;
  const counts = { ok: 0, failed: 0, stopped: 0 };

  const rows = await mapLimit(tested, concurrency, async (target): Promise<SmokeRow> => {
    const type = target.type ?? typeFromInfo(deployments, target.requested);
    const base = { model: target.name, kind: target.kind, host: target.host, requested: target.requested, type };
    let row: SmokeRow;
    if (target.kind === 'model' && states.get(target.name) === 'stopped') {
      row = { ...base, ok: null, status: null, latencyMs: null, servedBy: null, servedById: null, fallback: false, note: 'stopped: not tested (/start it, or /smoke start:true)', error: null, at: Date.now() };
    } else if (proxyProblem) {
      row = { ...base, ok: false, status: null, latencyMs: null, servedBy: null, servedById: null, fallback: false, note: null, error: proxyProblem, at: Date.now() };
    } else {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let answer: SmokeAnswer;
      try {
        answer = await smokeRequest(client, type, target.requested, { signal, timeoutMs: settings.smoke.timeout });
      } finally {
        inFlight--;
      }
      row = rowOf(base, target, answer, deployments, states, ctx);
    }
    done++;
    counts[row.ok === null ? 'stopped' : row.ok ? 'ok' : 'failed']++;
    progress(`${done}/${tested.length} · ${counts.ok} ok · ${counts.failed} failed${counts.stopped ? ` · ${counts.stopped} stopped` : ''} — ${lineOf(row)}`);
    return row;
  });

  await saveSmokeResults(ctx.redis, ctx.prefix, rows).catch((err: unknown) => ctx.logger.warn({ err }, 'could not keep the smoke results'));
  await raiseSmokeAlerts(ctx, rows, proxyProblem);
  return {
    host: ctx.hostName,
    proxy: safeUrl(client.baseUrl),
    results: rows,
    skipped: skipped.map((t) => ({
      model: t.name,
      host: t.host,
      reason: `not in /v1/models as ${t.requested}${t.requested === t.name ? '; set litellmName if it is served under another name' : ''}`,
    })),
    proxyProblem,
    concurrency,
    maxInFlight,
    elapsedMs: Math.round(performance.now() - t0),
  };
}

type RowBase = Pick<SmokeRow, 'model' | 'kind' | 'host' | 'requested' | 'type'>;

function rowOf(base: RowBase, target: SmokeTarget, answer: SmokeAnswer, deployments: readonly ModelInfoEntry[], states: Map<string, ModelState>, ctx: WorkerContext): SmokeRow {
  const headers = 'headers' in answer ? answer.headers : {};
  const fallback = (headers.attemptedFallbacks ?? 0) > 0;
  const servedBy = answer.ok ? deploymentName(headers.modelId, deployments, ctx.inventory) : null;
  const common = { ...base, latencyMs: answer.latencyMs, servedBy, servedById: answer.ok ? (headers.modelId ?? null) : null, fallback, at: Date.now() };
  if (answer.ok) return { ...common, ok: true, status: answer.status, note: fallback ? fallbackNote(target, states) : null, error: null };
  const status = 'status' in answer ? answer.status : null;
  return { ...common, ok: false, status, note: fallback ? 'its fallbacks failed too' : null, error: redact(errorOf(answer)) };
}

/** LiteLLM's message (the HTTP status is the row's own field), or why nothing answered. */
function errorOf(answer: Exclude<SmokeAnswer, { ok: true }>): string {
  switch (answer.kind) {
    case 'http':
    case 'unauthorized':
      return answer.message;
    case 'empty':
      return answer.detail;
    default:
      return failureText(answer);
  }
}

/** "fallback: local chat-hermes-3-llama-3.1-8b is stopped" */
function fallbackNote(target: SmokeTarget, states: Map<string, ModelState>): string {
  if (!target.servedBy) return 'fallback: its own deployments did not answer';
  const state = states.get(target.servedBy);
  return state === 'stopped' ? `fallback: local ${target.servedBy} is stopped` : `fallback: local ${target.servedBy} did not answer${state && state !== 'running' ? ` (${state})` : ''}`;
}

/** The state of each local model of this host that the smoke is about (the targets and the groups' models). Reads only. */
async function localStates(ctx: WorkerContext, targets: readonly SmokeTarget[], signal: AbortSignal): Promise<Map<string, ModelState>> {
  const names = new Set(targets.flatMap((t) => (t.kind === 'model' ? [t.name] : t.servedBy ? [t.servedBy] : [])));
  const refs = ctx.inventory.models(ctx.hostName).filter((m) => names.has(m.name));
  const states = await Promise.all(
    refs.map(async (ref) => {
      try {
        return [ref.name, (await ctx.engineFor(ref).state(signal)).state] as const;
      } catch {
        return [ref.name, 'unknown' as const] as const;
      }
    }),
  );
  return new Map(states);
}

/** A group's type from its deployments' model_info: embeddings for `mode: embedding`, else chat. */
function typeFromInfo(deployments: readonly ModelInfoEntry[], group: string): SmokeType {
  return deployments.some((d) => d.modelName === group && d.modelInfo.mode === 'embedding') ? 'embeddings' : 'chat';
}

/** One line of a row, for progress and alerts: "chat-default ok 240 ms (qwen3-coder-480b-cloud, fallback)". */
function lineOf(row: SmokeRow): string {
  if (row.ok === null) return `${row.model} ${row.note ?? 'not tested'}`;
  if (!row.ok) return `${row.model} failed${row.status ? ` (${row.status})` : ''}: ${excerpt(row.error ?? 'no answer', 120)}`;
  return `${row.model} ok ${Math.round(row.latencyMs ?? 0)} ms${row.servedBy ? ` (${row.servedBy}${row.fallback ? ', fallback' : ''})` : ''}`;
}
