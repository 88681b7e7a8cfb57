import type { AnyJob } from '../src/queue/define-job.js';
import statusSnapshot from './status-snapshot.js';

/** Every job kind a worker processes. */
export const jobs: readonly AnyJob[] = [statusSnapshot];

export { statusSnapshot };
