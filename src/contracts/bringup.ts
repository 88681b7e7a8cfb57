import { z } from 'zod';
import { defineContract, inventoryName } from './define.js';
import { doctorResultSchema } from './doctor.js';
import { smokeResultSchema } from './smoke.js';

/** What bringup did with the proxy: its unit's state before, whether it started it, and how it answered after. */
export const proxyStepSchema = z.object({
  /** the inventory model of type `proxy` on this host; null when the inventory has none (nothing to start) */
  model: z.string().nullable(),
  /** its engine's state before: stopped, running, …; null without a proxy model */
  before: z.string().nullable(),
  started: z.boolean(),
  /** `/health/liveliness` answered */
  live: z.boolean(),
  /** `/health/readiness` answered with `db: connected` */
  ready: z.boolean(),
  /** readiness' `db` value, or null when it did not answer */
  db: z.string().nullable(),
  /** from the start (or the first probe) until ready, ms */
  elapsedMs: z.number(),
  /** why it is not up, when it is not */
  problem: z.string().nullable(),
});
export type ProxyStep = z.infer<typeof proxyStepSchema>;

/** One listed model's start (on this host by this job, or on its own host by a model.start job). */
export const bringupStartSchema = z.object({
  model: z.string(),
  host: z.string(),
  /** already-running, ready, refused, failed, skipped */
  status: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  elapsedMs: z.number().nullable(),
});
export type BringupStart = z.infer<typeof bringupStartSchema>;

export const bringupResultSchema = z.object({
  host: z.string(),
  proxy: proxyStepSchema,
  /** null when it could not run (the message is in `problems`) */
  doctor: doctorResultSchema.nullable(),
  starts: z.array(bringupStartSchema),
  smoke: smokeResultSchema.nullable(),
  /** steps that could not run, each with why */
  problems: z.array(z.string()),
  elapsedMs: z.number(),
});
export type BringupResult = z.infer<typeof bringupResultSchema>;

/**
 * The post-reboot runbook on the proxy's host: the proxy's unit started if it is down and waited for
 * (liveliness, then readiness with its database), /doctor, the listed models of this host started,
 * then /smoke. It reports what it found; it never repairs anything.
 */
export const bringup = defineContract({
  kind: 'bringup',
  description: "the post-reboot runbook: proxy up and ready, doctor, listed models started, smoke",
  payload: z.strictObject({
    /** inventory names of this host (the bot resolved aliases and sent other hosts' models to their own workers) */
    models: z.array(inventoryName).max(32).default([]),
  }),
  result: bringupResultSchema,
  timeoutMs: 30 * 60_000,
});
