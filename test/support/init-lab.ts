import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveKeys, encryptValue } from '../../src/litellm/crypto.js';
import { ROOT, uniqueName } from './env.js';
import { FAKE_SYSTEMD_BIN, freePort, killTagged, MODEL_SERVER, uniqueTag } from './engines-helpers.js';
import { startFakeOllama, type FakeOllama } from './fake-ollama.js';
import { createLiteLLMTestDb, type LiteLLMTestDb } from './litellm-db.js';

/**
 * A GPU host as `labops init` finds one, in a temp dir: a home with systemd user units (the fake
 * systemctl runs them) whose ExecStart starts real model servers (model-server.mjs behind wrappers
 * named llama-server, vllm, text-embeddings-router and litellm, so the command lines read like the
 * real ones) on ports named in a commented LiteLLM config.yaml, an embedder started from a start
 * script, an ollama unit and a fake Ollama with models pulled and loaded, the fake nvidia-smi
 * attributing VRAM to the servers' pids, and a LiteLLM database whose rows are encrypted.
 */
export interface InitLab {
  dir: string;
  home: string;
  /** for `labops init` and for labops running on what it wrote */
  env: NodeJS.ProcessEnv;
  ports: { proxy: number; hermes: number; qwen: number; embed: number; ollama: number; orphan: number };
  units: string[];
  litellmConfig: string;
  ollama: FakeOllama;
  db: LiteLLMTestDb;
  /** values that must appear in no file or output */
  secrets: string[];
  /** VRAM the fake nvidia-smi gives each running server */
  vram: { hermes: number; qwen: number };
  mainPid(unit: string): number;
  /** the argv of every systemctl call so far */
  systemctlCalls(): string[][];
  systemctl(args: string[]): { status: number | null; stdout: string; stderr: string };
  cleanup(): Promise<void>;
}

export const INIT_LAB_UNITS = ['litellm.service', 'llama-hermes.service', 'vllm-qwen2.5-0.5b.service', 'litellm-embed-arctic.service', 'ollama.service'];

export async function createInitLab(): Promise<InitLab> {
  const tag = uniqueTag('init');
  const dir = mkdtempSync(join(tmpdir(), `${tag}-`));
  const home = join(dir, 'home', 'lab');
  const unitDir = join(home, '.config', 'systemd', 'user');
  const runtime = join(dir, 'run');
  const binDir = join(dir, 'bin-path');
  for (const d of [unitDir, runtime, binDir, join(home, 'opt'), join(home, 'litellm'), join(home, 'llm', 'bin'), join(home, 'models'), join(home, '.local', 'bin')]) mkdirSync(d, { recursive: true });
  symlinkSync(process.execPath, join(binDir, 'node'));
  symlinkSync(join(FAKE_SYSTEMD_BIN, 'systemctl'), join(binDir, 'systemctl'));
  symlinkSync(join(FAKE_SYSTEMD_BIN, 'journalctl'), join(binDir, 'journalctl'));
  symlinkSync(join(ROOT, 'test/support/fake-nvidia-smi'), join(binDir, 'nvidia-smi'));

  const ports = { proxy: await freePort(), hermes: await freePort(), qwen: await freePort(), embed: await freePort(), ollama: await freePort(), orphan: await freePort() };
  const saltKey = `salt-${uniqueName('k')}-not-a-real-salt`;
  const masterKey = `sk-lab-master-${uniqueName('m')}`;
  const embedderKey = `sk-local-embedder-${uniqueName('e')}`;
  const dbApiKey = `sk-db-stored-${uniqueName('d')}`;

  // servers: wrappers with the real programs' names, each running model-server.mjs
  const node = process.execPath;
  const wrapper = (path: string, body: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
  };
  const llamaServer = wrapper(join(home, 'opt', 'llama.cpp', 'build', 'bin', 'llama-server'), `# llama-server -m <gguf> --port <n>: a stand-in that serves /health and /v1/models\nexec "${node}" "${MODEL_SERVER}" --model-id hermes "$@"`);
  const vllm = wrapper(
    join(home, 'opt', 'vllm', 'bin', 'vllm'),
    `# vllm serve <model> --port=<n>\nshift\nmodel="$1"; shift\nport=8000; rest=""\nfor a in "$@"; do case "$a" in --port=*) port="\${a#--port=}";; *) rest="$rest $a";; esac; done\nexec "${node}" "${MODEL_SERVER}" --model-id "$model" --port "$port" $rest`,
  );
  const tei = wrapper(join(home, 'opt', 'tei', 'text-embeddings-router'), `exec "${node}" "${MODEL_SERVER}" "$@"`);
  const litellm = wrapper(join(home, '.local', 'bin', 'litellm'), `# the proxy: a model server stands in for it (init only reads its command line)\nexec "${node}" "${MODEL_SERVER}" --model-id litellm "$@"`);
  const embedScript = join(home, 'llm', 'bin', 'start_embed.sh');
  writeFileSync(
    embedScript,
    `#!/bin/sh\n# Snowflake Arctic embed behind an OpenAI-compatible API (was started by hand before the unit)\nTEI=${tei}\nPORT=${ports.embed}\nMODEL=Snowflake/snowflake-arctic-embed-m\nexec "$TEI" --model-id "$MODEL" --port "$PORT" --labops-tag ${tag}\n`,
    { mode: 0o755 },
  );

  const unit = (name: string, lines: { description: string; exec: string; env?: string; wantedBy?: boolean }) =>
    writeFileSync(
      join(unitDir, name),
      [
        '[Unit]',
        `Description=${lines.description}`,
        '',
        '[Service]',
        ...(lines.env ? [`Environment=${lines.env}`] : []),
        `ExecStart=${lines.exec}`,
        'Restart=on-failure',
        ...(lines.wantedBy ? ['', '[Install]', 'WantedBy=default.target'] : []),
        '',
      ].join('\n'),
    );
  const configPath = join(home, 'litellm', 'config.yaml');
  unit('litellm.service', { description: 'LiteLLM proxy', exec: `${litellm} --config ${configPath} --port ${ports.proxy} --labops-tag ${tag}`, wantedBy: true });
  unit('llama-hermes.service', {
    description: 'Hermes 3 on llama-server',
    exec: `${llamaServer} -m ${home}/models/Hermes-3-Llama-3.1-8B.Q8_0.gguf --host 127.0.0.1 --port ${ports.hermes} -ngl 99 --labops-tag ${tag}`,
  });
  unit('vllm-qwen2.5-0.5b.service', {
    description: 'Qwen2.5 0.5B on vLLM',
    env: 'VLLM_LOGGING_LEVEL=WARNING',
    exec: `${vllm} serve Qwen/Qwen2.5-0.5B-Instruct --port=${ports.qwen} --gpu-memory-utilization 0.3 --labops-tag ${tag}`,
  });
  unit('litellm-embed-arctic.service', { description: 'Arctic embedder', exec: `/bin/sh ${embedScript}`, wantedBy: true });
  unit('ollama.service', { description: 'Ollama', env: `OLLAMA_HOST=127.0.0.1:${ports.ollama} OLLAMA_KEEP_ALIVE=5m`, exec: '/usr/local/bin/ollama serve', wantedBy: true });

  writeFileSync(
    configPath,
    `# LiteLLM proxy of the lab's GPU host. Models also live in the database (store_model_in_db).
model_list:
  - model_name: chat-default            # what clients ask for: the local Hermes…
    litellm_params:
      model: openai/hermes-3-llama-3.1-8b
      api_base: http://127.0.0.1:${ports.hermes}/v1
      api_key: none                     # llama-server ignores it
    model_info:
      mode: chat

  - model_name: llamacpp-local          # the old name of the same server
    litellm_params:
      model: openai/hermes-3-llama-3.1-8b
      api_base: http://127.0.0.1:${ports.hermes}/v1

  - model_name: ollama-mistral
    litellm_params:
      model: ollama_chat/mistral:7b
      api_base: http://127.0.0.1:${ports.ollama}

  - model_name: arctic-embed
    litellm_params:
      model: openai/snowflake-arctic-embed-m
      api_base: http://localhost:${ports.embed}/v1
      api_key: ${embedderKey}   # a literal secret: init must never copy it
    model_info:
      mode: embedding

  - model_name: rerank-bge              # nothing serves this port any more
    litellm_params:
      model: openai/bge-reranker-v2-m3
      api_base: http://127.0.0.1:${ports.orphan}/v1
    model_info:
      mode: rerank

  - model_name: qwen3-coder-480b-cloud
    litellm_params:
      model: openrouter/qwen/qwen3-coder
      api_key: os.environ/OPENROUTER_API_KEY

router_settings:
  fallbacks:
    - chat-default: [qwen3-coder-480b-cloud]    # …and the cloud when it is off
    - llamacpp-local: [chat-default]

general_settings:
  master_key: ${masterKey}     # written here by hand: init must never copy it
  database_url: os.environ/DATABASE_URL
  store_model_in_db: true
`,
  );

  const db = await createLiteLLMTestDb();
  const keys = deriveKeys(saltKey);
  const enc = (v: string) => encryptValue(v, keys);
  await db.insertModel({
    model_id: 'db-qwen',
    model_name: 'vllm-qwen2.5-0.5b-instruct',
    litellm_params: {
      model: enc('hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct'),
      api_base: enc(`http://127.0.0.1:${ports.qwen}/v1`),
      api_key: enc(dbApiKey),
      custom_llm_provider: enc(enc('hosted_vllm')),
      timeout: 120,
    },
    model_info: { id: 'db-qwen', mode: 'chat' },
  });
  await db.insertModel({
    model_id: 'db-vision',
    model_name: 'vision-qwen3-vl-4b-ollama',
    litellm_params: { model: enc('ollama_chat/qwen3-vl:4b'), api_base: enc(`http://127.0.0.1:${ports.ollama}`), custom_llm_provider: enc('ollama_chat') },
    model_info: { id: 'db-vision', supports_vision: true },
  });

  const ollama = await startFakeOllama({
    port: ports.ollama,
    models: [
      { name: 'mistral:7b', vramMiB: 5200 },
      { name: 'qwen3-vl:4b', vramMiB: 6000 },
      { name: 'llama3.2:1b', vramMiB: 1300 },
    ],
  });
  await fetch(`${ollama.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'mistral:7b', keep_alive: -1 }) }).then((r) => r.arrayBuffer());

  const gpuState = join(dir, 'gpu-state.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    USER: 'lab',
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_RUNTIME_DIR: runtime,
    PATH: binDir,
    DATABASE_URL: db.url,
    LITELLM_SALT_KEY: saltKey,
    FAKE_NVIDIA_SMI_STATE: gpuState,
    DISCORD_TOKEN: '',
    LABOPS_LOG_LEVEL: process.env.LABOPS_LOG_LEVEL ?? 'warn',
  };
  delete env.LABOPS_CONFIG;
  const systemctl = (args: string[]) => {
    const r = spawnSync(join(binDir, 'systemctl'), ['--user', ...args], { env, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const mainPid = (name: string) => Number(JSON.parse(readFileSync(join(runtime, 'fake-systemd', `${name}.json`), 'utf8')).MainPID);

  for (const name of ['litellm.service', 'litellm-embed-arctic.service', 'ollama.service']) {
    const r = systemctl(['enable', name]);
    if (r.status !== 0) throw new Error(`systemctl enable ${name}: ${r.stderr}`);
  }
  const running = ['litellm.service', 'llama-hermes.service', 'vllm-qwen2.5-0.5b.service', 'litellm-embed-arctic.service'];
  for (const name of running) {
    const r = systemctl(['start', name]);
    if (r.status !== 0) throw new Error(`systemctl start ${name}: ${r.stderr}`);
  }
  // every server answers before init looks
  for (const port of [ports.proxy, ports.hermes, ports.qwen, ports.embed]) await waitListening(port);
  const vram = { hermes: 9216, qwen: 18_310 };
  writeFileSync(
    gpuState,
    JSON.stringify({ mode: 'ok', gpus: 1, profile: 'loaded', apps: [{ pid: mainPid('llama-hermes.service'), name: 'llama-server', usedMiB: vram.hermes }, { pid: mainPid('vllm-qwen2.5-0.5b.service'), name: 'python3', usedMiB: vram.qwen }] }),
  );

  return {
    dir,
    home,
    env,
    ports,
    units: INIT_LAB_UNITS,
    litellmConfig: configPath,
    ollama,
    db,
    secrets: [saltKey, masterKey, embedderKey, dbApiKey, db.schema],
    vram,
    mainPid,
    systemctl,
    systemctlCalls: () =>
      readFileSync(join(runtime, 'fake-systemd', 'calls.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]),
    async cleanup() {
      for (const name of running) systemctl(['stop', name]);
      killTagged(tag);
      await ollama.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitListening(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`nothing answers on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
