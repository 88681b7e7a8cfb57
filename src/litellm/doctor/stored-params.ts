import { repairLines } from '../../contracts/doctor.js';
import { decryptNested, decryptValue, looksLikeCiphertext, type DecryptFailure, type LiteLLMKeys } from '../crypto.js';
import type { DbModel } from '../db.js';
import { isKnownProvider, providerOfModel } from '../providers.js';
import { found, type Found } from './finding.js';

/** A DB model row as LiteLLM's router ends up with it. */
export interface ReadModel {
  row: DbModel;
  /** decrypted where that works; the stored text where not (LiteLLM 2025+ keeps it verbatim) */
  effective: Record<string, unknown>;
  /** why LiteLLM cannot use this row's params as meant, one line per problem */
  problems: string[];
}

/**
 * Decrypts every string param of every row like LiteLLM 2025+ and checks the result (LITELLM.md
 * §2.4, §2.5): a value that does not decrypt with the salt key, is encrypted twice, or lacks its
 * padding is used verbatim by the router; a provider outside LiteLLM's list fails every request.
 * A plain, readable value (`custom_llm_provider: openai` written by hand) is healthy.
 */
export function checkStoredParams(rows: readonly DbModel[], keys: LiteLLMKeys): { models: ReadModel[]; findings: Found[]; decrypted: number } {
  let decrypted = 0;
  const models = rows.map((row) => {
    const read = readModel(row, keys);
    decrypted += read.decrypted;
    return read.model;
  });
  const findings = models
    .filter((m) => m.problems.length > 0)
    .map((m) =>
      found(
        'provider-unreadable',
        m.row.modelName,
        'error',
        `${m.row.modelName} (model_id ${m.row.modelId}): ${m.problems.join('; ')}. LiteLLM uses such a value as it is stored, so requests to this model fail.`,
        repairLines.encryptedProviders(),
      ),
    );
  return { models, findings, decrypted };
}

function readModel(row: DbModel, keys: LiteLLMKeys): { model: ReadModel; decrypted: number } {
  const problems: string[] = [];
  if (row.paramsStorage === 'unreadable') problems.push('litellm_params is neither a JSON object nor JSON text');
  const effective: Record<string, unknown> = {};
  let decrypted = 0;
  for (const [param, value] of Object.entries(row.litellmParams)) {
    if (typeof value !== 'string') {
      effective[param] = value;
      continue;
    }
    decrypted++;
    const result = readValue(value, keys);
    effective[param] = result.value;
    if (result.problem) problems.push(`${param} ${result.problem}`);
  }
  const unreadable = new Set(problems.map((p) => p.split(' ')[0]));
  const providerProblem = unreadable.has('custom_llm_provider') || unreadable.has('model') ? null : checkProvider(effective);
  if (providerProblem) problems.push(providerProblem);
  return { model: { row, effective, problems }, decrypted };
}

/** What the router gets for one stored string, and what is wrong with it (null: nothing). */
export function readValue(stored: string, keys: LiteLLMKeys): { value: string; problem: string | null } {
  const result = decryptNested(stored, keys);
  if (result.ok) {
    const first = result.layers > 1 ? decryptValue(stored, keys) : null;
    const routerValue = first?.ok ? first.plaintext : result.plaintext;
    if (result.layers > 1) return { value: routerValue, problem: `is encrypted ${result.layers} times: one decryption gives another ciphertext, which is what LiteLLM uses` };
    if (result.stillCiphertext) return { value: routerValue, problem: 'decrypts to another ciphertext, which this salt key does not open' };
    return { value: routerValue, problem: null };
  }
  // plain text: LiteLLM's decryption fails and it keeps the value, which is what was meant
  if (result.reason === 'not-ciphertext' || result.reason === 'too-short') return { value: stored, problem: null };
  return { value: stored, problem: describeFailure(stored, result.reason, keys) };
}

function describeFailure(stored: string, reason: Exclude<DecryptFailure, 'not-ciphertext' | 'too-short'>, keys: LiteLLMKeys): string {
  switch (reason) {
    case 'bad-padding':
      return opens(padded(stored), keys)
        ? "is base64 without its '=' padding (LiteLLM cannot decode it; padded, it decrypts)"
        : "is base64 without its '=' padding, which LiteLLM cannot decode";
    case 'wrong-key':
      return opens(swapAlphabets(stored), keys)
        ? 'mixes up the standard and url-safe base64 alphabets (with them swapped back, it decrypts)'
        : 'does not decrypt with the salt key (written under another key, or the salt key changed since)';
    case 'not-utf8':
      return 'decrypts to bytes that are not text';
    case 'unsupported-format':
      return 'is in the aes256gcm: format, which LiteLLM reads only in FIPS builds and labops not at all';
  }
}

function opens(value: string, keys: LiteLLMKeys): boolean {
  const result = decryptValue(value, keys);
  return result.ok && result.layers > 0;
}

function padded(value: string): string {
  return value + '='.repeat((4 - (value.length % 4)) % 4);
}

const SWAP: Record<string, string> = { '+': '/', '/': '+', '-': '_', _: '-' };
function swapAlphabets(value: string): string {
  return value.replace(/[+/_-]/g, (c) => SWAP[c]!);
}

/** `custom_llm_provider` must be a provider LiteLLM knows; without one, `model`'s prefix decides. */
function checkProvider(effective: Record<string, unknown>): string | null {
  const custom = effective.custom_llm_provider;
  if (typeof custom === 'string' && custom !== '') {
    return isKnownProvider(custom) ? null : `custom_llm_provider ${show(custom)} is not a provider LiteLLM knows`;
  }
  const model = effective.model;
  if (typeof model === 'string' && model.includes('/') && !providerOfModel(model)) {
    return `model ${show(model)} starts with ${show(model.slice(0, model.indexOf('/')))}, which is not a provider LiteLLM knows, and custom_llm_provider is not set`;
  }
  return null;
}

/** A param value as a message may show it: never a secret, never a long ciphertext. */
function show(value: string): string {
  if (looksLikeCiphertext(value)) return '(a ciphertext)';
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value);
}
