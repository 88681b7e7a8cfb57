import { z } from 'zod';

/** Who asked for a job, carried in the job for the worker's audit row. */
export const requesterSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string().nullable(),
  adapter: z.string(),
  channel: z.string(),
});
export type Requester = z.infer<typeof requesterSchema>;

/**
 * What bot and worker agree on for one job kind: its name, the payload the worker accepts, the
 * result the bot accepts, and how long it may take. A contract imports nothing of either side.
 */
export interface JobContract<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  /** e.g. `status.snapshot`: the BullMQ job name */
  kind: string;
  description: string;
  /** validated by the worker: a payload that does not parse fails without retry */
  payload: P;
  /** validated by the bot: a result that does not parse is a clear failure, never a cast */
  result: R;
  /** the processor is aborted after this long */
  timeoutMs: number;
  /** attempts for errors that are not the user's (default 1: processors are idempotent, not blindly retried) */
  attempts?: number;
}

/** Identity helper: a plain object gets full type inference of payload and result. */
export function defineContract<P extends z.ZodType, R extends z.ZodType>(contract: JobContract<P, R>): JobContract<P, R> {
  return contract;
}

export type AnyContract = JobContract<z.ZodType, z.ZodType>;
/** What a caller puts in (defaults not applied yet). */
export type PayloadOf<C extends AnyContract> = z.input<C['payload']>;
/** What the bot gets back, parsed. */
export type ResultOf<C extends AnyContract> = z.output<C['result']>;
/** What a processor must return. */
export type ProcessorResultOf<C extends AnyContract> = z.input<C['result']>;

/** What a processor sees of its job. */
export interface JobRun<P> {
  id: string;
  kind: string;
  host: string;
  data: P;
  requestedBy: Requester | null;
  attemptsMade: number;
  /** the id its audit row will have (a repair names it for its undo) */
  auditId: string;
  /** a progress line for the reply the bot is editing */
  progress(text: string, detail?: Record<string, unknown>): Promise<void>;
  /** what the job's audit row keeps beside its outcome (a repair's before and after) */
  auditDetail(detail: unknown): void;
}

/** An inventory name in a payload (the bot resolved aliases and prefixes; the worker takes only names). */
export const inventoryName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected an inventory model name');
