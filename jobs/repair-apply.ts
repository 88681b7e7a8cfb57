import { repairApply, type AppliedChange, type RepairResult } from '../src/contracts/repair-boot-services.js';
import type { LiteLLMResult } from '../src/contracts/repair-litellm.js';
import { applyLiteLLMRepair } from '../src/worker/repair/run.js';
import { errorMessage } from '../src/core/errors.js';
import { mib } from '../src/core/format.js';
import { ok, table, text } from '../src/core/reply.js';
import { defineJob } from '../src/worker/define-job.js';
import { checkBootServices, disableAtBoot, heavyUnit, isEnabledAtBoot } from '../src/worker/lifecycle/boot-services.js';

/**
 * Applies a repair on this host. Boot services: disables (`systemctl --user disable`) the GPU-heavy
 * units that start at boot; the before/after goes to the audit log and the repair to the log channel.
 */
export default defineJob(repairApply, async (job, ctx, signal): Promise<RepairResult | LiteLLMResult> => {
    if (job.data.kind === 'litellm') return await applyLiteLLMRepair(ctx, job, job.data.repair, job.data.digest, signal);
    const units = job.data.units ?? (await checkBootServices(ctx, signal)).filter((s) => s.enabled).map((s) => s.unit);
    const targets = [...new Set(units)].map((u) => heavyUnit(ctx, u));
    const changes: AppliedChange[] = [];
    const unchanged: RepairResult['unchanged'] = [];
    for (const { ref, unit } of targets) {
      const base = { model: ref.name, unit, vramMiB: ref.model.vramMiB };
      if (!(await isEnabledAtBoot(ctx, ref, signal))) {
        unchanged.push({ model: ref.name, unit });
        continue;
      }
      await job.progress(`disabling ${unit} at boot`);
      try {
        const said = await disableAtBoot(ctx, ref, signal);
        const after = (await isEnabledAtBoot(ctx, ref, signal)) ? 'enabled' : 'disabled';
        changes.push({ ...base, before: 'enabled', after, said, ...(after === 'enabled' ? { error: 'still enabled after systemctl --user disable' } : {}) });
      } catch (err) {
        changes.push({ ...base, before: 'enabled', after: 'unknown', said: [], error: errorMessage(err) });
      }
    }
    const failed = changes.filter((c) => c.error).length;
    const result: RepairResult = { kind: 'boot-services', host: ctx.hostName, jobId: job.id, changes, unchanged, failed };

    // the before/after of the repair, kept in the job's audit row (and for a later /repair undo: enable them again)
    job.auditDetail({
      kind: 'boot-services',
      before: [...changes.map((c) => ({ unit: c.unit, model: c.model, atBoot: c.before })), ...unchanged.map((u) => ({ ...u, atBoot: 'disabled' }))],
      after: [...changes.map((c) => ({ unit: c.unit, model: c.model, atBoot: c.after })), ...unchanged.map((u) => ({ ...u, atBoot: 'disabled' }))],
      said: changes.flatMap((c) => c.said),
      failed: changes.filter((c) => c.error).map((c) => `${c.unit}: ${c.error}`),
    });

    if (changes.length > 0) {
      const who = job.requestedBy?.name ?? 'labops';
      const reply = ok(
        `Repair boot-services applied on ${ctx.hostName} by ${who}: ${changes.length - failed} GPU-heavy unit${changes.length - failed === 1 ? '' : 's'} no longer start${changes.length - failed === 1 ? 's' : ''} at boot`,
        [
          table(['unit', 'model', 'VRAM', 'at boot'], changes.map((c) => [c.unit, c.model, mib(c.vramMiB), `${c.before} → ${c.after}${c.error ? ` (${c.error})` : ''}`])),
          text('Running models keep running; /start loads them when they are needed.'),
        ],
        { data: { notice: 'repair', ...result } },
      );
      if (failed > 0) reply.tone = 'warn';
      await ctx.notify.post('log', reply);
    }
    return result;
  });
