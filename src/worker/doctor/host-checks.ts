import { repairLines } from '../../contracts/doctor.js';
import type { BootService } from '../../contracts/repair-boot-services.js';
import type { SmokeRow } from '../../contracts/smoke.js';
import { formatDuration } from '../../core/duration.js';
import { mib } from '../../core/format.js';
import { found, notChecked, type Found } from '../../litellm/doctor/finding.js';

/** GPU-heavy units enabled at boot (from the lifecycle code's check); units that could not be checked are one finding. */
export function bootServiceFindings(services: readonly BootService[], host: string): Found[] {
  const findings = services
    .filter((s) => s.enabled === true)
    .map((s) =>
      found(
        'boot-services',
        s.unit,
        'warning',
        `${s.unit} (${s.model}, ${mib(s.vramMiB)}) is enabled at boot: it fills VRAM before anyone asks for the model.`,
        repairLines.bootServices(host),
      ),
    );
  const unknown = services.filter((s) => s.enabled === null);
  if (unknown.length > 0) {
    const reasons = [...new Set(unknown.map((s) => s.problem ?? 'unknown'))].join('; ');
    findings.push(notChecked('boot-services', unknown.map((s) => s.unit).join(', '), `Could not tell whether ${unknown.map((s) => s.unit).join(', ')} start${unknown.length === 1 ? 's' : ''} at boot: ${reasons}.`));
  }
  return findings;
}

/** Models and proxy groups whose last smoke failed. */
export function smokeFindings(rows: Iterable<SmokeRow>, now = Date.now()): Found[] {
  return [...rows]
    .filter((r) => r.ok === false)
    .sort((a, b) => a.model.localeCompare(b.model))
    .map((r) =>
      found(
        'smoke',
        r.model,
        'error',
        `The last smoke of ${r.model} (${formatDuration(Math.max(0, now - r.at))} ago) failed${r.status ? ` with ${r.status}` : ''}: ${r.error ?? 'no answer'}`,
      ),
    );
}
