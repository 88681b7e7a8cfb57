import { z } from 'zod';
import type { Inventory } from '../config/inventory.js';
import { permissionError, usageError } from '../core/errors.js';
import { defineContract, inventoryName } from './define.js';

const payload = z.strictObject({
  /** the inventory name (the bot resolved aliases and prefixes) */
  model: inventoryName,
  /** start even when admission says it does not fit; only for a requester with the admin role */
  force: z.boolean().default(false),
  /** stop these models first, to make room (each must be unpinned) */
  stopFirst: z.array(inventoryName).max(8).default([]),
  /** an id of the request that queued it: a request whose start was deduplicated gets another job's result, with its id */
  requestId: z.string().max(64).optional(),
});

const candidate = z.object({
  name: z.string(),
  vramMiB: z.number(),
  /** when its last request was seen; null: none in the window; absent: no request source */
  lastRequestAt: z.number().nullable().optional(),
});
export type Candidate = z.infer<typeof candidate>;

const numbers = { model: z.string(), needMiB: z.number(), needSource: z.enum(['measured', 'declared']) };
const measured = { ...numbers, freeMiB: z.number(), reserveMiB: z.number(), availableMiB: z.number() };

export const admissionSchema = z.discriminatedUnion('verdict', [
  z.object({ verdict: z.literal('admit'), ...measured }),
  z.object({ verdict: z.literal('forced'), shortMiB: z.number(), ...measured }),
  z.object({ verdict: z.literal('skipped'), reason: z.string(), ...numbers }),
  z.object({
    verdict: z.literal('refuse'),
    shortMiB: z.number(),
    /** idle, unpinned running models whose stop alone makes room, the smallest first */
    candidates: z.array(candidate),
    /** when no single stop is enough: models whose stops together make room (largest first); null when even all of them do not */
    combination: z.array(candidate).nullable(),
    /** running models not offered because labops could not tell whether they are busy, with why */
    notOffered: z.array(z.object({ name: z.string(), reason: z.string() })).default([]),
    ...measured,
  }),
]);
export type Admission = z.infer<typeof admissionSchema>;

export const stopOutcomeSchema = z.object({
  model: z.string(),
  /** it was not running: nothing was done */
  alreadyStopped: z.boolean(),
  /** its state before (with the engine's note) */
  before: z.string(),
  /** VRAM its processes held just before the stop, MiB */
  freedMiB: z.number().nullable(),
});
export type StopOutcome = z.infer<typeof stopOutcomeSchema>;

const base = {
  host: z.string(),
  model: z.string(),
  jobId: z.string(),
  requestId: z.string().nullable(),
  requestedBy: z.string().nullable(),
};

export const startResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('already-running'), ...base, health: z.string(), vramMiB: z.number().nullable() }),
  z.object({
    status: z.literal('ready'),
    ...base,
    /** from the start (or, when it was already starting, from when labops saw it start) to healthy */
    elapsedMs: z.number(),
    /** it was already starting (a start re-run after its worker died, or one begun outside labops) */
    resumed: z.boolean(),
    health: z.string(),
    /** null when it was already starting */
    admission: admissionSchema.nullable(),
    /** the VRAM it settled at, recorded for the next admission */
    footprintMiB: z.number().nullable(),
    stopped: z.array(stopOutcomeSchema),
  }),
  z.object({ status: z.literal('refused'), ...base, admission: admissionSchema, stopped: z.array(stopOutcomeSchema) }),
]);
export type StartResult = z.infer<typeof startResultSchema>;

/**
 * Starts a model and waits until it is healthy, after the VRAM admission check; `stopFirst`
 * models are stopped first to make room.
 */
export const modelStart = defineContract({
  kind: 'model.start',
  description: 'start a model (after the VRAM admission check) and wait until it is healthy',
  payload,
  result: startResultSchema,
  // a backstop: the model's own health.startTimeout ends the wait much earlier
  timeoutMs: 30 * 60_000,
});

export interface StartRequest {
  host: string;
  model: string;
  force: boolean;
  stopFirst: readonly string[];
}

/**
 * The rules of a start request, checked by the bot before it queues one (to answer at once) and by
 * the worker before it acts (a payload is untrusted): force needs admin, a model does not make room
 * for itself, and pinned models are never stopped to make room.
 */
export function checkStartRequest(inventory: Inventory, request: StartRequest, requester: { name: string; role: string | null }): void {
  if (request.force && requester.role !== 'admin') {
    throw permissionError(
      `force:true overrides the VRAM check and needs admin; ${requester.name} is ${requester.role ?? 'without a role'}.`,
      `Start ${request.model} without force; if it does not fit, the answer says which idle models to stop.`,
    );
  }
  if (request.stopFirst.includes(request.model)) throw usageError(`stop_first names ${request.model} itself.`);
  for (const name of request.stopFirst) {
    const ref = inventory.models(request.host).find((m) => m.name === name);
    if (ref?.model.pinned) throw usageError(`${name} is pinned: labops does not stop it to make room.`, `Stop it deliberately with /stop ${name} first, if you must.`);
  }
}
