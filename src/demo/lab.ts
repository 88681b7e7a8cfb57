import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** The demo's host and its models: names as in DESIGN.md's lab. */
export const DEMO_HOST = 'gpu-1';
export const PROXY = 'litellm';
export const HERMES = 'chat-hermes-3-llama-3.1-8b';
export const EMBEDDER = 'embeddings-default';
export const VISION = 'vision-qwen3-vl-4b';
export const CLOUD = 'qwen3-coder-480b-cloud';
/** the old name the hand repair left in config.yaml */
export const OLD_NAME = 'llamacpp-local';
/** what the demo starts itself; the chat model waits for /start */
export const STARTED_AT_LAUNCH = [PROXY, EMBEDDER, VISION] as const;

/** Demo keys, written in the demo's files on purpose: they guard nothing but the demo. */
export const DEMO_MASTER_KEY = 'sk-labops-demo-master-key';
export const DEMO_SALT_KEY = 'sk-labops-demo-salt-key';
/** the key the broken row was encrypted with (a salt key changed since) */
export const DEMO_OLD_SALT_KEY = 'sk-labops-demo-old-salt-key';
/** signs the demo's jobs, so it runs as a lab should */
export const DEMO_JOB_KEY = 'labops-demo-job-key-it-guards-only-the-demo';

const MODEL_SERVER = fileURLToPath(new URL('./model-server.js', import.meta.url));
const STAND_IN = fileURLToPath(new URL('./litellm-stand-in-main.js', import.meta.url));

export interface DemoPorts {
  proxy: number;
  hermes: number;
  embedder: number;
  vision: number;
}

export interface DemoLabSpec {
  dir: string;
  /** on every process the demo's lab runs, so none is left behind */
  tag: string;
  ports: DemoPorts;
  redisUrl: string;
  redisPrefix: string;
  databaseUrl: string;
  schema: string;
  /** LiteLLM's database: the configured PostgreSQL, the demo's own schema on the search_path */
  litellmDbUrl: string;
  discord: Record<string, unknown>;
  roles: Record<string, unknown>;
}

export const litellmConfigPath = (dir: string) => join(dir, 'litellm', 'config.yaml');
export const labopsConfigPath = (dir: string) => join(dir, 'labops.yaml');

/** The demo's labops.yaml: one host, the stand-in as its `proxy` model, three model servers run by script engines. */
export function labopsConfig(spec: DemoLabSpec): string {
  const { dir, tag, ports } = spec;
  const script = (name: string, args: string[], env: Record<string, string> = {}) => ({
    kind: 'script',
    cwd: dir,
    start: process.execPath,
    args: [...args, '--tag', tag],
    pidFile: `run/${name}.pid`,
    logFile: `logs/${name}.log`,
    env,
    stopTimeout: '5s',
  });
  const server = (name: string, port: number, modelId: string, kind: string) => script(name, [MODEL_SERVER, '--port', String(port), '--model-id', modelId, '--kind', kind]);
  const health = (port: number, path = '/health') => ({ url: `http://127.0.0.1:${port}${path}`, startTimeout: '20s', timeout: '2s' });
  const config = {
    discord: spec.discord,
    roles: spec.roles,
    local: { defaultRole: 'admin' },
    redis: { url: spec.redisUrl, prefix: spec.redisPrefix },
    database: { url: spec.databaseUrl, schema: spec.schema },
    litellm: {
      url: `http://127.0.0.1:${ports.proxy}`,
      masterKey: DEMO_MASTER_KEY,
      saltKey: DEMO_SALT_KEY,
      databaseUrl: spec.litellmDbUrl,
      configPath: litellmConfigPath(dir),
      host: DEMO_HOST,
      smoke: { concurrency: 8, timeout: '10s' },
      groups: {
        'chat-default': { servedBy: HERMES, fallbacks: [CLOUD] },
        [CLOUD]: { cloud: true },
      },
    },
    security: { jobKey: DEMO_JOB_KEY },
    worker: { heartbeatInterval: '2s', shutdownTimeout: '5s' },
    hosts: {
      [DEMO_HOST]: {
        description: 'this machine, as the labops demo',
        modelDir: dir,
        vramReserveMiB: 0,
        gpu: { enabled: false },
        models: {
          [PROXY]: {
            type: 'proxy',
            description: 'the LiteLLM stand-in of the demo (not a proxy)',
            engine: script(PROXY, [STAND_IN, '--port', String(ports.proxy), '--config', litellmConfigPath(dir)], {
              LITELLM_MASTER_KEY: DEMO_MASTER_KEY,
              LITELLM_SALT_KEY: DEMO_SALT_KEY,
              LITELLM_DATABASE_URL: spec.litellmDbUrl,
            }),
            health: health(ports.proxy, '/health/liveliness'),
            pinned: true,
          },
          [HERMES]: {
            aliases: ['chat-hermes'],
            type: 'chat',
            description: 'the demo chat model: a tiny server that answers one short sentence',
            engine: server(HERMES, ports.hermes, 'hermes-3-llama-3.1-8b', 'chat'),
            health: health(ports.hermes),
          },
          [EMBEDDER]: {
            type: 'embeddings',
            description: 'the demo embedder: 8 numbers per input',
            engine: server(EMBEDDER, ports.embedder, 'snowflake-arctic-embed-m', 'embeddings'),
            health: health(ports.embedder),
          },
          [VISION]: {
            type: 'vision',
            description: 'the demo "vision" model: it says whether it got an image',
            engine: server(VISION, ports.vision, 'qwen3-vl-4b', 'vision'),
            health: health(ports.vision),
          },
        },
      },
    },
  };
  return `# labops demo: written by \`labops demo\` for this run; a second run writes it again.\n# The keys here are the demo's own and guard nothing else.\n${stringify(config)}`;
}

/**
 * The proxy's config.yaml as the hand repair left it: `chat-default` on the local chat model with
 * the cloud fallback; the chat model still under its old name while the fallbacks already use the
 * new one; the embedder without timeout and rpm. The vision model is a DB model (see the seed).
 */
export function litellmConfig(ports: DemoPorts): string {
  const hermes = `{ model: openai/hermes-3-llama-3.1-8b, api_base: "http://127.0.0.1:${ports.hermes}/v1", api_key: none, timeout: 120, rpm: 30 }`;
  return `# LiteLLM's config.yaml of the labops demo (read by the demo's LiteLLM stand-in)
model_list:
  - model_name: chat-default            # what clients ask for: the local Hermes, the cloud when it is off
    litellm_params: ${hermes}
    model_info: { id: chat-default-hermes, mode: chat }
  - model_name: ${OLD_NAME}             # renamed everywhere else, not here
    litellm_params: ${hermes}
    model_info: { id: hermes-local, mode: chat }
  - model_name: ${EMBEDDER}
    litellm_params: { model: openai/snowflake-arctic-embed-m, api_base: "http://127.0.0.1:${ports.embedder}/v1", api_key: none }
    model_info: { id: embeddings-arctic, mode: embedding }
  # --- cloud (the stand-in answers for it itself)
  - model_name: ${CLOUD}
    litellm_params: { model: openrouter/qwen/qwen3-coder, api_key: os.environ/OPENROUTER_API_KEY }
    model_info: { id: cloud-qwen3-coder, mode: chat }
router_settings:
  num_retries: 0
  fallbacks:
    - chat-default: [${CLOUD}]
    - ${HERMES}: [${CLOUD}]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
`;
}
