import type { CheckId, DoctorResult } from '../../contracts/doctor.js';
import type { Found } from '../../litellm/doctor/finding.js';
import type { WorkerContext } from '../context.js';
import { checkBootServices } from '../lifecycle/boot-services.js';
import { bootServiceFindings } from './host-checks.js';
import { litellmChecks } from './litellm-checks.js';

/** /doctor on one host: its boot services, and every LiteLLM check when this is `litellm.host`. Reads only. */
export async function runDoctor(ctx: WorkerContext, signal: AbortSignal, progress: (text: string) => void): Promise<DoctorResult> {
  const t0 = performance.now();
  const litellm = ctx.config.litellm.host === ctx.hostName;
  const findings: Found[] = [];
  const ran: CheckId[] = [];
  let stats = { dbModels: 0, decrypted: 0, decryptMs: 0 };

  if (litellm) {
    const checks = await litellmChecks(ctx, signal, progress);
    findings.push(...checks.findings);
    ran.push(...checks.ran);
    stats = checks.stats;
  }
  progress('checking the GPU-heavy units started at boot');
  findings.push(...bootServiceFindings(await checkBootServices(ctx, signal), ctx.hostName));
  ran.push('boot-services');

  return {
    host: ctx.hostName,
    litellm,
    ran,
    findings: findings.map((f) => ({ ...f, host: ctx.hostName })),
    stats: { ...stats, elapsedMs: Math.round(performance.now() - t0) },
  };
}
