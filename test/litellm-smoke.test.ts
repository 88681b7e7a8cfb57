import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../src/notify/notice.js';
import { deriveKeys, encryptValue } from '../src/litellm/crypto.js';
import type { CliProcess } from './support/cli.js';
import { collectNotices } from './support/lifecycle-lab.js';
import type { ExecJson } from './support/lifecycle-lab.js';
import { createProxyLab, encryptParams, HERMES, UPSTREAM_KEY, type ProxyLab } from './support/proxy-lab.js';

const SALT = 'sk-smoke-salt-key-1a2b3c4d5e6f';
const OTHER_SALT = 'sk-rotated-salt-key-ffee0011';

interface Row {
  model: string;
  kind: string;
  ok: boolean | null;
  status: number | null;
  latencyMs: number | null;
  servedBy: string | null;
  fallback: boolean;
  note: string | null;
  error: string | null;
}
interface SmokeData {
  results: Row[];
  skipped: { model: string }[];
  concurrency: number;
  maxInFlight: number;
  started: { model: string; status: string }[];
}

const configYaml = ({ hermesBase, embedderBase }: { hermesBase: string; embedderBase: string }) => `# The proxy of gpu-1 in the smoke test: chat-default on the local Hermes, the cloud behind it.
model_list:
  - model_name: chat-default            # what clients ask for
    litellm_params:
      model: openai/hermes-3-llama-3.1-8b
      api_base: ${hermesBase}
      timeout: 120
      rpm: 30
    model_info: { id: chat-default-hermes, mode: chat }
  - model_name: ${HERMES}
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
    model_info: { id: hermes-local, mode: chat }
  # the embedder (a systemd unit, stopped in this test)
  - model_name: embeddings-arctic-embed-m
    litellm_params: { model: openai/embeddings-arctic-embed-m, api_base: ${embedderBase}, timeout: 120, rpm: 60 }
    model_info: { mode: embedding }
  - model_name: vision-qwen3-vl-4b-ollama
    litellm_params: { model: openai/qwen3-vl, api_base: ${hermesBase}, timeout: 120, rpm: 10, max_tokens: 4096 }
    model_info: { mode: chat, supports_vision: true }
  # --- cloud
  - model_name: qwen3-coder-480b-cloud
    litellm_params: { model: openrouter/qwen/qwen3-coder, api_key: os.environ/OPENROUTER_API_KEY }
router_settings:
  num_retries: 1
  fallbacks:
    - chat-default: [qwen3-coder-480b-cloud]   # when the local Hermes is off
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
`;

describe('/smoke through the proxy, end to end', () => {
  let lab: ProxyLab;
  let worker: CliProcess;
  let notices: ReturnType<typeof collectNotices>;
  const outputs: string[] = [];

  const smoke = async (line = '/smoke', flags: string[] = []): Promise<ExecJson & { data: SmokeData }> => {
    const r = await lab.exec(line, ['--as', 'operator', ...flags], { timeoutMs: 60_000 });
    outputs.push(r.raw, r.stderr);
    return r as ExecJson & { data: SmokeData };
  };
  const row = (r: { data: SmokeData }, model: string) => r.data.results.find((x) => x.model === model)!;
  const smokeNotices = (model: string) => notices.notices.filter((n: Notice) => n.key === `gpu-1:${model}:smoke`);

  const all = (texts: string[]) => texts.join('\n');

  beforeAll(async () => {
    lab = await createProxyLab({ saltKey: SALT, configYaml });
    const base = { api_base: `http://127.0.0.1:${lab.hermesPort}/v1`, api_key: UPSTREAM_KEY, timeout: 120, rpm: 60 };
    await lab.db.insertModel({
      model_id: 'db-qwen-0001',
      model_name: 'chat-qwen2.5-0.5b-vllm',
      litellm_params: encryptParams({ model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', custom_llm_provider: 'hosted_vllm', ...base }, SALT),
    });
    await lab.db.insertModel({
      model_id: 'db-mistral-0002',
      model_name: 'chat-mistral-7b-ollama',
      litellm_params: { ...encryptParams({ model: 'mistral:7b', ...base }, SALT), custom_llm_provider: encryptValue('ollama_chat', deriveKeys(OTHER_SALT)) },
    });
    notices = collectNotices(lab.prefix);
    worker = await lab.startWorker();
    const started = await lab.exec(`/start ${HERMES}`, ['--as', 'operator']);
    expect(started.code, started.raw).toBe(0);
  });

  afterAll(async () => {
    await notices?.close();
    await lab?.dispose();
  });

  it('asks every model and group; says which deployment answered; a broken provider fails with LiteLLM\'s error and raises one alert', async () => {
    const r = await smoke();
    expect(r.code, r.raw).toBe(1);
    expect(r.title).toBe('Smoke: 1 of 6 failed; 1 stopped, not tested');
    expect(r.data.results.map((x) => [x.model, x.kind, x.ok])).toEqual([
      ['embeddings-arctic-embed-m', 'model', null],
      [HERMES, 'model', true],
      ['chat-qwen2.5-0.5b-vllm', 'model', true],
      ['chat-mistral-7b-ollama', 'model', false],
      ['vision-qwen3-vl-4b-ollama', 'model', true],
      ['chat-default', 'group', true],
      ['qwen3-coder-480b-cloud', 'group', true],
    ]);
    expect(row(r, 'chat-default')).toMatchObject({ status: 200, servedBy: HERMES, fallback: false, note: null, error: null });
    expect(row(r, 'chat-qwen2.5-0.5b-vllm')).toMatchObject({ servedBy: 'chat-qwen2.5-0.5b-vllm', fallback: false });
    expect(row(r, 'vision-qwen3-vl-4b-ollama')).toMatchObject({ servedBy: 'vision-qwen3-vl-4b-ollama', status: 200 });
    expect(row(r, 'qwen3-coder-480b-cloud')).toMatchObject({ servedBy: 'qwen3-coder-480b-cloud' });
    expect(row(r, 'embeddings-arctic-embed-m')).toMatchObject({ status: null, note: 'stopped: not tested (/start it, or /smoke start:true)' });
    const mistral = row(r, 'chat-mistral-7b-ollama');
    expect(mistral).toMatchObject({ status: 500, servedBy: null });
    expect(mistral.error).toContain('LLM Provider NOT provided');
    expect(row(r, HERMES).latencyMs).toBeGreaterThan(0);
    expect(r.data.maxInFlight).toBeGreaterThan(1);
    expect(r.data.maxInFlight).toBeLessThanOrEqual(r.data.concurrency);
    expect(r.data.concurrency).toBe(3);

    const firing = await notices.waitFor((n) => n.key === 'gpu-1:chat-mistral-7b-ollama:smoke');
    expect(firing.channel).toBe('alert');
    expect(firing.reply.tone).toBe('error');
    expect(firing.reply.title).toMatch(/^Smoke of chat-mistral-7b-ollama failed on gpu-1 \(500\): .*LLM Provider NOT provided/);
  });

  it('renders a table and the failures\' error text', async () => {
    const r = await lab.execText('/smoke', ['--as', 'operator']);
    outputs.push(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✖ Smoke: 1 of 6 failed; 1 stopped, not tested/);
    expect(r.stdout).toMatch(/chat-default +chat +✔ ok +200 +\d+ ms +chat-hermes-3-llama-3\.1-8b/);
    expect(r.stdout).toMatch(/── Failures \(1\) ──\n✖ chat-mistral-7b-ollama: litellm\.BadRequestError: LLM Provider NOT provided/);
    // progress as results come in
    expect(r.stderr).toMatch(/… \d\/7 · \d+ ok · \d+ failed · 1 stopped — /);
    // one alert message per model: a second failing smoke does not post again
    expect(smokeNotices('chat-mistral-7b-ollama')).toHaveLength(1);
  });

  it('shows the last smoke with its age in /status and /models', async () => {
    const status = await lab.exec('/status', ['--as', 'viewer']);
    outputs.push(status.raw);
    const last = (status.data as { lastSmoke: Row[] }).lastSmoke;
    expect(last.map((x) => [x.model, x.ok])).toContainEqual(['chat-mistral-7b-ollama', false]);
    expect(last.map((x) => x.model)).not.toContain('embeddings-arctic-embed-m'); // never tested
    const text = await lab.execText('/models', ['--as', 'viewer']);
    outputs.push(text.stdout);
    expect(text.stdout).toMatch(/Last smoke:\nmodel +host +last smoke +answered by +when\n.*\nchat-default +gpu-1 +ok \d+ ms +chat-hermes-3-llama-3\.1-8b +\d+ s ago/);
  });

  it('reports a stopped local model as stopped, and its group answered by the cloud fallback', async () => {
    const stopped = await lab.exec(`/stop ${HERMES}`, ['--as', 'operator', '--yes']);
    expect(stopped.code, stopped.raw).toBe(0);
    const r = await smoke();
    expect(row(r, HERMES)).toMatchObject({ ok: null, status: null, note: 'stopped: not tested (/start it, or /smoke start:true)' });
    expect(row(r, 'chat-default')).toMatchObject({ ok: true, status: 200, servedBy: 'qwen3-coder-480b-cloud', fallback: true, note: `fallback: local ${HERMES} is stopped` });
    expect(lab.servers('hermes-3-llama-3.1-8b')).toEqual([]); // never started by a smoke
  });

  it('start:true starts it through /start first, then the local deployment answers', async () => {
    const r = await smoke('/smoke model:chat-hermes start:true');
    expect(r.code, r.raw).toBe(0);
    expect(r.data.started).toEqual([expect.objectContaining({ model: HERMES, status: 'ready' })]);
    expect(r.data.results.map((x) => [x.model, x.ok, x.servedBy, x.fallback])).toEqual([
      [HERMES, true, HERMES, false],
      ['chat-default', true, HERMES, false],
    ]);
    expect(lab.servers('hermes-3-llama-3.1-8b')).toHaveLength(1);
  });

  it('resolves the alert with the next good smoke of that model', async () => {
    await lab.db.query(`UPDATE "LiteLLM_ProxyModelTable" SET litellm_params = litellm_params || $1::jsonb WHERE model_id = 'db-mistral-0002'`, [
      JSON.stringify({ custom_llm_provider: encryptValue('openai', deriveKeys(SALT)) }),
    ]);
    const r = await smoke('/smoke model:chat-mistral-7b-ollama');
    expect(r.code, r.raw).toBe(0);
    expect(row(r, 'chat-mistral-7b-ollama')).toMatchObject({ ok: true, status: 200 });
    const resolved = await notices.waitFor((n) => n.key === 'gpu-1:chat-mistral-7b-ollama:smoke' && (n.reply.data as { transition: string }).transition === 'resolved');
    expect(resolved.reply.tone).toBe('ok');
    expect(resolved.reply.title).toMatch(/^Smoke of chat-mistral-7b-ollama on gpu-1 answers again in \d+ ms \(after \d+ s failing\)$/);
  });

  it('never shows a secret', async () => {
    outputs.push(worker.stdout, worker.stderr, JSON.stringify(notices.notices));
    expect(all(outputs).length).toBeGreaterThan(1000);
    for (const secret of lab.secrets) expect(all(outputs), secret).not.toContain(secret);
  });
});
