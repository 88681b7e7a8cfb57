import { z } from 'zod';
import { checkBootServices, type BootService } from '../src/worker/lifecycle/boot-services.js';
import { defineJob } from '../src/contracts/define.js';

/** The repairs labops knows, by `kind`; a later repair adds a member here and in repair.apply. */
export const REPAIR_KINDS = ['boot-services'] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

const payload = z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('boot-services') })]);

/** One change a repair would make (plan) or made (apply). */
export interface BootServiceChange {
  model: string;
  unit: string;
  vramMiB: number;
  before: 'enabled';
  after: 'disabled';
}

export type RepairPlan = {
  kind: 'boot-services';
  host: string;
  /** what apply would change */
  changes: BootServiceChange[];
  /** every unit looked at */
  checked: BootService[];
  /** units that could not be checked */
  problems: string[];
};

/** A repair's dry run: what it would change on this host, changing nothing. */
export default defineJob({
  kind: 'repair.plan',
  description: 'dry run of a repair: what it would change',
  payload,
  timeoutMs: 60_000,
  async process(job, ctx, signal): Promise<RepairPlan> {
    switch (job.data.kind) {
      case 'boot-services': {
        const checked = await checkBootServices(ctx, signal);
        return {
          kind: 'boot-services',
          host: ctx.hostName,
          changes: checked
            .filter((s) => s.enabled === true)
            .map((s) => ({ model: s.model, unit: s.unit, vramMiB: s.vramMiB, before: 'enabled' as const, after: 'disabled' as const })),
          checked,
          problems: checked.filter((s) => s.problem).map((s) => `${s.unit}: ${s.problem}`),
        };
      }
    }
  },
});
