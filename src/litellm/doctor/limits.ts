import { repairLines } from '../../contracts/doctor.js';
import { found, type Found } from './finding.js';
import { isLocalDeployment } from './locality.js';
import type { ModelView } from './model-view.js';

/**
 * The incident's rule: every local model has a `timeout` (a hung model server otherwise holds
 * requests for LiteLLM's 10 minutes) and an `rpm` limit (a small GPU is not flooded). Only
 * deployments whose params could be read are judged.
 */
export function checkModelLimits(views: readonly ModelView[]): Found[] {
  return views.flatMap((v) => {
    if (!v.params || !isLocalDeployment(v.params)) return [];
    const lacking = ['timeout', 'rpm'].filter((p) => !isPositive(v.params![p]));
    if (lacking.length === 0) return [];
    return [
      found(
        'model-limits',
        v.name,
        'warning',
        `${v.name} (${v.where}) is a local model without ${lacking.join(' or ')}: ${lacking.includes('timeout') ? 'a hung model server holds requests for LiteLLM’s default 10 minutes' : 'nothing limits the requests it gets'}.`,
        repairLines.modelLimits(),
      ),
    ];
  });
}

/**
 * A vision model needs `max_tokens`: without it some servers answer an image with thousands of
 * tokens (the incident set 4096). Vision: `model_info.supports_vision`, a `vision-` name, or the
 * inventory's type for that LiteLLM name (`visionNames`).
 */
export function checkVisionMaxTokens(views: readonly ModelView[], visionNames: ReadonlySet<string> = new Set()): Found[] {
  return views.flatMap((v) => {
    const vision = v.modelInfo.supports_vision === true || v.name.startsWith('vision-') || visionNames.has(v.name);
    if (!vision || !v.params || isPositive(v.params.max_tokens)) return [];
    return [found('vision-max-tokens', v.name, 'warning', `${v.name} (${v.where}) is a vision model without max_tokens.`, repairLines.modelLimits())];
  });
}

/** A number, or a numeric string (LiteLLM stores strings encrypted, numbers as they are). */
function isPositive(value: unknown): boolean {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0;
}
