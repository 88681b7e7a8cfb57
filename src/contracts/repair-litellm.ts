import { z } from 'zod';

/** The repairs of the LiteLLM proxy's database and config.yaml (run on `litellm.host`). */
export const LITELLM_REPAIR_KINDS = ['encrypted-providers', 'admin-user', 'model-limits', 'rename', 'undo'] as const;
export type LiteLLMRepairKind = (typeof LITELLM_REPAIR_KINDS)[number];

/** The lab's naming rule for a new model_name (`[type]-[name]-[engine]`, or a `-cloud` model). */
export const modelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'expected a LiteLLM model name such as chat-mistral-7b-ollama');

export const litellmRepairPayload = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('encrypted-providers') }),
  z.strictObject({ kind: z.literal('admin-user') }),
  z.strictObject({ kind: z.literal('model-limits'), overwrite: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('rename'), model: z.string().min(1).max(200), to: modelNameSchema }),
  z.strictObject({ kind: z.literal('undo'), audit: z.uuid() }),
]);
export type LiteLLMRepairPayload = z.output<typeof litellmRepairPayload>;

/**
 * One change, as every output shows it: a row's column (or a key of its JSON) or a config.yaml key,
 * before → after. Secrets are `<secret>`, values that do not decrypt `<unreadable N B>`.
 */
export const repairChangeSchema = z.object({
  table: z.string().optional(),
  file: z.string().optional(),
  /** the row (model_id, user_id, param_name) or the file's entry */
  subject: z.string(),
  field: z.string(),
  before: z.string().nullable(),
  after: z.string().nullable(),
  /** which rule gave the new value (encrypted-providers) */
  rule: z.string().optional(),
});
export type RepairChange = z.infer<typeof repairChangeSchema>;

export const litellmPlanSchema = z.object({
  kind: z.enum(LITELLM_REPAIR_KINDS),
  host: z.string(),
  changes: z.array(repairChangeSchema),
  /** what the repair looked at and leaves alone, with the reason */
  skipped: z.array(z.object({ subject: z.string(), reason: z.string() })),
  /** what apply checks it still is (the plan the caller confirmed) */
  digest: z.string(),
  /** undo: why it cannot be undone (something changed since) — the plan then has no changes */
  refused: z.string().nullable(),
});
export type LiteLLMPlan = z.infer<typeof litellmPlanSchema>;

export const verificationSchema = z.object({
  /** the /doctor checks run again, with what they still find about the touched subjects */
  doctor: z.array(z.object({ check: z.string(), subject: z.string(), message: z.string() })),
  checks: z.array(z.string()),
  /** a 1-token request per touched model through the proxy; null when the proxy is down or not configured */
  smoke: z.array(z.object({ model: z.string(), ok: z.boolean(), status: z.number().nullable(), detail: z.string() })).nullable(),
  smokeSkipped: z.string().nullable(),
});
export type Verification = z.infer<typeof verificationSchema>;

export const litellmResultSchema = litellmPlanSchema.omit({ digest: true, refused: true }).extend({
  jobId: z.string(),
  /** the audit row that keeps the before-image: `/repair kind:undo audit:<id>` */
  auditId: z.string(),
  undo: z.string(),
  verification: verificationSchema,
});
export type LiteLLMResult = z.infer<typeof litellmResultSchema>;
