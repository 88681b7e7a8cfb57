import type { AnyJob } from '../src/worker/define-job.js';
import bringup from './bringup.js';
import doctorRun from './doctor-run.js';
import modelStart from './model-start.js';
import modelStop from './model-stop.js';
import repairApply from './repair-apply.js';
import repairPlan from './repair-plan.js';
import repairUndo from './repair-undo.js';
import smokeRun from './smoke-run.js';
import statusSnapshot from './status-snapshot.js';

/** Every job kind a worker processes. */
export const jobs: readonly AnyJob[] = [statusSnapshot, modelStart, modelStop, repairPlan, repairApply, repairUndo, smokeRun, doctorRun, bringup];
