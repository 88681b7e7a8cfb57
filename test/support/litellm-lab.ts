import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { httpStatus, MODEL_SERVER, uniqueTag, waitFor } from './engines-helpers.js';
import { fakeEncrypt, fakeEncryptParams, startFakeLiteLLM, type FakeLiteLLM, type FakeLiteLLMOptions } from './fake-litellm.js';
import { createLiteLLMTestDb, type LiteLLMSchemaShape, type LiteLLMTestDb } from './litellm-db.js';

/** model-server.mjs as a real process on a free port. */
export interface ModelServer {
  /** the OpenAI base URL, `http://127.0.0.1:<port>/v1` */
  apiBase: string;
  port: number;
  pid: number;
  /** on the process's command line: `killTagged(tag)` is the safety net */
  tag: string;
  /** SIGTERM, resolved once the process has exited */
  stop(): Promise<void>;
}

export async function startModelServer(modelId = 'test-model', tag = uniqueTag('litellm')): Promise<ModelServer> {
  const child: ChildProcess = spawn(process.execPath, [MODEL_SERVER, '--port', '0', '--model-id', modelId, '--tag', tag], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`model-server exited (${code}) before listening: ${out}`)));
  });
  child.stdout!.resume();
  try {
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 10_000, 'model-server healthy');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    apiBase: `http://127.0.0.1:${port}/v1`,
    port,
    pid: child.pid!,
    tag,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The lab of DESIGN.md's incident, ready to probe: a model server (the local Hermes and the
 * embedder), a LiteLLM DB schema with two DB models — `chat-qwen2.5-0.5b-vllm` healthy,
 * `chat-mistral-7b-ollama` with its `custom_llm_provider` encrypted under another key (the 500) —
 * and no admin user, a config.yaml where `chat-default` falls back to the cloud model, and the
 * fake proxy in front of it all.
 */
export interface LiteLLMLab {
  proxy: FakeLiteLLM;
  db: LiteLLMTestDb;
  modelServer: ModelServer;
  configPath: string;
  masterKey: string;
  saltKey: string;
  /** the key the broken row was encrypted with */
  otherSaltKey: string;
  /** the upstream api_key stored (encrypted) in the healthy DB row */
  upstreamApiKey: string;
  cleanup(): Promise<void>;
}

export const LAB_MASTER_KEY = 'sk-lab-master-key-7f3a9c2e51d84b06';
export const LAB_SALT_KEY = 'sk-lab-salt-key-0e8d1f4a6b2c9e73';
export const LAB_OTHER_SALT_KEY = 'sk-lab-rotated-salt-key-55aa0f1e';
export const LAB_UPSTREAM_API_KEY = 'sk-upstream-vllm-key-9b1c7d3e2f';

export async function startLiteLLMLab(opts: { shape?: LiteLLMSchemaShape; proxy?: Partial<FakeLiteLLMOptions> } = {}): Promise<LiteLLMLab> {
  const dir = mkdtempSync(join(tmpdir(), 'labops-litellm-lab-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  try {
    const modelServer = await startModelServer('hermes-3-llama-3.1-8b');
    cleanups.push(() => modelServer.stop());
    const db = await createLiteLLMTestDb({ shape: opts.shape ?? '2026' });
    cleanups.push(() => db.drop());

    await db.insertModel({
      model_id: 'db-qwen-0001',
      model_name: 'chat-qwen2.5-0.5b-vllm',
      litellm_params: fakeEncryptParams(
        { model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', custom_llm_provider: 'hosted_vllm', api_base: modelServer.apiBase, api_key: LAB_UPSTREAM_API_KEY, timeout: 120, rpm: 60 },
        LAB_SALT_KEY,
      ),
      model_info: { id: 'db-qwen-0001', mode: 'chat' },
    });
    await db.insertModel({
      model_id: 'db-mistral-0002',
      model_name: 'chat-mistral-7b-ollama',
      litellm_params: {
        ...fakeEncryptParams({ model: 'mistral:7b', api_base: modelServer.apiBase, timeout: 120, rpm: 10 }, LAB_SALT_KEY),
        custom_llm_provider: fakeEncrypt('ollama_chat', LAB_OTHER_SALT_KEY),
      },
      model_info: { id: 'db-mistral-0002', mode: 'chat' },
    });

    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify(labConfig(modelServer.apiBase)));
    const proxy = await startFakeLiteLLM({ masterKey: LAB_MASTER_KEY, saltKey: LAB_SALT_KEY, configPath, databaseUrl: db.url, ...opts.proxy });
    cleanups.push(() => proxy.close());
    return {
      proxy,
      db,
      modelServer,
      configPath,
      masterKey: LAB_MASTER_KEY,
      saltKey: LAB_SALT_KEY,
      otherSaltKey: LAB_OTHER_SALT_KEY,
      upstreamApiKey: LAB_UPSTREAM_API_KEY,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function labConfig(apiBase: string): Record<string, unknown> {
  const hermes = { model: 'openai/hermes-3-llama-3.1-8b', api_base: apiBase, api_key: 'none', timeout: 120, rpm: 30 };
  return {
    model_list: [
      { model_name: 'chat-default', litellm_params: hermes, model_info: { id: 'chat-default-hermes', mode: 'chat' } },
      { model_name: 'chat-hermes-3-llama-3.1-8b', litellm_params: hermes, model_info: { mode: 'chat' } },
      { model_name: 'embeddings-arctic-embed-m', litellm_params: { model: 'openai/snowflake-arctic-embed-m', api_base: apiBase, timeout: 120 }, model_info: { mode: 'embedding' } },
      { model_name: 'qwen3-coder-480b-cloud', litellm_params: { model: 'openrouter/qwen/qwen3-coder', api_key: 'os.environ/OPENROUTER_API_KEY' } },
    ],
    router_settings: {
      num_retries: 1,
      fallbacks: [{ 'chat-default': ['qwen3-coder-480b-cloud'] }],
      model_group_alias: { 'chat-hermes': 'chat-hermes-3-llama-3.1-8b' },
    },
    general_settings: { master_key: 'os.environ/LITELLM_MASTER_KEY', store_model_in_db: true },
  };
}
