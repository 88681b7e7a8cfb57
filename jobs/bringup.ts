import { bringup } from '../src/contracts/bringup.js';
import { defineJob } from '../src/worker/define-job.js';
import { runBringup } from '../src/worker/bringup/run-bringup.js';

/** /bringup on the proxy's host: proxy up and ready, doctor, the listed models started, smoke. Never repairs. */
export default defineJob(bringup, async (job, ctx, signal) =>
  await runBringup(ctx, job.data.models, { id: job.id, requestedBy: job.requestedBy?.name ?? null }, signal, (text) => void job.progress(text).catch(() => undefined)),
);
