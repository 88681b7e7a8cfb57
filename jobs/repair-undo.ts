import { repairUndo } from '../src/contracts/repair-boot-services.js';
import { defineJob } from '../src/worker/define-job.js';
import { applyLiteLLMRepair } from '../src/worker/repair/run.js';

/** Restores the before-image of a LiteLLM repair (its audit row), when nothing changed since. */
export default defineJob(repairUndo, async (job, ctx, signal) => await applyLiteLLMRepair(ctx, job, { kind: 'undo', audit: job.data.audit }, job.data.digest, signal));
