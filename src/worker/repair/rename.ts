import { usageError } from '../../core/errors.js';
import { parseLiteLLMConfig } from '../../litellm/config-file.js';
import { followsNaming } from '../../litellm/doctor/model-names.js';
import { diffRow, isRecord, type Draft, type RowEdit } from './draft.js';
import { touched, type DbState } from './state.js';
import { applySplices, isMap, isScalar, isSeq, parse, replaceScalar, scalarsEqual, type Splice } from './yaml-splice.js';

/** The router settings that name model groups: fallbacks (keys and targets) and the aliases' targets. */
const FALLBACK_KEYS = ['fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks'];
const SETTINGS = ['router_settings', 'litellm_settings'];

/**
 * /repair kind:rename model:<old> to:<new>: the DB rows' model_name, config.yaml's entries, and
 * every fallback and alias that names the old group — in config.yaml and in LiteLLM_Config's router
 * settings — in one repair. The new name must follow `[type]-[name]-[engine]` and be free.
 */
export function draftRename(state: DbState, file: { path: string; text: string } | null, from: string, to: string, by: string): Draft {
  const draft: Draft = { changes: [], skipped: [], rows: [], file: null, models: [to], checks: ['model-name', 'fallback-dangling'] };
  if (!followsNaming(to)) throw usageError(`${to} does not follow [type]-[name]-[engine] (e.g. chat-mistral-7b-ollama, or qwen3-coder-480b-cloud for a cloud model).`);
  const parsed = file ? parseLiteLLMConfig(file.text, file.path) : null;
  const taken = new Set([...state.models.map((m) => m.model.modelName), ...(parsed?.models.map((m) => m.modelName) ?? [])]);
  for (const s of [parsed?.routerSettings, parsed?.litellmSettings]) for (const alias of Object.keys(s?.modelGroupAlias ?? {})) taken.add(alias);
  if (!taken.has(from)) throw usageError(`No model ${from} in LiteLLM's database or config.yaml.`, 'The names /doctor lists under model-name are the ones to rename.');
  if (taken.has(to)) throw usageError(`${to} is already a model or alias of the proxy: pick a free name.`);

  for (const row of state.models.filter((m) => m.model.modelName === from)) {
    const edit: RowEdit = { table: 'LiteLLM_ProxyModelTable', key: row.model.modelId, label: `${from} (${row.model.modelId})`, before: row.raw, after: { ...row.raw, model_name: to, ...touched(by) } };
    draft.rows.push(edit);
    draft.changes.push(...diffRow(edit, null));
  }
  for (const name of SETTINGS) {
    const row = state.config[name];
    if (!row || !isRecord(row.param_value)) continue;
    const renamed = renameInSettings(row.param_value, from, to);
    if (!renamed) continue;
    const edit: RowEdit = { table: 'LiteLLM_Config', key: name, before: row, after: { ...row, param_value: renamed } };
    draft.rows.push(edit);
    draft.changes.push(...diffRow(edit, null));
  }
  if (file) {
    const splices = fileSplices(file.text, from, to);
    if (splices.length > 0) {
      draft.file = { path: file.path, before: file.text, after: applySplices(file.text, splices) };
      parseLiteLLMConfig(draft.file.after, file.path);
      for (const s of splices) draft.changes.push({ file: file.path, subject: `line ${lineOf(file.text, s.start)}`, field: 'model group', before: from, after: to });
    }
  }
  return draft;
}

/** A copy of router settings with the group renamed, or null when nothing names it. */
function renameInSettings(settings: Record<string, unknown>, from: string, to: string): Record<string, unknown> | null {
  let changed = false;
  const name = (n: unknown) => (n === from ? ((changed = true), to) : n);
  const out: Record<string, unknown> = { ...settings };
  for (const key of FALLBACK_KEYS) {
    const list = settings[key];
    if (!Array.isArray(list)) continue;
    out[key] = list.map((m: unknown) =>
      isRecord(m) ? Object.fromEntries(Object.entries(m).map(([k, v]) => [name(k) as string, Array.isArray(v) ? v.map(name) : name(v)])) : m,
    );
  }
  const aliases = settings.model_group_alias;
  if (isRecord(aliases)) {
    out.model_group_alias = Object.fromEntries(Object.entries(aliases).map(([a, t]) => [a, isRecord(t) ? { ...t, model: name(t.model) } : name(t)]));
  }
  return changed ? out : null;
}

function fileSplices(text: string, from: string, to: string): Splice[] {
  const doc = parse(text);
  const splices: Splice[] = [];
  const models = doc.get('model_list', true);
  if (isSeq(models)) {
    for (const entry of models.items) {
      const name = isMap(entry) ? entry.get('model_name', true) : undefined;
      if (isScalar(name) && name.value === from) splices.push(replaceScalar(text, name, to));
    }
  }
  for (const section of SETTINGS) {
    const settings = doc.get(section, true);
    if (!isMap(settings)) continue;
    for (const key of FALLBACK_KEYS) for (const node of scalarsEqual(settings.get(key, true), from)) splices.push(replaceScalar(text, node, to));
    const aliases = settings.get('model_group_alias', true);
    if (!isMap(aliases)) continue;
    for (const pair of aliases.items) {
      const target = isMap(pair.value) ? pair.value.get('model', true) : pair.value;
      if (isScalar(target) && target.value === from) splices.push(replaceScalar(text, target, to));
    }
  }
  return splices;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
