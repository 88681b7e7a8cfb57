import type { Verification } from '../../contracts/repair-litellm.js';
import { failureText } from '../../litellm/failure-text.js';
import { proxyClient } from '../../litellm/from-config.js';
import type { WorkerContext } from '../context.js';
import { litellmChecks } from '../doctor/litellm-checks.js';
import { smokeRequest } from '../smoke/request.js';
import type { Draft } from './draft.js';

/**
 * After an apply: the repair's /doctor checks run again (what they still find is listed), and
 * where the proxy is up, one 1-token request per touched model through it.
 */
export async function verifyRepair(ctx: WorkerContext, draft: Draft, signal: AbortSignal): Promise<Verification> {
  const checks = await litellmChecks(ctx, signal, () => undefined);
  const doctor = checks.findings.filter((f) => f.checked && draft.checks.includes(f.check)).map((f) => ({ check: f.check, subject: f.subject, message: f.message }));
  const access = proxyClient(ctx.config, { requireMasterKey: true, llmTimeoutMs: ctx.config.litellm.smoke.timeout });
  if (!access.ok) return { doctor, checks: draft.checks, smoke: null, smokeSkipped: access.why };
  if (draft.models.length === 0) return { doctor, checks: draft.checks, smoke: [], smokeSkipped: null };
  const client = access.value;
  const live = await client.liveliness({ signal });
  if (!live.ok) return { doctor, checks: draft.checks, smoke: null, smokeSkipped: `the proxy does not answer: ${failureText(live)}` };
  const smoke: NonNullable<Verification['smoke']> = [];
  for (const model of draft.models) {
    const type = /^embed/.test(model) ? 'embeddings' : 'chat';
    const answer = await smokeRequest(client, type, model, { signal, timeoutMs: ctx.config.litellm.smoke.timeout });
    smoke.push({ model, ok: answer.ok, status: 'status' in answer && typeof answer.status === 'number' ? answer.status : null, detail: answer.ok ? `${answer.latencyMs.toFixed(0)} ms` : answer.kind === 'empty' ? answer.detail : failureText(answer) });
  }
  return { doctor, checks: draft.checks, smoke, smokeSkipped: null };
}
