import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deriveKeys, encryptValue } from '../../src/litellm/crypto.js';
import { startWorkerProcess, type CliProcess } from './cli.js';
import { freePort, MODEL_SERVER, writeScript } from './engines-helpers.js';
import { DATABASE_URL } from './env.js';
import { startFakeLiteLLM, type FakeLiteLLM } from './fake-litellm.js';
import { createLifecycleLab, type LifecycleLab } from './lifecycle-lab.js';
import { createLiteLLMTestDb, type LiteLLMTestDb } from './litellm-db.js';

/**
 * The incident's lab for /smoke and /doctor, end to end: a real worker (labops CLI) for gpu-1 whose
 * inventory holds the local Hermes (a script that runs model-server.mjs on a fixed port), the
 * embedder as a systemd unit (fake systemd, enabled at boot), vLLM in Docker and Ollama models
 * (neither reachable here: state unknown), and the proxy; LiteLLM's tables in PostgreSQL seeded by
 * the test; a commented config.yaml; the fake LiteLLM proxy in front of it all.
 *
 * The worker reads LiteLLM's secrets from the environment (`env:LITELLM_SALT_KEY`, …), so a test
 * can start it with one of them wrong or unset, or with other `litellm.*` keys.
 */
export const MASTER_KEY = 'sk-proxylab-master-4b9e21c07d3f58aa';
export const UPSTREAM_KEY = 'sk-proxylab-upstream-key-77f1c2d9e0';
export const DB_PASSWORD = 'pg-pw-proxylab-5e7c19d2';
export const HERMES = 'chat-hermes-3-llama-3.1-8b';
export const EMBEDDER = 'embeddings-arctic-embed-m';

export interface ProxyLab extends LifecycleLab {
  db: LiteLLMTestDb;
  proxy: FakeLiteLLM;
  configPath: string;
  hermesPort: number;
  /** the environment the worker reads LiteLLM's settings from */
  litellmEnv: Record<string, string>;
  saltKey: string;
  /** starts the worker with environment variables replaced (null unsets one) and `litellm.*` keys of its labops.yaml replaced */
  startWorker(overrides?: Record<string, string | null>, litellm?: Record<string, unknown>): Promise<CliProcess>;
  /** every secret of the lab: none may appear in any output or log line */
  secrets: string[];
}

export async function createProxyLab(opts: { saltKey: string; embedderEnabled?: boolean; concurrency?: number; configYaml: (p: { hermesBase: string; embedderBase: string }) => string }): Promise<ProxyLab> {
  const hermesPort = await freePort();
  const lab = await createLifecycleLab({
    models: { [EMBEDDER]: { enabled: opts.embedderEnabled ?? false, config: { type: 'embeddings', vramMiB: 1800 } } },
    otherModels: {}, // filled below, once the lab's directory exists
    gpu: false,
    litellm: {
      masterKey: 'env:LITELLM_MASTER_KEY',
      saltKey: 'env:LITELLM_SALT_KEY',
      databaseUrl: 'env:LITELLM_DATABASE_URL',
      host: 'gpu-1',
      smoke: { concurrency: opts.concurrency ?? 3, timeout: '5s' },
      groups: {
        'chat-default': { servedBy: HERMES, fallbacks: ['qwen3-coder-480b-cloud'] },
        'qwen3-coder-480b-cloud': { cloud: true },
      },
    },
  });
  const disposeLab = lab.dispose.bind(lab);
  const cleanups: (() => Promise<void>)[] = [disposeLab];
  try {
    // the rest of the inventory, now that the lab's directory exists
    mkdirSync(join(lab.dir, 'bin'), { recursive: true });
    writeScript(
      join(lab.dir, 'bin', 'start-hermes.sh'),
      `#!/bin/sh\nexec "${process.execPath}" "${MODEL_SERVER}" --port ${hermesPort} --model-id hermes-3-llama-3.1-8b --pid-file "${lab.dir}/run/hermes.pid" --labops-tag ${lab.tag}\n`,
    );
    const gpu = (lab.config.hosts as Record<string, { models: Record<string, unknown> }>)['gpu-1']!;
    Object.assign(gpu.models, {
      litellm: { type: 'proxy', engine: { kind: 'docker', container: 'litellm' }, pinned: true },
      [HERMES]: {
        aliases: ['chat-hermes'],
        type: 'chat',
        engine: { kind: 'script', cwd: lab.dir, start: 'bin/start-hermes.sh', pidFile: 'run/hermes.pid', logFile: 'logs/hermes.log' },
        health: { url: `http://127.0.0.1:${hermesPort}/health`, startTimeout: '10s', timeout: '1s' },
      },
      'chat-qwen2.5-0.5b-vllm': { type: 'chat', engine: { kind: 'docker', container: 'vllm-qwen' } },
      'chat-mistral-7b-ollama': { type: 'chat', engine: { kind: 'ollama', url: 'http://127.0.0.1:9', model: 'mistral:7b' } },
      'vision-qwen3-vl-4b-ollama': { type: 'vision', engine: { kind: 'ollama', url: 'http://127.0.0.1:9', model: 'qwen3-vl:4b' } },
    });

    const db = await createLiteLLMTestDb({ baseUrl: withPassword(DATABASE_URL) });
    cleanups.push(() => db.drop());
    const configPath = join(lab.dir, 'litellm-config.yaml');
    const embedderBase = (gpu.models[EMBEDDER] as { health: { url: string } }).health.url.replace(/\/health$/, '/v1');
    writeFileSync(configPath, opts.configYaml({ hermesBase: `http://127.0.0.1:${hermesPort}/v1`, embedderBase }));
    const proxy = await startFakeLiteLLM({ masterKey: MASTER_KEY, saltKey: opts.saltKey, configPath, databaseUrl: db.url });
    cleanups.push(() => proxy.close());

    // the URL and the path as literals (a value read from the environment is redacted as a secret)
    Object.assign(lab.config.litellm as Record<string, unknown>, { url: proxy.url, configPath });
    writeFileSync(lab.configFile, stringify(lab.config));
    const litellmEnv: Record<string, string> = {
      LITELLM_MASTER_KEY: MASTER_KEY,
      LITELLM_SALT_KEY: opts.saltKey,
      LITELLM_DATABASE_URL: db.url,
    };
    Object.assign(lab.env, litellmEnv);
    const workers: CliProcess[] = [];
    return Object.assign(lab, {
      db,
      proxy,
      configPath,
      hermesPort,
      litellmEnv,
      saltKey: opts.saltKey,
      secrets: [MASTER_KEY, opts.saltKey, UPSTREAM_KEY, DB_PASSWORD],
      async startWorker(overrides: Record<string, string | null> = {}, litellm: Record<string, unknown> = {}) {
        const env: NodeJS.ProcessEnv = { ...lab.env };
        for (const [k, v] of Object.entries(overrides)) {
          if (v === null) delete env[k];
          else env[k] = v;
        }
        if (Object.keys(litellm).length > 0) {
          const file = join(lab.dir, `labops-${workers.length}.yaml`);
          writeFileSync(file, stringify({ ...lab.config, litellm: { ...(lab.config.litellm as Record<string, unknown>), ...litellm } }));
          env.LABOPS_CONFIG = file;
        }
        const worker = await startWorkerProcess({ env, prefix: lab.prefix });
        workers.push(worker);
        return worker;
      },
      async dispose() {
        await Promise.all(workers.map((w) => w.stop()));
        for (const step of cleanups.reverse()) await step();
      },
    });
  } catch (err) {
    for (const step of cleanups.reverse()) await step();
    throw err;
  }
}

/** The test database URL with a password: PostgreSQL's trust auth ignores it, and no output may show it. */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = DB_PASSWORD;
  return u.toString();
}

/** Every string of the params encrypted under the salt key (LiteLLM's write path). */
export function encryptParams(params: Record<string, unknown>, saltKey: string, format: Parameters<typeof encryptValue>[2] = 'nacl-urlsafe'): Record<string, unknown> {
  const keys = deriveKeys(saltKey);
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? encryptValue(v, keys, format) : v]));
}
