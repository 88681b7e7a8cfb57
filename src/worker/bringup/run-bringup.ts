import type { ModelRef } from '../../config/inventory.js';
import type { BringupResult, BringupStart } from '../../contracts/bringup.js';
import type { DoctorResult } from '../../contracts/doctor.js';
import type { SmokeResult } from '../../contracts/smoke.js';
import { errorMessage, isUserError, usageError } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import type { WorkerContext } from '../context.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { modelOnHost } from '../lifecycle/model-on-host.js';
import { startModel } from '../lifecycle/start-model.js';
import { runSmoke } from '../smoke/run-smoke.js';
import { bringProxyUp } from './proxy-up.js';

export interface BringupJob {
  id: string;
  requestedBy: string | null;
}

/**
 * The post-reboot runbook on the proxy's host, each step a plain function the single commands use
 * too: the proxy up and ready → /doctor → the listed models started → /smoke. A step that fails is
 * reported and the next one still runs; nothing is repaired.
 */
export async function runBringup(ctx: WorkerContext, models: readonly string[], job: BringupJob, signal: AbortSignal, progress: (text: string) => void): Promise<BringupResult> {
  if (ctx.config.litellm.host !== ctx.hostName) {
    throw usageError(`/bringup runs on the worker of the proxy's host (litellm.host: ${ctx.config.litellm.host ?? 'not set'}), not on ${ctx.hostName}.`);
  }
  const refs = models.map((name) => modelOnHost(ctx, name));
  const t0 = performance.now();
  const problems: string[] = [];

  progress('1/4 proxy');
  const proxy = await bringProxyUp(ctx, job, signal, (text) => progress(`1/4 ${text}`));
  if (proxy.problem) problems.push(`proxy: ${proxy.problem}`);

  progress('2/4 doctor');
  const doctor = await step<DoctorResult>('doctor', problems, () => runDoctor(ctx, signal, (text) => progress(`2/4 doctor: ${text}`)));

  const starts: BringupStart[] = [];
  for (const [i, ref] of refs.entries()) {
    progress(`3/4 starting ${ref.name} (${i + 1}/${refs.length})`);
    starts.push(await startOne(ctx, ref, job, signal, (text) => progress(`3/4 ${ref.name}: ${text}`)));
  }

  progress('4/4 smoke');
  const smoke = await step<SmokeResult>('smoke', problems, () => runSmoke(ctx, {}, signal, (text) => progress(`4/4 smoke: ${text}`)));
  return { host: ctx.hostName, proxy, doctor, starts, smoke, problems, elapsedMs: Math.round(performance.now() - t0) };
}

/** A step's result, or null with its problem noted (a user error: not configured, not reachable). */
async function step<T>(name: string, problems: string[], run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    if (!isUserError(err)) throw err;
    problems.push(`${name}: ${err.message}`);
    return null;
  }
}

async function startOne(ctx: WorkerContext, ref: ModelRef, job: BringupJob, signal: AbortSignal, progress: (text: string) => void): Promise<BringupStart> {
  const base = { model: ref.name, host: ctx.hostName };
  try {
    const r = await startModel(ctx, { ref, stopFirst: [], force: false, jobId: job.id, requestId: null, requestedBy: job.requestedBy }, signal, progress);
    switch (r.status) {
      case 'already-running':
        return { ...base, status: r.status, ok: true, detail: r.health, elapsedMs: null };
      case 'ready':
        return { ...base, status: r.status, ok: true, detail: r.health, elapsedMs: r.elapsedMs };
      case 'refused':
        return { ...base, status: r.status, ok: false, detail: `does not fit in free VRAM (needs ${mib(r.admission.needMiB)}): /start ${ref.name} says what to stop`, elapsedMs: null };
    }
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { ...base, status: 'failed', ok: false, detail: errorMessage(err), elapsedMs: null };
  }
}
