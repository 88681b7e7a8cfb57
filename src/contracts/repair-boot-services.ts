import { z } from 'zod';
import { defineContract } from './define.js';
import { LITELLM_REPAIR_KINDS, litellmPlanSchema, litellmRepairPayload, litellmResultSchema } from './repair-litellm.js';

/** The repairs labops knows, by `kind`. */
export const REPAIR_KINDS = ['boot-services', ...LITELLM_REPAIR_KINDS] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

const unitName = z.string().regex(/^[A-Za-z0-9@._-]+\.(service|scope|target)$/, 'expected a unit name such as llama.service');

/** A GPU-heavy model unit and whether it starts at boot (null when systemd could not say). */
export const bootServiceSchema = z.object({
  model: z.string(),
  unit: z.string(),
  vramMiB: z.number(),
  enabled: z.boolean().nullable(),
  problem: z.string().optional(),
});
export type BootService = z.infer<typeof bootServiceSchema>;

export const repairPlanSchema = z.object({
  kind: z.literal('boot-services'),
  host: z.string(),
  /** what apply would change */
  changes: z.array(z.object({ model: z.string(), unit: z.string(), vramMiB: z.number(), before: z.literal('enabled'), after: z.literal('disabled') })),
  /** every unit looked at */
  checked: z.array(bootServiceSchema),
  /** units that could not be checked */
  problems: z.array(z.string()),
});
export type RepairPlan = z.infer<typeof repairPlanSchema>;

export const appliedChangeSchema = z.object({
  model: z.string(),
  unit: z.string(),
  vramMiB: z.number(),
  before: z.enum(['enabled', 'disabled']),
  after: z.enum(['enabled', 'disabled', 'unknown']),
  /** what systemctl said */
  said: z.array(z.string()),
  error: z.string().optional(),
});
export type AppliedChange = z.infer<typeof appliedChangeSchema>;

export const repairResultSchema = z.object({
  kind: z.literal('boot-services'),
  host: z.string(),
  jobId: z.string(),
  /** units that were enabled at boot and were disabled (or failed to be) */
  changes: z.array(appliedChangeSchema),
  /** units that were already disabled when the repair ran */
  unchanged: z.array(z.object({ model: z.string(), unit: z.string() })),
  failed: z.number(),
});
export type RepairResult = z.infer<typeof repairResultSchema>;

/** A repair's dry run: what it would change on this host, changing nothing. */
export const repairPlan = defineContract({
  kind: 'repair.plan',
  description: 'dry run of a repair: what it would change',
  payload: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('boot-services') }), z.strictObject({ kind: z.literal('litellm'), repair: litellmRepairPayload })]),
  result: z.union([repairPlanSchema, litellmPlanSchema]),
  timeoutMs: 60_000,
});

/** Applies a repair, keeping the before/after in the audit log. */
export const repairApply = defineContract({
  kind: 'repair.apply',
  description: 'apply a repair, keeping the before/after in the audit log',
  payload: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('boot-services'),
      /** the units the dry run listed (each must be a GPU-heavy unit of this host); default: every one enabled now */
      units: z.array(unitName).max(64).optional(),
    }),
    /** a LiteLLM repair; `digest`: the plan the caller confirmed (apply refuses when it no longer holds) */
    z.strictObject({ kind: z.literal('litellm'), repair: litellmRepairPayload, digest: z.string().max(128) }),
  ]),
  result: z.union([repairResultSchema, litellmResultSchema]),
  timeoutMs: 120_000,
});

/** Restores the before-image a LiteLLM repair kept in its audit row, if nothing changed since. */
export const repairUndo = defineContract({
  kind: 'repair.undo',
  description: "undo a LiteLLM repair from its audit row's before-image",
  payload: z.strictObject({ audit: z.uuid(), digest: z.string().max(128) }),
  result: litellmResultSchema,
  timeoutMs: 120_000,
});
