import { decryptNested, encryptValue, type LiteLLMKeys, type WriteFormat } from '../../litellm/crypto.js';
import { isLocalUrl } from '../../litellm/doctor/locality.js';
import { isKnownProvider, providerOfModel } from '../../litellm/providers.js';
import { diffRow, type Draft, type RowEdit } from './draft.js';
import { withParams, type DbState, type ModelRow } from './state.js';

/** A stored value: readable as it is, readable once repaired (and how), or lost. */
type Recovered = { state: 'ok'; plaintext: string } | { state: 'fixed'; plaintext: string; how: string } | { state: 'lost' };

/**
 * /repair kind:encrypted-providers: every DB model whose string params LiteLLM cannot read gets
 * readable values, re-encrypted with the salt key in `format`. A value some layer decrypts keeps its
 * plaintext; a provider that does not decrypt becomes the prefix of the readable `model`, else
 * `openai` for a local OpenAI-compatible `api_base`. A row where no rule applies is left alone.
 */
export function draftEncryptedProviders(state: DbState, keys: LiteLLMKeys, format: WriteFormat, by: string): Draft {
  const draft: Draft = { changes: [], skipped: [], rows: [], file: null, models: [], checks: ['provider-unreadable'] };
  for (const row of state.models) {
    const planned = planRow(row, keys);
    if (planned === null) continue;
    const label = `${row.model.modelName} (${row.model.modelId})`;
    if ('reason' in planned) {
      draft.skipped.push({ subject: label, reason: planned.reason });
      continue;
    }
    const params = { ...row.model.litellmParams };
    for (const [param, plaintext] of Object.entries(planned.values)) params[param] = encryptValue(plaintext, keys, format);
    const edit: RowEdit = { table: 'LiteLLM_ProxyModelTable', key: row.model.modelId, label, before: row.raw, after: withParams(row, params, by) };
    draft.rows.push(edit);
    for (const change of diffRow(edit, keys)) draft.changes.push({ ...change, rule: planned.rules[change.field.replace(/^litellm_params\./, '')] ?? 'plaintext' });
    draft.models.push(row.model.modelName);
  }
  draft.models = [...new Set(draft.models)];
  return draft;
}

/** null: nothing to repair; the new plaintexts and the rule of each; or why the row is left alone. */
function planRow(row: ModelRow, keys: LiteLLMKeys): { values: Record<string, string>; rules: Record<string, string> } | { reason: string } | null {
  if (row.model.paramsStorage === 'unreadable') return { reason: 'litellm_params is neither a JSON object nor JSON text' };
  const values: Record<string, string> = {};
  const rules: Record<string, string> = {};
  const readable: Record<string, string> = {};
  const lost: string[] = [];
  for (const [param, stored] of Object.entries(row.model.litellmParams)) {
    if (typeof stored !== 'string') continue;
    const r = recover(stored, keys);
    if (r.state === 'lost') lost.push(param);
    else readable[param] = r.plaintext;
    if (r.state === 'fixed') {
      values[param] = r.plaintext;
      rules[param] = r.how;
    }
  }
  const provider = readable.custom_llm_provider;
  const hasProvider = 'custom_llm_provider' in row.model.litellmParams;
  const model = readable.model;
  const unknownPrefix = !hasProvider && model !== undefined && model.includes('/') && !providerOfModel(model);
  if ((hasProvider && (provider === undefined || !isKnownProvider(provider))) || unknownPrefix) {
    const named = providerRule(readable);
    if (!named) return { reason: `custom_llm_provider is ${provider === undefined ? 'unreadable' : `not a provider LiteLLM knows`}, and neither a readable model prefix nor a local api_base names one` };
    values.custom_llm_provider = named.provider;
    rules.custom_llm_provider = named.rule;
  }
  const unrepaired = lost.filter((p) => !(p in values));
  if (unrepaired.length > 0) return { reason: `${unrepaired.join(', ')} ${unrepaired.length === 1 ? 'does' : 'do'} not decrypt with the salt key and no rule gives ${unrepaired.length === 1 ? 'it' : 'them'} a value` };
  return Object.keys(values).length > 0 ? { values, rules } : null;
}

function providerRule(readable: Record<string, string>): { provider: string; rule: string } | null {
  const fromModel = readable.model ? providerOfModel(readable.model) : undefined;
  if (fromModel) return { provider: fromModel, rule: 'model prefix' };
  if (readable.api_base && isLocalUrl(readable.api_base)) return { provider: 'openai', rule: 'local OpenAI-compatible api_base' };
  return null;
}

/** A value as LiteLLM reads it, else what some layer of it (padded, alphabet restored, decrypted again) says. */
function recover(stored: string, keys: LiteLLMKeys): Recovered {
  const read = decryptNested(stored, keys);
  if (read.ok) {
    if (read.stillCiphertext) return { state: 'lost' };
    return read.layers > 1 ? { state: 'fixed', plaintext: read.plaintext, how: `decrypted ${read.layers} layers` } : { state: 'ok', plaintext: read.plaintext };
  }
  if (read.reason === 'not-ciphertext' || read.reason === 'too-short') return { state: 'ok', plaintext: stored };
  const attempts: [string, string][] = [
    ['padding restored', stored + '='.repeat((4 - (stored.length % 4)) % 4)],
    ['base64 alphabet restored', stored.replace(/[+/_-]/g, (c) => ({ '+': '-', '/': '_', '-': '+', _: '/' })[c]!)],
  ];
  for (const [how, candidate] of attempts) {
    const again = decryptNested(candidate, keys);
    if (again.ok && again.layers > 0 && !again.stillCiphertext) return { state: 'fixed', plaintext: again.plaintext, how };
  }
  return { state: 'lost' };
}
