import type { z } from 'zod';
import type { AnyContract, JobRun, ProcessorResultOf } from '../contracts/define.js';
import type { WorkerContext } from './context.js';

/** A job kind as the worker runs it: its contract and the processor. */
export interface JobDef<C extends AnyContract = AnyContract> {
  contract: C;
  process(job: JobRun<z.output<C['payload']>>, ctx: WorkerContext, signal: AbortSignal): Promise<ProcessorResultOf<C>>;
}

/** Identity helper: the processor gets its payload and result types from the contract. */
export function defineJob<C extends AnyContract>(contract: C, process: JobDef<C>['process']): JobDef<C> {
  return { contract, process };
}

// The registry holds processors of every contract; they are called through the host worker.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDef<any>;
