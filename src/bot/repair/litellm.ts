import type { CommandCall } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import { notConfigured } from '../../config/not-configured.js';
import { repairApply, repairPlan, repairUndo } from '../../contracts/repair-boot-services.js';
import type { LiteLLMPlan, LiteLLMRepairPayload, LiteLLMResult } from '../../contracts/repair-litellm.js';
import { unavailableError } from '../../core/errors.js';
import { declined, failed, ok, type Reply } from '../../core/reply.js';
import { changesTable, litellmRepairReply, skippedBlocks } from '../../notify/repair-reply.js';
import type { BotContext } from '../context.js';
import { assertWorkerOnline } from '../lifecycle/worker-online.js';

const MAX_DETAIL_LINES = 20;

/**
 * /repair of the LiteLLM proxy (encrypted-providers, admin-user, model-limits, rename, undo) on the
 * proxy's host: the dry run's whole diff, the confirmation, then the apply (or undo) with the plan's
 * digest, so what is applied is what was shown.
 */
export async function repairLiteLLM(ctx: BotContext, repair: LiteLLMRepairPayload, call: Pick<CommandCall<unknown>, 'caller' | 'progress' | 'confirm'>): Promise<Reply> {
  const { caller, progress, confirm } = call;
  const host = ctx.config.litellm.host;
  if (!host) throw unavailableError(`LiteLLM repairs run on the worker of the proxy's host, and ${notConfigured(ctx.config, 'litellm.host')}.`, 'Set litellm.host to the host whose inventory holds the proxy.');
  const requestedBy = requesterOf(caller);
  await assertWorkerOnline(ctx, host);
  progress(`dry run of ${repair.kind} on ${host}`);
  const plan = litellmOnly(await ctx.jobs.run(repairPlan, host, { kind: 'litellm', repair }, { requestedBy, waitMs: 30_000, dropIfUnanswered: true }));
  const data = { ...plan, digest: undefined };
  const what = repair.kind === 'undo' ? `Undo of audit ${repair.audit}` : `Repair ${repair.kind}`;

  if (plan.refused) return failed(`${what} refused: ${plan.refused}. Nothing was changed.`, plan.changes.length > 0 ? [changesTable(plan.changes)] : [], { data });
  if (plan.changes.length === 0) return ok(`Nothing to repair on ${host}: ${repair.kind} would change nothing.`, skippedBlocks(plan), { data });

  const n = plan.changes.length;
  const lines = plan.changes.map((c) => `${c.table ?? c.file}: ${c.subject} ${c.field}: ${c.before ?? '(none)'} → ${c.after ?? '(none)'}${c.rule ? ` [${c.rule}]` : ''}`);
  const confirmed = await confirm({
    title: `${what} on ${host}: apply ${n} change${n === 1 ? '' : 's'}?`,
    detail: [...lines.slice(0, MAX_DETAIL_LINES), ...(lines.length > MAX_DETAIL_LINES ? [`… and ${lines.length - MAX_DETAIL_LINES} more`] : []), 'All in one transaction; the before-image is kept for an undo.'].join('\n'),
    confirmLabel: 'Apply',
  });
  const planBlocks = [changesTable(plan.changes), ...skippedBlocks(plan)];
  if (!confirmed) return { ...declined(`Dry run: ${what.toLowerCase()} would make ${n} change${n === 1 ? '' : 's'} on ${host}; nothing was changed.`, { data, hint: 'Confirm to apply it (exec: --yes).' }), blocks: planBlocks };

  progress(`applying ${repair.kind} on ${host}`);
  const opts = { requestedBy, waitMs: 120_000, onProgress: (t: string) => progress(t) };
  const result: LiteLLMResult =
    repair.kind === 'undo'
      ? await ctx.jobs.run(repairUndo, host, { audit: repair.audit, digest: plan.digest }, opts)
      : litellmOnly(await ctx.jobs.run(repairApply, host, { kind: 'litellm', repair, digest: plan.digest }, opts));
  return litellmRepairReply(result, caller.name);
}

/** The LiteLLM member of a repair job's result. */
function litellmOnly<T extends { kind: string }>(result: T): Exclude<T, { kind: 'boot-services' }> {
  if (result.kind === 'boot-services') throw new Error('a LiteLLM repair job answered as boot-services');
  return result as Exclude<T, { kind: 'boot-services' }>;
}

export type { LiteLLMPlan };
