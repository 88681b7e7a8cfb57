import { doctorRun } from '../src/contracts/doctor.js';
import { defineJob } from '../src/worker/define-job.js';
import { runDoctor } from '../src/worker/doctor/run-doctor.js';

/** /doctor on this host: read-only checks, each finding with the repair that fixes it. */
export default defineJob(doctorRun, async (job, ctx, signal) => await runDoctor(ctx, signal, (text) => void job.progress(text).catch(() => undefined)));
