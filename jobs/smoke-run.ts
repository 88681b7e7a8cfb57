import { smokeRun } from '../src/contracts/smoke.js';
import { defineJob } from '../src/worker/define-job.js';
import { runSmoke } from '../src/worker/smoke/run-smoke.js';

/** /smoke: real requests through the LiteLLM proxy; never starts a model. */
export default defineJob(smokeRun, async (job, ctx, signal) => await runSmoke(ctx, job.data, signal, (text) => void job.progress(text).catch(() => undefined)));
