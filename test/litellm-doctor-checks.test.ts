import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { notConfigured } from '../src/config/not-configured.js';
import { parseRepairLine, repairLine, repairLines, type Finding } from '../src/contracts/doctor.js';
import type { SmokeRow } from '../src/contracts/smoke.js';
import { deriveKeys, encryptValue } from '../src/litellm/crypto.js';
import type { DbModel } from '../src/litellm/db.js';
import { checkAdminUser } from '../src/litellm/doctor/admin-user.js';
import { checkFallbacks } from '../src/litellm/doctor/fallbacks.js';
import { checkModelLimits, checkVisionMaxTokens } from '../src/litellm/doctor/limits.js';
import { isLocalDeployment, isLocalUrl } from '../src/litellm/doctor/locality.js';
import { checkModelNames, followsNaming, suggestName } from '../src/litellm/doctor/model-names.js';
import type { ModelView } from '../src/litellm/doctor/model-view.js';
import { checkStoredParams, readValue } from '../src/litellm/doctor/stored-params.js';
import { proxyClient, saltKeys } from '../src/litellm/from-config.js';
import { bootServiceFindings, smokeFindings } from '../src/worker/doctor/host-checks.js';
import { doctorReply, repairActions } from '../src/bot/proxy/doctor-reply.js';
import { renderText } from '../src/chat/render-text.js';

type Section = 'entries' | 'entries_std_b64' | 'entries_v2_gcm' | 'entries_v3_gcm';
const vectors = JSON.parse(readFileSync(new URL('./fixtures/litellm-vectors.json', import.meta.url), 'utf8')) as {
  salt_key: string;
  wrong_salt_key: string;
  not_ciphertext: { value: string }[];
  random_nonce_example: { plaintext: string; ciphertext: string };
} & Record<Section, { plaintext: string; ciphertext: string }[]>;
const keys = deriveKeys(vectors.salt_key);

const row = (modelName: string, litellmParams: Record<string, unknown>, extra: Partial<DbModel> = {}): DbModel => ({
  modelId: `id-${modelName}`,
  modelName,
  litellmParams,
  paramsStorage: 'object',
  modelInfo: null,
  blocked: false,
  createdAt: new Date(0),
  createdBy: 'x',
  updatedAt: new Date(0),
  updatedBy: 'x',
  ...extra,
});
const view = (name: string, params: Record<string, unknown> | null, modelInfo: Record<string, unknown> = {}): ModelView => ({ name, source: 'config', where: 'config.yaml line 1', params, modelInfo });
const LOCAL = { api_base: 'http://127.0.0.1:8080/v1', timeout: 120, rpm: 30 };

describe('provider-unreadable: stored params as LiteLLM 2025+ reads them', () => {
  it('reads every vector of every format as healthy', () => {
    for (const section of ['entries', 'entries_std_b64', 'entries_v2_gcm', 'entries_v3_gcm'] as const) {
      for (const { plaintext, ciphertext } of vectors[section]) expect(readValue(ciphertext, keys), `${section} ${plaintext}`).toEqual({ value: plaintext, problem: null });
    }
    expect(readValue(vectors.random_nonce_example.ciphertext, keys)).toEqual({ value: 'openai', problem: null });
  });

  it('takes plain values as they are (LiteLLM keeps them): not a finding', () => {
    for (const { value } of vectors.not_ciphertext) expect(readValue(value, keys), value).toEqual({ value, problem: null });
    expect(checkStoredParams([row('chat-x-vllm', { custom_llm_provider: 'openai', model: 'openai/x', api_key: 'none', ...LOCAL })], keys).findings).toEqual([]);
  });

  it('names each way a value breaks (LITELLM.md §2.4)', () => {
    const wrong = encryptValue('hosted_vllm', deriveKeys(vectors.wrong_salt_key));
    expect(readValue(wrong, keys)).toEqual({ value: wrong, problem: 'does not decrypt with the salt key (written under another key, or the salt key changed since)' });
    const inner = encryptValue('hosted_vllm', keys);
    const twice = encryptValue(inner, keys);
    expect(readValue(twice, keys)).toEqual({ value: inner, problem: 'is encrypted 2 times: one decryption gives another ciphertext, which is what LiteLLM uses' });
    const otherInner = encryptValue(wrong, keys);
    expect(readValue(otherInner, keys).problem).toBe('decrypts to another ciphertext, which this salt key does not open');
    const unpadded = encryptValue('openai', keys).replace(/=+$/, '');
    expect(readValue(unpadded, keys).problem).toBe("is base64 without its '=' padding (LiteLLM cannot decode it; padded, it decrypts)");
    let urlsafe = encryptValue('openai', keys);
    while (!/[-_]/.test(urlsafe)) urlsafe = encryptValue('openai', keys);
    expect(readValue(urlsafe.replace(/[-_]/g, (c) => (c === '-' ? '/' : '+')), keys).problem).toBe('mixes up the standard and url-safe base64 alphabets (with them swapped back, it decrypts)');
    expect(readValue('aes256gcm:AAAA', keys).problem).toMatch(/aes256gcm: format/);
  });

  it('finds a provider LiteLLM does not know, decrypted or plain, and a model prefix that is none', () => {
    const { findings } = checkStoredParams(
      [
        row('chat-a-vllm', { custom_llm_provider: encryptValue('ollama-chat', keys), model: 'x' }),
        row('chat-b-vllm', { model: 'Qwen/Qwen2.5-0.5B' }),
        row('chat-c-vllm', { model: 'gpt-4o-mini' }),
      ],
      keys,
    );
    expect(findings.map((f) => [f.subject, f.message])).toEqual([
      ['chat-a-vllm', 'chat-a-vllm (model_id id-chat-a-vllm): custom_llm_provider "ollama-chat" is not a provider LiteLLM knows. LiteLLM uses such a value as it is stored, so requests to this model fail.'],
      ['chat-b-vllm', expect.stringContaining('model "Qwen/Qwen2.5-0.5B" starts with "Qwen", which is not a provider LiteLLM knows, and custom_llm_provider is not set')],
    ]);
  });

  it('gives one finding per row, listing its broken params, never a plaintext secret', () => {
    const secret = 'sk-upstream-secret-key-123456';
    const { findings, models, decrypted } = checkStoredParams(
      [row('chat-x-vllm', { custom_llm_provider: encryptValue('openai', deriveKeys('other')), api_base: encryptValue('http://h/v1', deriveKeys('other')), api_key: encryptValue(secret, keys), rpm: 5 })],
      keys,
    );
    expect(decrypted).toBe(3);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'provider-unreadable', severity: 'error', repair: '/repair kind:encrypted-providers', checked: true });
    expect(findings[0]!.message).toMatch(/custom_llm_provider does not decrypt .*; api_base does not decrypt/);
    expect(JSON.stringify(findings)).not.toContain(secret);
    expect(models[0]!.effective.api_key).toBe(secret);
  });

  it('flags a row whose litellm_params is not JSON', () => {
    expect(checkStoredParams([row('chat-u-vllm', {}, { paramsStorage: 'unreadable' })], keys).findings[0]!.message).toContain('litellm_params is neither a JSON object nor JSON text');
  });
});

describe('admin-user', () => {
  const admin = (exists: boolean, role: string | null = null) => ({ userId: 'default_user_id', exists, role, isProxyAdmin: role === 'proxy_admin' });
  it('wants the admin row with role proxy_admin while models live in the DB', () => {
    expect(checkAdminUser(admin(true, 'proxy_admin'), true)).toEqual([]);
    expect(checkAdminUser(admin(false), true)[0]).toMatchObject({ subject: 'default_user_id', severity: 'error', repair: '/repair kind:admin-user' });
    expect(checkAdminUser(admin(true, 'internal_user'), undefined)[0]!.message).toContain('has role internal_user instead of proxy_admin');
    expect(checkAdminUser(admin(false), false)).toEqual([]);
  });
});

describe('model-name', () => {
  it('knows the lab\'s rule', () => {
    for (const ok of ['chat-hermes-3-llama-3.1-8b', 'chat-qwen2.5-0.5b-vllm', 'vision-qwen3-vl-4b-ollama', 'embeddings-arctic-embed-m', 'qwen3-coder-480b-cloud', 'chat-default']) expect(followsNaming(ok), ok).toBe(true);
    for (const bad of ['llamacpp-local', 'vllm-qwen2.5-0.5b-instruct', 'ollama-mistral', 'Chat-Hermes', 'gpt-4o', '-cloud', 'chat-']) expect(followsNaming(bad), bad).toBe(false);
  });

  it('suggests the incident\'s names', () => {
    expect(suggestName('llamacpp-local', view('llamacpp-local', { model: 'openai/hermes-3-llama-3.1-8b', ...LOCAL }))).toBe('chat-hermes-3-llama-3.1-8b');
    expect(suggestName('vllm-qwen2.5-0.5b-instruct', view('x', { model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', ...LOCAL }))).toBe('chat-qwen2.5-0.5b-vllm');
    expect(suggestName('ollama-mistral', view('x', { model: 'ollama_chat/mistral:7b', api_base: 'http://127.0.0.1:11434' }))).toBe('chat-mistral-7b-ollama');
    expect(suggestName('arctic', view('x', { model: 'openai/snowflake-arctic-embed-m', ...LOCAL }, { mode: 'embedding' }))).toBe('embeddings-snowflake-arctic-embed-m');
    expect(suggestName('qwen-vl', view('x', { model: 'ollama_chat/qwen3-vl:4b' }, { supports_vision: true }))).toBe('vision-qwen3-vl-4b-ollama');
    expect(suggestName('gpt4', view('x', { model: 'openai/gpt-4o-mini' }))).toBe('gpt-4o-mini-cloud');
    expect(suggestName('vllm-local', view('x', null))).toBe('chat-vllm-local');
  });

  it('gives one finding per name, with the rename repair, and leaves labops\' groups alone', () => {
    const findings = checkModelNames([view('ollama-mistral', { model: 'ollama_chat/mistral:7b' }), { ...view('ollama-mistral', null), source: 'db', where: 'DB model_id m1' }, view('gpt-4o', { model: 'openai/gpt-4o' })], new Set(['gpt-4o']));
    expect(findings).toEqual([
      {
        check: 'model-name',
        subject: 'ollama-mistral',
        severity: 'warning',
        message: 'ollama-mistral (config.yaml line 1, DB model_id m1) does not follow [type]-[name]-[engine]; suggested: chat-mistral-7b-ollama',
        repair: '/repair kind:rename model:ollama-mistral to:chat-mistral-7b-ollama',
        checked: true,
      },
    ]);
  });
});

describe('fallback-dangling', () => {
  const settings = (fallbacks: { from: string; to: string[] }[], alias: Record<string, string> = {}) => ({ fallbacks, contextWindowFallbacks: [], modelGroupAlias: alias });
  it('finds fallbacks and aliases to nowhere, and rules for groups that do not exist', () => {
    const known = new Set(['chat-default', 'qwen3-coder-480b-cloud', 'chat-hermes']);
    const findings = checkFallbacks(
      [
        { where: 'config.yaml router_settings', settings: settings([{ from: 'chat-default', to: ['qwen3-coder-480b-cloud', 'gone-cloud'] }, { from: 'old-name', to: ['chat-default'] }], { 'chat-x': 'nowhere' }) },
        { where: 'config.yaml litellm_settings', settings: settings([{ from: 'chat-default', to: ['qwen3-coder-480b-cloud'] }]) },
      ],
      known,
    );
    expect(findings.map((f) => [f.severity, f.subject, f.message])).toEqual([
      ['error', 'chat-default', 'config.yaml router_settings.fallbacks: chat-default falls back to gone-cloud, which is neither in config.yaml nor in the DB.'],
      ['warning', 'old-name', 'config.yaml router_settings.fallbacks has a rule for old-name, which is neither in config.yaml nor in the DB: it never applies.'],
      ['error', 'chat-x', 'config.yaml router_settings.model_group_alias: chat-x points at nowhere, which is neither in config.yaml nor in the DB.'],
    ]);
  });
});

describe('model-limits and vision-max-tokens', () => {
  it('wants timeout and rpm on local models only', () => {
    const findings = checkModelLimits([
      view('chat-ok', { model: 'openai/x', ...LOCAL }),
      view('chat-no-rpm', { model: 'openai/x', api_base: 'http://10.0.0.5:8000/v1', timeout: '120' }),
      view('chat-ollama', { model: 'ollama_chat/x' }),
      view('gpt-cloud', { model: 'openai/gpt-4o' }),
      view('chat-unreadable', null),
    ]);
    expect(findings.map((f) => [f.subject, f.message])).toEqual([
      ['chat-no-rpm', 'chat-no-rpm (config.yaml line 1) is a local model without rpm: nothing limits the requests it gets.'],
      ['chat-ollama', 'chat-ollama (config.yaml line 1) is a local model without timeout or rpm: a hung model server holds requests for LiteLLM’s default 10 minutes.'],
    ]);
  });

  it('wants max_tokens on vision models', () => {
    const findings = checkVisionMaxTokens(
      [view('vision-a', { max_tokens: 4096 }), view('vision-b', {}), view('chat-c', {}, { supports_vision: true }), view('qwen-vl', {}), view('chat-d', {})],
      new Set(['qwen-vl']),
    );
    expect(findings.map((f) => f.subject)).toEqual(['vision-b', 'chat-c', 'qwen-vl']);
  });

  it('tells local servers from the cloud', () => {
    for (const url of ['http://127.0.0.1:8080/v1', 'http://localhost:11434', 'http://10.1.2.3', 'http://192.168.1.9:8000', 'http://172.20.0.2', 'http://gpu-box:8000', 'http://llm.lan', 'http://[::1]:80']) expect(isLocalUrl(url), url).toBe(true);
    for (const url of ['https://api.openai.com/v1', 'http://vllm.internal.example:8000/v1', 'http://8.8.8.8', 'not a url']) expect(isLocalUrl(url), url).toBe(false);
    expect(isLocalDeployment({ model: 'hosted_vllm/x' })).toBe(true);
    expect(isLocalDeployment({ model: 'openrouter/x' })).toBe(false);
  });
});

describe('host checks', () => {
  it('boot-services: an enabled unit is a warning; units that could not be checked are one finding', () => {
    const findings = bootServiceFindings(
      [
        { model: 'embeddings-default', unit: 'embed.service', vramMiB: 1800, enabled: true },
        { model: 'chat-q', unit: 'q.service', vramMiB: 9000, enabled: false },
        { model: 'a', unit: 'a.service', vramMiB: 1, enabled: null, problem: 'systemd not available' },
        { model: 'b', unit: 'b.service', vramMiB: 1, enabled: null, problem: 'systemd not available' },
      ],
      'gpu-1',
    );
    expect(findings).toEqual([
      { check: 'boot-services', subject: 'embed.service', severity: 'warning', message: 'embed.service (embeddings-default, 1,800 MiB) is enabled at boot: it fills VRAM before anyone asks for the model.', repair: '/repair kind:boot-services host:gpu-1', checked: true },
      { check: 'boot-services', subject: 'a.service, b.service', severity: 'error', message: 'Could not tell whether a.service, b.service start at boot: systemd not available.', repair: null, checked: false },
    ]);
  });

  it('smoke: the models whose last smoke failed', () => {
    const base: SmokeRow = { model: 'm', kind: 'model', host: 'gpu-1', requested: 'm', type: 'chat', ok: true, status: 200, latencyMs: 5, servedBy: 'm', servedById: 'i', fallback: false, note: null, error: null, at: 1_000 };
    const findings = smokeFindings([base, { ...base, model: 'x', ok: false, status: 500, error: 'boom' }, { ...base, model: 'y', ok: false, status: null, error: null }], 61_000);
    expect(findings.map((f) => f.message)).toEqual(['The last smoke of x (1 min ago) failed with 500: boom', 'The last smoke of y (1 min ago) failed: no answer']);
  });
});

describe('repair lines and buttons', () => {
  it('writes and reads /repair command lines', () => {
    expect(repairLines.rename('old name', 'chat-x')).toBe('/repair kind:rename model:"old name" to:chat-x');
    expect(parseRepairLine(repairLines.rename('old name', 'chat-x'))).toEqual({ kind: 'rename', model: 'old name', to: 'chat-x' });
    expect(parseRepairLine(repairLine('boot-services', { host: 'gpu-1' }))).toEqual({ kind: 'boot-services', host: 'gpu-1' });
    expect(parseRepairLine('/start model:litellm')).toBeNull();
  });

  it('offers a button only for /repair lines, one per repair', () => {
    const f = (repair: string | null): Finding => ({ check: 'smoke', subject: 's', severity: 'error', message: 'm', repair, checked: true, host: 'gpu-1' });
    expect(repairActions([f(repairLines.encryptedProviders()), f(repairLines.bootServices('gpu-1')), f(repairLines.bootServices('gpu-1')), f(null), f('/start model:litellm')])).toEqual([
      { label: 'Repair encrypted-providers', command: 'repair', options: { kind: 'encrypted-providers' }, style: 'primary' },
      { label: 'Repair boot-services on gpu-1', command: 'repair', options: { kind: 'boot-services', host: 'gpu-1' }, style: 'primary' },
    ]);
  });

  it('/doctor\'s reply groups by severity, and a check that could not run makes it a failure', () => {
    const f = (check: Finding['check'], severity: Finding['severity'], checked = true): Finding => ({ check, subject: `${check}-s`, severity, message: `${check} m`, repair: null, checked, host: 'gpu-1' });
    const report = { host: 'gpu-1', result: null, problem: null };
    const warnOnly = doctorReply([f('model-name', 'warning')], [report], ['gpu-1']);
    expect(warnOnly).toMatchObject({ outcome: 'ok', tone: 'warn', title: 'Doctor on gpu-1: 1 warning' });
    const unchecked = doctorReply([f('model-name', 'warning'), f('provider-unreadable', 'error', false)], [report], ['gpu-1']);
    expect(unchecked).toMatchObject({ outcome: 'failed', title: 'Doctor on gpu-1: 1 warning, 1 check could not run' });
    expect(renderText(unchecked)).toContain('── Could not check (1) ──\n? provider-unreadable · provider-unreadable-s — provider-unreadable m');
    expect(doctorReply([], [report], ['gpu-1'])).toMatchObject({ outcome: 'ok', title: 'Doctor: nothing wrong found on gpu-1' });
  });
});

describe('settings a feature needs', () => {
  const yaml = (litellm: string) => `litellm:\n${litellm}\nhosts:\n  gpu-1:\n    models: {}\n`;
  it('names the unset environment variable, or the key', () => {
    const config = parseConfig(yaml('  url: http://127.0.0.1:4000\n  masterKey: env:LITELLM_MASTER_KEY\n  saltKey: env:LITELLM_SALT_KEY'), 'labops.yaml', {});
    expect(config.litellm.saltKey).toBeUndefined();
    expect(notConfigured(config, 'litellm.saltKey')).toBe('LITELLM_SALT_KEY is not set (litellm.saltKey reads env:LITELLM_SALT_KEY)');
    expect(saltKeys(config)).toEqual({ ok: false, why: 'LITELLM_SALT_KEY is not set (litellm.saltKey reads env:LITELLM_SALT_KEY)' });
    expect(proxyClient(config, { requireMasterKey: true })).toEqual({ ok: false, why: 'LITELLM_MASTER_KEY is not set (litellm.masterKey reads env:LITELLM_MASTER_KEY)' });
    expect(proxyClient(config).ok).toBe(true);
    expect(notConfigured(config, 'litellm.databaseUrl')).toBe('litellm.databaseUrl is not set in labops.yaml');
  });

  it('has defaults for the smoke and the admin user', () => {
    const config = parseConfig(yaml('  proxyAdminId: env:PROXY_ADMIN_ID'), 'labops.yaml', { PROXY_ADMIN_ID: 'admin' });
    expect(config.litellm).toMatchObject({ proxyAdminId: 'admin', smoke: { concurrency: 32, timeout: 30_000 } });
    expect(parseConfig(yaml('  proxyAdminId: env:PROXY_ADMIN_ID'), 'labops.yaml', {}).litellm.proxyAdminId).toBe('default_user_id');
  });
});
