import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveKeys, encryptValue, type WriteFormat } from '../src/litellm/crypto.js';
import { draftEncryptedProviders } from '../src/worker/repair/encrypted-providers.js';
import { draftModelLimits } from '../src/worker/repair/model-limits.js';
import { draftRename } from '../src/worker/repair/rename.js';
import { toDbModel, type DbState, type RawRow } from '../src/worker/repair/state.js';
import { addPair, applySplices, parse } from '../src/worker/repair/yaml-splice.js';
import { fakeDecrypt } from './support/fake-litellm.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/litellm-vectors.json', import.meta.url), 'utf8')) as { salt_key: string; wrong_salt_key: string; entries: { plaintext: string; ciphertext: string }[] };
const SALT = vectors.salt_key;
const keys = deriveKeys(SALT);
const vector = (plaintext: string) => vectors.entries.find((e) => e.plaintext === plaintext)!.ciphertext;

const row = (id: string, name: string, params: Record<string, unknown>): RawRow => ({
  model_id: id, model_name: name, litellm_params: params, model_info: { id }, created_at: '2026-01-01T00:00:00', created_by: 'x', updated_at: '2026-01-01T00:00:00', updated_by: 'x',
});
const state = (...rows: RawRow[]): DbState => ({ models: rows.map((raw) => ({ raw, model: toDbModel(raw) })), admin: null, config: {} });

describe('encrypted-providers, drawn from the rows', () => {
  const broken = row('m1', 'chat-x-vllm', { model: vector('hosted_vllm/meta-llama/Llama-3.1-8B-Instruct'), custom_llm_provider: encryptValue('hosted_vllm', deriveKeys(vectors.wrong_salt_key)) });

  it.each<[WriteFormat, RegExp]>([
    ['nacl-urlsafe', /^[A-Za-z0-9_-]+={0,2}$/],
    ['nacl-std', /^[A-Za-z0-9+/]+={0,2}$/],
    ['v2-gcm', /^v2:gcm:[A-Za-z0-9_-]+={0,2}$/],
    ['v3-gcm', /^v3:gcm:[A-Za-z0-9_-]+={0,2}$/],
  ])('writes %s that the vectors’ algorithm decrypts', (format, shape) => {
    const draft = draftEncryptedProviders(state(broken), keys, format, 'labops:test');
    const written = (draft.rows[0]!.after!.litellm_params as Record<string, string>).custom_llm_provider!;
    expect(written).toMatch(shape);
    expect(written.replace(/^v[23]:gcm:/, '').length % 4).toBe(0);
    expect(fakeDecrypt(written, SALT)).toBe('hosted_vllm');
    expect(draft.changes).toEqual([{ table: 'LiteLLM_ProxyModelTable', subject: 'chat-x-vllm (m1)', field: 'litellm_params.custom_llm_provider', before: expect.stringMatching(/^<unreadable \d+ B>$/), after: 'hosted_vllm', rule: 'model prefix' }]);
    expect(draft.rows[0]!.after!.updated_by).toBe('labops:test');
  });

  it('writes plaintext when configured, and restores what a layer still says', () => {
    const unpadded = row('m2', 'chat-pad-vllm', { model: vector('openai/gpt-4o-mini'), custom_llm_provider: encryptValue('openai', keys).replace(/=+$/, '') });
    const draft = draftEncryptedProviders(state(broken, unpadded), keys, 'plaintext', 'labops');
    expect(draft.rows.map((r) => (r.after!.litellm_params as Record<string, string>).custom_llm_provider)).toEqual(['hosted_vllm', 'openai']);
    expect(draft.changes.map((c) => c.rule)).toEqual(['model prefix', 'padding restored']);
  });

  it('leaves a row no rule applies to alone, and a healthy row untouched', () => {
    const lost = row('m3', 'chat-lost-cloud', { model: encryptValue('gpt', deriveKeys(vectors.wrong_salt_key)), custom_llm_provider: encryptValue('openai', deriveKeys(vectors.wrong_salt_key)) });
    const healthy = row('m4', 'chat-ok-cloud', { model: vector('openai/gpt-4o-mini'), custom_llm_provider: vector('openai'), api_key: vector('sk-proj-FAKEfakeFAKEfake0123456789abcdefABCDEF') });
    const draft = draftEncryptedProviders(state(lost, healthy), keys, 'nacl-urlsafe', 'labops');
    expect(draft.rows).toEqual([]);
    expect(draft.skipped).toEqual([{ subject: 'chat-lost-cloud (m3)', reason: expect.stringContaining('neither a readable model prefix nor a local api_base') }]);
  });
});

describe('config.yaml edits keep everything else byte for byte', () => {
  const text = `# top
list:
  - name: a   # a comment
    params: { x: 1 }
    empty: {}
    block:
      k: v    # trailing
  # between
`;
  it('adds a pair to a flow mapping, an empty one and a block mapping', () => {
    const doc = parse(text);
    const at = (path: (string | number)[]) => doc.getIn(path, true) as Parameters<typeof addPair>[1];
    const out = applySplices(text, [addPair(text, at(['list', 0, 'params']), 'y', '2'), addPair(text, at(['list', 0, 'empty']), 'z', '3'), addPair(text, at(['list', 0, 'block']), 'rpm', '10')]);
    expect(out).toBe(text.replace('{ x: 1 }', '{ x: 1, y: 2 }').replace('{}', '{z: 3}').replace('      k: v    # trailing\n', '      k: v    # trailing\n      rpm: 10\n'));
  });

  it('rename: only the names, quotes kept, in the file and the DB settings', () => {
    const yaml = `model_list:\n  - model_name: "old-x"  # c\n    litellm_params: { model: openai/x }\nrouter_settings:\n  fallbacks: [{"old-x": ["b"]}, {b: [old-x]}]\n  model_group_alias: { alias: old-x, other: {model: old-x, hidden: true} }\n`;
    const s: DbState = { models: [], admin: null, config: { router_settings: { param_name: 'router_settings', param_value: { fallbacks: [{ b: ['old-x'] }], num_retries: 2 } } } };
    const draft = draftRename(s, { path: 'c.yaml', text: yaml }, 'old-x', 'chat-x-vllm', 'labops');
    expect(draft.file!.after).toBe(yaml.replaceAll('old-x', 'chat-x-vllm'));
    expect(draft.rows[0]!.after!.param_value).toEqual({ fallbacks: [{ b: ['chat-x-vllm'] }], num_retries: 2 });
    expect(() => draftRename(s, { path: 'c.yaml', text: yaml }, 'old-x', 'Bad Name', 'labops')).toThrow(/does not follow/);
    expect(() => draftRename(s, { path: 'c.yaml', text: yaml }, 'old-x', 'alias', 'labops')).toThrow();
  });
});

describe('model-limits, drawn from the rows', () => {
  const local = (id: string, name: string, extra: Record<string, unknown>) => row(id, name, { model: encryptValue('openai/x', keys), api_base: encryptValue('http://127.0.0.1:8000/v1', keys), ...extra });
  const rules = (overwrite: boolean) => ({ timeout: 120, visionMaxTokens: 4096, rpmOf: (n: string) => (n === 'chat-a-vllm' ? 60 : 30), vision: new Set(['vision-v-ollama']), overwrite });
  const s = state(local('a', 'chat-a-vllm', {}), local('v', 'vision-v-ollama', { timeout: 300 }), row('c', 'gpt-cloud', { model: encryptValue('openai/gpt', keys) }));

  it('gives each local model what it lacks: rpm from the inventory, max_tokens to vision models; cloud models and set values alone', () => {
    const draft = draftModelLimits(s, null, keys, rules(false), 'labops');
    expect(draft.changes.map((c) => `${c.subject} ${c.field} ${c.before} → ${c.after}`)).toEqual([
      'chat-a-vllm (a) litellm_params.timeout null → 120',
      'chat-a-vllm (a) litellm_params.rpm null → 60',
      'vision-v-ollama (v) litellm_params.rpm null → 30',
      'vision-v-ollama (v) litellm_params.max_tokens null → 4096',
    ]);
    expect(draft.models).toEqual(['chat-a-vllm', 'vision-v-ollama']);
  });

  it('replaces set values with overwrite', () => {
    const draft = draftModelLimits(s, null, keys, rules(true), 'labops');
    expect(draft.changes.find((c) => c.subject === 'vision-v-ollama (v)' && c.field === 'litellm_params.timeout')).toMatchObject({ before: '300', after: '120' });
  });
});
