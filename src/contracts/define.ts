import type { z } from 'zod';
import type { WorkerContext } from '../worker/context.js';

/** Who asked for a job, carried in the job for the worker's audit row. */
export interface Requester {
  id: string;
  name: string;
  role: string | null;
  adapter: string;
  channel: string;
}

/** What a processor sees of its BullMQ job. */
export interface JobRun<P> {
  id: string;
  kind: string;
  host: string;
  data: P;
  requestedBy: Requester | null;
  attemptsMade: number;
  /** a progress line for the reply the bot is editing */
  progress(text: string, detail?: Record<string, unknown>): Promise<void>;
  /** what the job's audit row keeps beside its outcome (a repair's before and after) */
  auditDetail(detail: unknown): void;
}

export interface JobDef<P extends z.ZodType = z.ZodType, R = unknown> {
  /** e.g. `status.snapshot`: the BullMQ job name */
  kind: string;
  description: string;
  /** validated in the worker: a payload that does not parse fails without retry */
  payload: P;
  /** the processor is aborted after this long */
  timeoutMs: number;
  /** attempts for errors that are not the user's (default 1: processors are idempotent, not blindly retried) */
  attempts?: number;
  process(job: JobRun<z.output<P>>, ctx: WorkerContext, signal: AbortSignal): Promise<R>;
}

/** Identity helper: a plain object gets full type inference of payload and result. */
export function defineJob<P extends z.ZodType, R>(def: JobDef<P, R>): JobDef<P, R> {
  return def;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDef<z.ZodType, any>;
export type JobPayload<J> = J extends { payload: infer P extends z.ZodType } ? z.input<P> : never;
export type JobResult<J> = J extends { process(...args: never[]): Promise<infer R> } ? R : never;
