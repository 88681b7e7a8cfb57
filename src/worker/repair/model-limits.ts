import { parseLiteLLMConfig } from '../../litellm/config-file.js';
import type { LiteLLMKeys } from '../../litellm/crypto.js';
import { isLocalDeployment } from '../../litellm/doctor/locality.js';
import { readValue } from '../../litellm/doctor/stored-params.js';
import { diffRow, type Draft, type RowEdit } from './draft.js';
import { withParams, type DbState } from './state.js';
import { addPair, applySplices, isMap, isScalar, isSeq, parse, replaceScalar, type Splice } from './yaml-splice.js';

export interface LimitRules {
  timeout: number;
  /** rpm of a LiteLLM model_name (the inventory's, else the default) */
  rpmOf(name: string): number;
  visionMaxTokens: number;
  /** vision model_names of the inventory */
  vision: ReadonlySet<string>;
  overwrite: boolean;
}

/**
 * /repair kind:model-limits: every local model — DB row or config.yaml entry, wherever it is
 * defined — gets `timeout` and `rpm`, and a vision model `max_tokens`. Values that are set stay
 * unless `overwrite`. Numbers are stored plain (LiteLLM encrypts strings only).
 */
export function draftModelLimits(state: DbState, file: { path: string; text: string } | null, keys: LiteLLMKeys | null, rules: LimitRules, by: string): Draft {
  const draft: Draft = { changes: [], skipped: [], rows: [], file: null, models: [], checks: ['model-limits', 'vision-max-tokens'] };
  for (const row of state.models) {
    const effective = keys ? readable(row.model.litellmParams, keys) : null;
    if (!effective) {
      draft.skipped.push({ subject: row.model.modelName, reason: keys ? 'its params do not decrypt (run /repair kind:encrypted-providers first)' : 'its params cannot be read without litellm.saltKey' });
      continue;
    }
    if (!isLocalDeployment(effective)) continue;
    const wanted = limitsFor(row.model.modelName, row.model.modelInfo ?? {}, rules);
    const params = { ...row.model.litellmParams };
    for (const [k, v] of Object.entries(wanted)) if (rules.overwrite || !isPositive(params[k])) params[k] = v;
    const edit: RowEdit = { table: 'LiteLLM_ProxyModelTable', key: row.model.modelId, label: `${row.model.modelName} (${row.model.modelId})`, before: row.raw, after: withParams(row, params, by) };
    const changes = diffRow(edit, keys);
    if (changes.length === 0) continue;
    draft.rows.push(edit);
    draft.changes.push(...changes);
    draft.models.push(row.model.modelName);
  }
  if (file) {
    const { splices, changes, models } = fileLimits(file.text, file.path, rules);
    if (splices.length > 0) {
      draft.file = { path: file.path, before: file.text, after: applySplices(file.text, splices) };
      parseLiteLLMConfig(draft.file.after, file.path);
      draft.changes.push(...changes);
      draft.models.push(...models);
    }
  }
  draft.models = [...new Set(draft.models)];
  return draft;
}

function limitsFor(name: string, info: Record<string, unknown>, rules: LimitRules): Record<string, number> {
  const vision = info.supports_vision === true || name.startsWith('vision-') || rules.vision.has(name);
  return { timeout: rules.timeout, rpm: rules.rpmOf(name), ...(vision ? { max_tokens: rules.visionMaxTokens } : {}) };
}

function fileLimits(text: string, path: string, rules: LimitRules): { splices: Splice[]; changes: Draft['changes']; models: string[] } {
  const parsed = parseLiteLLMConfig(text, path);
  const doc = parse(text);
  const splices: Splice[] = [];
  const changes: Draft['changes'] = [];
  const models: string[] = [];
  const list = doc.get('model_list', true);
  if (!isSeq(list)) return { splices, changes, models };
  for (const entry of list.items) {
    if (!isMap(entry)) continue;
    const name = entry.get('model_name');
    const params = entry.get('litellm_params', true);
    const model = parsed.models.find((m) => m.modelName === name && isMap(params) && m.line === lineOf(text, entry.range![0]));
    if (typeof name !== 'string' || !isMap(params) || !model || !isLocalDeployment(model.litellmParams)) continue;
    for (const [k, v] of Object.entries(limitsFor(name, model.modelInfo ?? {}, rules))) {
      const current = params.get(k, true);
      const before = isScalar(current) ? current.value : undefined;
      if (before !== undefined && (isPositive(before) && !rules.overwrite)) continue;
      if (before === v) continue;
      splices.push(isScalar(current) ? replaceScalar(text, current, String(v)) : addPair(text, params, k, String(v)));
      changes.push({ file: path, subject: `${name} (line ${model.line})`, field: `litellm_params.${k}`, before: before === undefined || before === null ? null : String(before as string | number), after: String(v) });
      models.push(name);
    }
  }
  return { splices, changes, models };
}

/** The params as the router reads them, or null when one does not decrypt. */
function readable(params: Record<string, unknown>, keys: LiteLLMKeys): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string') out[k] = v;
    else {
      const r = readValue(v, keys);
      if (r.problem) return null;
      out[k] = r.value;
    }
  }
  return out;
}

function isPositive(value: unknown): boolean {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
