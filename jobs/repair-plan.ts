import { repairPlan } from '../src/contracts/repair-boot-services.js';
import { defineJob } from '../src/worker/define-job.js';
import { checkBootServices } from '../src/worker/lifecycle/boot-services.js';
import { planLiteLLMRepair } from '../src/worker/repair/run.js';

/** A repair's dry run: what it would change on this host, changing nothing. */
export default defineJob(repairPlan, async (job, ctx, signal) => {
  switch (job.data.kind) {
    case 'boot-services': {
      const checked = await checkBootServices(ctx, signal);
      return {
        kind: 'boot-services' as const,
        host: ctx.hostName,
        changes: checked
          .filter((s) => s.enabled === true)
          .map((s) => ({ model: s.model, unit: s.unit, vramMiB: s.vramMiB, before: 'enabled' as const, after: 'disabled' as const })),
        checked,
        problems: checked.filter((s) => s.problem).map((s) => `${s.unit}: ${s.problem}`),
      };
    }
    case 'litellm':
      return await planLiteLLMRepair(ctx, job.data.repair, signal);
  }
});
