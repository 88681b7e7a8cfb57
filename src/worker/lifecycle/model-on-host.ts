import { closest, type ModelRef } from '../../config/inventory.js';
import { usageError } from '../../core/errors.js';
import type { WorkerContext } from '../context.js';

/**
 * The model of this worker's host with exactly this name. The bot resolved aliases and prefixes;
 * the worker takes only inventory names (a job's payload is untrusted input).
 */
export function modelOnHost(ctx: Pick<WorkerContext, 'inventory' | 'hostName'>, name: string): ModelRef {
  const models = ctx.inventory.models(ctx.hostName);
  const ref = models.find((m) => m.name === name);
  if (ref) return ref;
  throw usageError(
    `The worker on ${ctx.hostName} has no model "${name}" in its inventory.`,
    models.length > 0 ? `Its models: ${closest(name, models.map((m) => m.name)).slice(0, 5).join(', ')}` : 'This host has no models in labops.yaml.',
  );
}
