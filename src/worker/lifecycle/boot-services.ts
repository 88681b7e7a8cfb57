import type { ModelRef } from '../../config/inventory.js';
import type { WorkerContext } from '../context.js';
import { SystemdEngine } from '../../engines/systemd.js';
import type { BootService } from '../../contracts/repair-boot-services.js';
import { errorMessage, usageError } from '../../core/errors.js';

/**
 * The lab's rule "nothing heavy at boot, load just in time": a model served by a systemd user unit
 * that needs VRAM should not be enabled at boot (it would fill the GPU before anyone asked for it).
 */

/** The GPU-heavy systemd units of this host: systemd-engine models with `vramMiB > 0`. */
export function heavyUnits(ctx: Pick<WorkerContext, 'inventory' | 'hostName'>): { ref: ModelRef; unit: string }[] {
  return ctx.inventory
    .models(ctx.hostName)
    .flatMap((ref) => (ref.model.engine.kind === 'systemd' && ref.model.vramMiB > 0 ? [{ ref, unit: ref.model.engine.unit }] : []));
}

function systemdEngine(ctx: WorkerContext, ref: ModelRef): SystemdEngine {
  const engine = ctx.engineFor(ref);
  if (!(engine instanceof SystemdEngine)) throw new Error(`${ref.name} is not served by a systemd unit`);
  return engine;
}

/** Each GPU-heavy unit and whether it starts at boot (`systemctl --user is-enabled`). */
export async function checkBootServices(ctx: WorkerContext, signal?: AbortSignal): Promise<BootService[]> {
  return await Promise.all(
    heavyUnits(ctx).map(async ({ ref, unit }): Promise<BootService> => {
      const base = { model: ref.name, unit, vramMiB: ref.model.vramMiB };
      try {
        return { ...base, enabled: await systemdEngine(ctx, ref).isEnabled(signal) };
      } catch (err) {
        return { ...base, enabled: null, problem: errorMessage(err) };
      }
    }),
  );
}

/** The heavy unit of this host with this name; a unit that is not one (from an untrusted payload) is refused. */
export function heavyUnit(ctx: WorkerContext, unit: string): { ref: ModelRef; unit: string } {
  const found = heavyUnits(ctx).find((u) => u.unit === unit);
  if (!found) throw usageError(`${unit} is not a GPU-heavy unit of a model on ${ctx.hostName}; labops only disables those.`);
  return found;
}

export async function isEnabledAtBoot(ctx: WorkerContext, ref: ModelRef, signal?: AbortSignal): Promise<boolean> {
  return await systemdEngine(ctx, ref).isEnabled(signal);
}

/** `systemctl --user disable <unit>`: what systemctl said ("Removed …"). */
export async function disableAtBoot(ctx: WorkerContext, ref: ModelRef, signal?: AbortSignal): Promise<string[]> {
  return await systemdEngine(ctx, ref).disable(signal);
}
