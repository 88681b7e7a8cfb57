import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys, encryptValue } from '../src/litellm/crypto.js';
import type { CliProcess } from './support/cli.js';
import { freePort } from './support/engines-helpers.js';
import type { ExecJson } from './support/lifecycle-lab.js';
import { createProxyLab, EMBEDDER, encryptParams, HERMES, UPSTREAM_KEY, type ProxyLab } from './support/proxy-lab.js';
import { TcpProxy } from './support/tcp-proxy.js';

type Section = 'entries' | 'entries_std_b64' | 'entries_v2_gcm' | 'entries_v3_gcm';
const vectors = JSON.parse(readFileSync(new URL('./fixtures/litellm-vectors.json', import.meta.url), 'utf8')) as {
  salt_key: string;
  wrong_salt_key: string;
  not_ciphertext: { value: string }[];
} & Record<Section, { plaintext: string; ciphertext: string }[]>;
const SALT = vectors.salt_key;
const VECTOR_API_KEY = 'sk-proj-FAKEfakeFAKEfake0123456789abcdefABCDEF';
const EMBEDDER_LITERAL_KEY = 'sk-doctor-embedder-literal-0a1b2c3d';

interface Finding {
  check: string;
  subject: string;
  severity: 'error' | 'warning';
  message: string;
  repair: string | null;
  checked: boolean;
  host: string;
}
type DoctorJson = ExecJson & { data: { findings: Finding[]; hosts: { host: string; litellm: boolean; ran: string[]; stats: { dbModels: number; decrypted: number } }[] } };

const configYaml = ({ hermesBase, embedderBase }: { hermesBase: string; embedderBase: string }) => `# gpu-1's LiteLLM proxy as the hand repair left it; a few things were missed.
model_list:
  - model_name: chat-default              # what clients ask for; the local Hermes
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
    model_info: { id: chat-default-hermes, mode: chat }
  - model_name: ${HERMES}   # was: llamacpp-local
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
  - model_name: ollama-mistral            # old name, never renamed
    litellm_params: { model: ollama_chat/mistral:7b, api_base: "http://127.0.0.1:11434", timeout: 120, rpm: 10 }
  - model_name: vision-qwen3-vl-4b-ollama # max_tokens forgotten
    litellm_params: { model: ollama_chat/qwen3-vl:4b, api_base: "http://127.0.0.1:11434", timeout: 120, rpm: 10 }
    model_info: { mode: chat, supports_vision: true }
  - model_name: ${EMBEDDER}  # rpm forgotten
    litellm_params: { model: openai/snowflake-arctic-embed-m, api_base: ${embedderBase}, api_key: ${EMBEDDER_LITERAL_KEY}, timeout: 120 }
    model_info: { mode: embedding }
  # --- cloud
  - model_name: qwen3-coder-480b-cloud
    litellm_params: { model: openrouter/qwen/qwen3-coder, api_key: os.environ/OPENROUTER_API_KEY }
router_settings:
  fallbacks:
    - chat-default: [qwen3-coder-480b-cloud]
    - ollama-mistral: [chat-default]
  context_window_fallbacks: [{"chat-qwen2.5-0.5b-vllm": ["chat-default"]}]
  model_group_alias:
    chat-hermes: ${HERMES}
litellm_settings:
  fallbacks: [{"${HERMES}": ["chat-gone-cloud"]}]   # a cloud model deleted since
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
`;

/** The findings as (check, subject) pairs, sorted. */
const pairs = (findings: Finding[]) => findings.map((f) => `${f.check} ${f.subject}`).sort();

const INCIDENT = [
  'admin-user default_user_id',
  `boot-services labops-test-${EMBEDDER}.service`,
  `fallback-dangling ${HERMES}`,
  `model-limits ${EMBEDDER}`,
  'model-name ollama-mistral',
  'provider-unreadable chat-alphabet-vllm',
  'provider-unreadable chat-double-vllm',
  'provider-unreadable chat-no-padding-vllm',
  'provider-unreadable chat-unknown-provider-vllm',
  'provider-unreadable chat-wrong-key-vllm',
  'smoke chat-mistral-7b-ollama',
  'vision-max-tokens vision-qwen3-vl-4b-ollama',
];

describe('/doctor on the incident, end to end', () => {
  let lab: ProxyLab;
  let worker: CliProcess;
  const outputs: string[] = [];
  const doctor = async (flags: string[] = []): Promise<DoctorJson> => {
    const r = (await lab.exec('/doctor', ['--as', 'viewer', ...flags], { timeoutMs: 60_000 })) as DoctorJson;
    outputs.push(r.raw, r.stderr);
    return r;
  };
  const restartWorker = async (overrides: Record<string, string | null>, litellm: Record<string, unknown> = {}) => {
    outputs.push(worker.stdout, worker.stderr);
    await worker.stop();
    worker = await lab.startWorker(overrides, litellm);
  };

  beforeAll(async () => {
    lab = await createProxyLab({ saltKey: SALT, embedderEnabled: true, configYaml });
    lab.secrets.push(VECTOR_API_KEY, EMBEDDER_LITERAL_KEY, vectors.wrong_salt_key);
    const keys = deriveKeys(SALT);
    const local = { api_base: `http://127.0.0.1:${lab.hermesPort}/v1`, timeout: 120, rpm: 60 };
    const healthy = (provider: string) => encryptParams({ model: `${provider}/Qwen/Qwen2.5-0.5B-Instruct`, custom_llm_provider: provider, api_key: UPSTREAM_KEY, ...local }, SALT);

    // healthy rows in every format: written by labops' crypto, and LiteLLM's own vectors
    await lab.db.insertModel({ model_id: 'db-qwen', model_name: 'chat-qwen2.5-0.5b-vllm', litellm_params: healthy('hosted_vllm'), model_info: { id: 'db-qwen', mode: 'chat' } });
    await lab.db.insertModel({ model_id: 'db-std', model_name: 'chat-std-b64-vllm', litellm_params: encryptParams({ model: 'hosted_vllm/x', custom_llm_provider: 'hosted_vllm', ...local }, SALT, 'nacl-std') });
    await lab.db.insertModel({ model_id: 'db-json', model_name: 'chat-json-text-vllm', litellm_params: healthy('hosted_vllm'), paramsAsJsonString: true });
    await lab.db.insertModel({ model_id: 'db-plain', model_name: 'chat-hand-written-vllm', litellm_params: { model: 'openai/hermes', custom_llm_provider: 'openai', ...local } });
    const notCipher = vectors.not_ciphertext.map((v) => v.value);
    await lab.db.insertModel({ model_id: 'db-plain-2', model_name: 'chat-plain-ollama', litellm_params: { custom_llm_provider: 'ollama', model: 'ollama/mistral:7b', api_version: notCipher.at(-1)!, organization: notCipher[3]!, ...local } });
    for (const [section, tag] of [['entries', 'url'], ['entries_std_b64', 'std'], ['entries_v2_gcm', 'v2'], ['entries_v3_gcm', 'v3']] as const) {
      const v = (plaintext: string) => vectors[section].find((e) => e.plaintext === plaintext)!.ciphertext;
      await lab.db.insertModel({
        model_id: `db-vectors-${tag}`,
        model_name: `gpt-4o-mini-${tag}-cloud`,
        litellm_params: { custom_llm_provider: v('openai'), model: v('openai/gpt-4o-mini'), api_key: v(VECTOR_API_KEY), api_version: v('2024-10-21'), organization: v('Ünïcødé ✓ 日本語 — émoji 🚀'), region_name: v('') },
      });
    }

    // broken in each way of LITELLM.md §2.4
    const broken = (name: string, provider: string) =>
      lab.db.insertModel({ model_id: `db-${name}`, model_name: name, litellm_params: { ...encryptParams({ model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', ...local }, SALT), custom_llm_provider: provider } });
    await broken('chat-wrong-key-vllm', encryptValue('hosted_vllm', deriveKeys(vectors.wrong_salt_key)));
    await broken('chat-double-vllm', encryptValue(encryptValue('hosted_vllm', keys), keys));
    await broken('chat-no-padding-vllm', encryptValue('openai', keys).replace(/=+$/, ''));
    let urlsafe = encryptValue('hosted_vllm', keys);
    while (!/[-_]/.test(urlsafe)) urlsafe = encryptValue('hosted_vllm', keys);
    await broken('chat-alphabet-vllm', urlsafe.replace(/[-_]/g, (c) => (c === '-' ? '/' : '+')));
    await broken('chat-unknown-provider-vllm', encryptValue('ollama-chat', keys));
    // LiteLLM_Config: router settings saved from the UI
    await lab.db.setConfigRow('router_settings', { fallbacks: [{ 'chat-default': ['qwen3-coder-480b-cloud'] }] });

    worker = await lab.startWorker();
    // a model whose last smoke failed (the proxy does not know it)
    const smoke = await lab.exec('/smoke model:chat-mistral-7b-ollama', ['--as', 'operator']);
    expect(smoke.code).toBe(1);
  });

  afterAll(async () => {
    await lab?.dispose();
  });

  let incident: DoctorJson;

  it('finds each breakage exactly once, and flags nothing else', async () => {
    incident = await doctor();
    const r = incident;
    expect(r.code, r.raw).toBe(1);
    expect(pairs(r.data.findings)).toEqual(INCIDENT);
    expect(r.data.findings.every((f) => f.checked && f.host === 'gpu-1')).toBe(true);
    const [host] = r.data.hosts;
    expect(host).toMatchObject({ host: 'gpu-1', litellm: true, stats: { dbModels: 14 } });
    expect(host!.ran).toEqual(expect.arrayContaining(['proxy-live', 'proxy-db', 'provider-unreadable', 'admin-user', 'model-name', 'fallback-dangling', 'model-limits', 'vision-max-tokens', 'boot-services', 'smoke']));
    expect(r.title).toBe('Doctor on gpu-1: 8 errors, 4 warnings');
    // a button per repair (its dry run comes first); the rename with the suggested name
    const button = (label: string, options: Record<string, string>) => ({ label, command: 'repair', options, style: 'primary' });
    expect(r.actions).toEqual([
      button('Repair encrypted-providers', { kind: 'encrypted-providers' }),
      button('Repair admin-user', { kind: 'admin-user' }),
      button('Rename ollama-mistral to chat-mistral-7b-ollama', { kind: 'rename', model: 'ollama-mistral', to: 'chat-mistral-7b-ollama' }),
      button('Repair model-limits', { kind: 'model-limits' }),
      button('Repair boot-services on gpu-1', { kind: 'boot-services', host: 'gpu-1' }),
    ]);
  });

  it('says what is wrong and which repair fixes it', () => {
    const { findings } = incident.data;
    const find = (subject: string) => findings.find((f) => f.subject === subject)!;
    expect(find('chat-wrong-key-vllm')).toMatchObject({ severity: 'error', repair: '/repair kind:encrypted-providers' });
    expect(find('chat-wrong-key-vllm').message).toMatch(/custom_llm_provider does not decrypt with the salt key/);
    expect(find('chat-double-vllm').message).toMatch(/custom_llm_provider is encrypted 2 times/);
    expect(find('chat-no-padding-vllm').message).toMatch(/custom_llm_provider is base64 without its '=' padding \(LiteLLM cannot decode it; padded, it decrypts\)/);
    expect(find('chat-alphabet-vllm').message).toMatch(/mixes up the standard and url-safe base64 alphabets/);
    expect(find('chat-unknown-provider-vllm').message).toMatch(/custom_llm_provider "ollama-chat" is not a provider LiteLLM knows/);
    expect(find('default_user_id')).toMatchObject({ check: 'admin-user', severity: 'error', repair: '/repair kind:admin-user' });
    expect(find('ollama-mistral')).toMatchObject({ severity: 'warning', repair: '/repair kind:rename model:ollama-mistral to:chat-mistral-7b-ollama' });
    expect(find(HERMES).message).toBe(`config.yaml litellm_settings.fallbacks: ${HERMES} falls back to chat-gone-cloud, which is neither in config.yaml nor in the DB.`);
    expect(find(EMBEDDER)).toMatchObject({ check: 'model-limits', repair: '/repair kind:model-limits' });
    expect(find('vision-qwen3-vl-4b-ollama')).toMatchObject({ check: 'vision-max-tokens', repair: '/repair kind:model-limits' });
    expect(find(`labops-test-${EMBEDDER}.service`)).toMatchObject({ severity: 'warning', repair: '/repair kind:boot-services host:gpu-1' });
    expect(find('chat-mistral-7b-ollama').message).toMatch(/^The last smoke of chat-mistral-7b-ollama \(\d+ s ago\) failed with 400: .*Invalid model name/);
  });

  it('lists findings grouped by severity, each with its repair', async () => {
    const text = await lab.execText('/doctor', ['--as', 'viewer']);
    outputs.push(text.stdout, text.stderr);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^✖ Doctor on gpu-1: 8 errors, 4 warnings\n\n── Errors \(8\) ──\n✖ provider-unreadable · chat-alphabet-vllm — .* → \/repair kind:encrypted-providers\n/);
    expect(text.stdout).toMatch(/── Warnings \(4\) ──\n⚠ model-name · ollama-mistral — .* → \/repair kind:rename model:ollama-mistral to:chat-mistral-7b-ollama\n/);
    expect(text.stdout).toContain('↳ Repair boot-services on gpu-1: /repair kind:boot-services host:gpu-1');
  });

  it('passes once a breakage is repaired: the admin user', async () => {
    await lab.db.insertUser({ user_id: 'default_user_id', user_role: 'proxy_admin' });
    expect(pairs((await doctor()).data.findings)).toEqual(INCIDENT.filter((p) => !p.startsWith('admin-user')));
  });

  it('the proxy down is one clear finding', async () => {
    const port = await freePort();
    await restartWorker({}, { url: `http://127.0.0.1:${port}` });
    const r = await doctor();
    expect(r.code).toBe(1);
    const extra = r.data.findings.filter((f) => !INCIDENT.includes(`${f.check} ${f.subject}`));
    expect(extra).toEqual([
      expect.objectContaining({ check: 'proxy-live', subject: 'proxy', severity: 'error', checked: true, repair: '/start model:litellm', message: `The LiteLLM proxy does not answer /health/liveliness: LiteLLM at http://127.0.0.1:${port}: connection refused.` }),
    ]);
  });

  it('LiteLLM\'s database down is one clear finding, and the checks that need it say they did not run', async () => {
    const tcp = new TcpProxy(5432);
    const port = await tcp.open();
    const url = new URL(lab.litellmEnv.LITELLM_DATABASE_URL!);
    url.port = String(port);
    await tcp.close();
    await restartWorker({ LITELLM_DATABASE_URL: url.toString() });
    const r = await doctor();
    expect(r.code).toBe(1);
    const db = r.data.findings.filter((f) => /database/i.test(f.message) || f.check === 'proxy-db');
    expect(db).toEqual([expect.objectContaining({ check: 'proxy-db', subject: 'database', checked: false, severity: 'error' })]);
    expect(db[0]!.message).toMatch(/^LiteLLM's database \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/labops_test\): connection refused\. Not checked: provider-unreadable, admin-user, fallback-dangling/);
    expect(r.data.findings.filter((f) => f.check === 'provider-unreadable')).toEqual([]);
    // what config.yaml alone tells is still there
    expect(pairs(r.data.findings)).toEqual(expect.arrayContaining(['model-name ollama-mistral', `model-limits ${EMBEDDER}`, 'vision-max-tokens vision-qwen3-vl-4b-ollama']));
  });

  it('no salt key is one clear finding that names the variable', async () => {
    await restartWorker({ LITELLM_SALT_KEY: null });
    const r = await doctor();
    expect(r.code).toBe(1);
    const salt = r.data.findings.filter((f) => /salt/i.test(f.message));
    expect(salt).toEqual([expect.objectContaining({ check: 'provider-unreadable', subject: 'litellm.saltKey', checked: false })]);
    expect(salt[0]!.message).toMatch(/^LITELLM_SALT_KEY is not set \(litellm\.saltKey reads env:LITELLM_SALT_KEY\): the DB models' stored params cannot be decrypted/);
    expect(r.data.findings.filter((f) => f.check === 'provider-unreadable' && f.checked)).toEqual([]);
  });

  it('never shows a secret', () => {
    outputs.push(worker.stdout, worker.stderr);
    const all = outputs.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of lab.secrets) expect(all, secret).not.toContain(secret);
  });
});
