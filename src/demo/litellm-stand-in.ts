import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import nacl from 'tweetnacl';
import { parse } from 'yaml';

/**
 * A stand-in for a LiteLLM proxy (2025+) with `store_model_in_db: true`, on 127.0.0.1, for labops
 * to talk to exactly as to LiteLLM (LITELLM.md §5). It is not a proxy: it serves `labops demo` and
 * the tests, and routes only what labops asks. It is deliberately independent of src/litellm (own
 * decryption, own provider list) so tests can check labops' code against it.
 *
 * - Models: `model_list` of config.yaml (read at start, like LiteLLM; `reloadConfig()` re-reads)
 *   plus the rows of `"LiteLLM_ProxyModelTable"` (read on every request, or every `dbRefreshMs`).
 *   Every string of a row's `litellm_params` is decrypted with the salt key; one that does not
 *   decrypt is kept verbatim, as LiteLLM does. Config and DB models with one `model_name` form
 *   one group. Rows with `blocked = true` are not routed.
 * - Provider: `custom_llm_provider`, else the prefix of `model`; one outside FAKE_PROVIDERS fails
 *   with 500 "LLM Provider NOT provided".
 * - A deployment with an `api_base` is called as an OpenAI-compatible server
 *   (`<api_base>/chat/completions`, `<api_base>/embeddings`) whatever its provider; connection
 *   refused answers 500. A "cloud" deployment — no `api_base`, or one on a host under
 *   `.cloud.invalid` (CLOUD_HOST_SUFFIX) — answers itself with a one-token completion "ok" or an
 *   8-dimensional embedding.
 * - Routing: alias (`model_group_alias`) → group; its deployments in order (config, then DB);
 *   when all fail, the groups of `fallbacks` (router_settings, else litellm_settings) in order.
 *   `mock_testing_fallbacks: true` in the body fails the first group on purpose.
 */
export interface FakeLiteLLMOptions {
  masterKey: string;
  /** LITELLM_SALT_KEY; LiteLLM falls back to the master key */
  saltKey?: string;
  configPath?: string;
  /** LiteLLM's DATABASE_URL (the tables in its default schema) */
  databaseUrl?: string;
  /** added before every chat/embeddings answer */
  delayMs?: number;
  /** `litellm_version` and `x-litellm-version` (default 1.81.0) */
  version?: string;
  /** DB models are re-read after this long (default 0: on every request) */
  dbRefreshMs?: number;
  port?: number;
  /** re-read config.yaml when it changes (the demo: a repair's edit shows without a restart; LiteLLM itself needs one) */
  watchConfig?: boolean;
}

export interface FakeLiteLLMRequest {
  method: string;
  path: string;
  status: number;
  model?: string;
  /** the deployment that answered */
  modelId?: string;
  fallbacks?: number;
}

export interface FakeLiteLLM {
  url: string;
  port: number;
  requests: FakeLiteLLMRequest[];
  reloadConfig(): void;
  close(): Promise<void>;
}

export const CLOUD_HOST_SUFFIX = '.cloud.invalid';

/** Providers this stand-in routes (a subset of LiteLLM's list; all are served as OpenAI-compatible). */
export const FAKE_PROVIDERS = new Set([
  'openai', 'azure', 'azure_ai', 'anthropic', 'openrouter', 'ollama', 'ollama_chat', 'hosted_vllm', 'vllm', 'llamafile',
  'lm_studio', 'custom_openai', 'openai_like', 'text-completion-openai', 'together_ai', 'groq', 'mistral', 'deepseek',
  'gemini', 'vertex_ai', 'bedrock', 'huggingface', 'xai', 'fireworks_ai', 'deepinfra', 'cohere', 'litellm_proxy',
  'nvidia_nim', 'cerebras', 'infinity', 'xinference',
]);

const SECRET_PARAMS = new Set(['api_key', 'client_secret', 'vertex_credentials', 'aws_access_key_id', 'aws_secret_access_key']);

// ---- LiteLLM's at-rest encryption, written again on purpose (LITELLM.md §2.2, §2.3)

/** The plaintext, or null where LiteLLM's reader fails (wrong key, not base64, bad padding, too short). */
export function fakeDecrypt(value: string, saltKey: string): string | null {
  const sha = createHash('sha256').update(saltKey, 'utf8').digest();
  try {
    const gcm = /^v([23]):gcm:(.*)$/s.exec(value);
    if (gcm) {
      const key = gcm[1] === '3' ? Buffer.from(hkdfSync('sha256', Buffer.from(saltKey, 'utf8'), Buffer.alloc(0), 'litellm-at-rest-v3', 32)) : sha;
      const raw = Buffer.from(gcm[2]!, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    }
    // Python's b64decode needs the '=' padding
    if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return null;
    const raw = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (raw.length === 0) return '';
    if (raw.length < 40) return null;
    const opened = nacl.secretbox.open(raw.subarray(24), raw.subarray(0, 24), sha);
    return opened ? new TextDecoder('utf-8', { fatal: true }).decode(opened) : null;
  } catch {
    return null;
  }
}

/** Classic NaCl, url-safe base64 with padding (what LiteLLM 2026 writes by default), or `v3:gcm:`. */
export function fakeEncrypt(plaintext: string, saltKey: string, format: 'nacl' | 'v3' = 'nacl'): string {
  const pad = (s: string) => s + '='.repeat((4 - (s.length % 4)) % 4);
  if (format === 'v3') {
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(saltKey, 'utf8'), Buffer.alloc(0), 'litellm-at-rest-v3', 32));
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v3:gcm:${pad(body.toString('base64url'))}`;
  }
  const nonce = randomBytes(24);
  const sha = createHash('sha256').update(saltKey, 'utf8').digest();
  const box = nacl.secretbox(Buffer.from(plaintext, 'utf8'), nonce, sha);
  return pad(Buffer.concat([nonce, box]).toString('base64url'));
}

/** Every string value encrypted, as LiteLLM stores `litellm_params`. */
export function fakeEncryptParams(params: Record<string, unknown>, saltKey: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? fakeEncrypt(v, saltKey) : v]));
}

// ---- the proxy

interface Deployment {
  id: string;
  group: string;
  params: Record<string, unknown>;
  modelInfo: Record<string, unknown>;
  dbModel: boolean;
}

interface ConfigState {
  deployments: Deployment[];
  fallbacks: Map<string, string[]>;
  aliases: Map<string, { group: string; hidden: boolean }>;
}

interface Answer {
  status: number;
  body: unknown;
  /** raw upstream text with its content type (streams) */
  raw?: { text: string; contentType: string };
}

type Attempt = { ok: true; answer: Answer; apiBase: string } | { ok: false; status: number; message: string };

export async function startFakeLiteLLM(opts: FakeLiteLLMOptions): Promise<FakeLiteLLM> {
  const saltKey = opts.saltKey ?? opts.masterKey;
  const version = opts.version ?? '1.81.0';
  const requests: FakeLiteLLMRequest[] = [];
  let config = readConfig(opts.configPath);
  let configStamp = stamp(opts.configPath);
  const rereadIfChanged = () => {
    if (!opts.watchConfig) return;
    const now = stamp(opts.configPath);
    if (now === configStamp) return;
    configStamp = now;
    try {
      config = readConfig(opts.configPath);
    } catch {
      // a half-written file: the next request reads it again
      configStamp = '';
    }
  };
  const pool = opts.databaseUrl ? new pg.Pool({ connectionString: opts.databaseUrl, max: 4, connectionTimeoutMillis: 1_000, idleTimeoutMillis: 1_000 }) : undefined;
  pool?.on('error', () => undefined);
  let dbModels: Deployment[] = [];
  let dbReadAt = -Infinity;

  const refreshDbModels = async () => {
    if (!pool || Date.now() - dbReadAt < (opts.dbRefreshMs ?? 0)) return;
    try {
      const { rows } = await pool.query<{ model_id: string; model_name: string; litellm_params: unknown; model_info: unknown; blocked: unknown }>(
        `SELECT model_id, model_name, litellm_params, model_info, to_jsonb(m) -> 'blocked' AS blocked
           FROM "LiteLLM_ProxyModelTable" m ORDER BY created_at, model_id`,
      );
      dbModels = rows
        .filter((r) => r.blocked !== true)
        .map((r) => {
          const stored = typeof r.litellm_params === 'string' ? parseJson(r.litellm_params) : r.litellm_params;
          const params = Object.fromEntries(
            Object.entries(isRecord(stored) ? stored : {}).map(([k, v]) => [k, typeof v === 'string' ? (fakeDecrypt(v, saltKey) ?? v) : v]),
          );
          return { id: r.model_id, group: r.model_name, params, modelInfo: isRecord(r.model_info) ? r.model_info : {}, dbModel: true };
        });
      dbReadAt = Date.now();
    } catch {
      // like LiteLLM: the router keeps the models it had
    }
  };

  const dbStatus = async (): Promise<string> => {
    if (!pool) return 'Not connected';
    try {
      await pool.query('SELECT 1');
      return 'connected';
    } catch {
      return 'disconnected';
    }
  };

  const deployments = () => [...config.deployments, ...dbModels];

  const callDeployment = async (d: Deployment, kind: 'chat' | 'embeddings', body: Record<string, unknown>): Promise<Attempt> => {
    const model = String(d.params.model ?? '');
    const custom = typeof d.params.custom_llm_provider === 'string' && d.params.custom_llm_provider !== '' ? d.params.custom_llm_provider : undefined;
    const prefix = model.includes('/') ? model.slice(0, model.indexOf('/')) : undefined;
    const provider = custom ?? (prefix && FAKE_PROVIDERS.has(prefix) ? prefix : undefined);
    if (!provider || !FAKE_PROVIDERS.has(provider)) {
      return {
        ok: false,
        status: 500,
        message:
          `litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You passed model=${model}\n` +
          ` Pass model as E.g. For 'Huggingface' inference endpoints pass in \`completion(model='huggingface/starcoder',..)\` Learn more: https://docs.litellm.ai/docs/providers`,
      };
    }
    const upstreamModel = model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
    const apiBase = typeof d.params.api_base === 'string' ? d.params.api_base : undefined;
    if (!apiBase || hostOf(apiBase).endsWith(CLOUD_HOST_SUFFIX)) {
      return { ok: true, answer: cloudAnswer(kind, upstreamModel, body), apiBase: apiBase ?? '' };
    }
    const label = `${provider === 'openai' || provider === 'hosted_vllm' ? 'OpenAI' : provider}Exception`;
    const timeoutS = typeof d.params.timeout === 'number' ? d.params.timeout : 600;
    const { mock_testing_fallbacks: _mock, ...forward } = body;
    let res: Response;
    try {
      res = await fetch(`${apiBase.replace(/\/+$/, '')}/${kind === 'chat' ? 'chat/completions' : 'embeddings'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${upstreamKey(d.params.api_key)}` },
        body: JSON.stringify({ ...forward, model: upstreamModel }),
        signal: AbortSignal.timeout(timeoutS * 1000),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { ok: false, status: 408, message: `litellm.Timeout: ${label} - Request timed out after ${timeoutS} seconds.` };
      return { ok: false, status: 500, message: `litellm.APIConnectionError: ${label} - Connection error.` };
    }
    const text = await res.text();
    if (!res.ok) return { ok: false, status: res.status >= 500 ? 500 : res.status, message: `litellm.APIError: ${label} - ${text.slice(0, 300)}` };
    const contentType = res.headers.get('content-type') ?? 'application/json';
    if (!contentType.includes('json')) return { ok: true, answer: { status: 200, body: null, raw: { text, contentType } }, apiBase };
    return { ok: true, answer: { status: 200, body: JSON.parse(text) as unknown }, apiBase };
  };

  const route = async (kind: 'chat' | 'embeddings', body: Record<string, unknown>, headers: Record<string, string>): Promise<{ answer: Answer; log: Partial<FakeLiteLLMRequest> }> => {
    const requested = typeof body.model === 'string' ? body.model : undefined;
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    await refreshDbModels();
    const group = requested ? (config.aliases.get(requested)?.group ?? requested) : undefined;
    const all = deployments();
    if (!group || !all.some((d) => d.group === group)) {
      const message = `${kind === 'chat' ? '/chat/completions' : '/embeddings'}: Invalid model name passed in model=${requested ?? 'None'}. Call \`/v1/models\` to view available models for your key.`;
      return { answer: errorAnswer(400, message, 'None'), log: { model: requested } };
    }
    const chain = [group, ...(config.fallbacks.get(group) ?? [])];
    let last: { status: number; message: string } = { status: 500, message: 'no deployment answered' };
    for (const [fallbacks, g] of chain.entries()) {
      const candidates = all.filter((d) => d.group === g);
      if (fallbacks === 0 && body.mock_testing_fallbacks === true) {
        last = { status: 500, message: `litellm.InternalServerError: This is a mock exception for model=${g}, to trigger a fallback. Fallbacks=${JSON.stringify(chain.slice(1))}` };
        continue;
      }
      for (const [retries, d] of candidates.entries()) {
        const attempt = await callDeployment(d, kind, body);
        if (!attempt.ok) {
          last = { status: attempt.status, message: attempt.message };
          continue;
        }
        Object.assign(headers, {
          'x-litellm-model-id': d.id,
          'x-litellm-model-group': g,
          'x-litellm-model-api-base': attempt.apiBase,
          'x-litellm-attempted-fallbacks': String(fallbacks),
          'x-litellm-attempted-retries': String(retries),
        });
        return { answer: attempt.answer, log: { model: requested, modelId: d.id, fallbacks } };
      }
    }
    headers['x-litellm-attempted-fallbacks'] = String(chain.length - 1);
    const message = `${last.message}\nReceived Model Group=${group}\nAvailable Model Group Fallbacks=${chain.length > 1 ? JSON.stringify(chain.slice(1)) : 'None'}`;
    return { answer: errorAnswer(last.status, message, 'None'), log: { model: requested, fallbacks: chain.length - 1 } };
  };

  const authorized = (req: IncomingMessage): Answer | undefined => {
    const header = req.headers['x-litellm-api-key'] ?? req.headers.authorization;
    const key = typeof header === 'string' ? header.replace(/^Bearer\s+/i, '').trim() : '';
    if (key === opts.masterKey) return undefined;
    if (!key) return errorAnswer(401, 'Authentication Error, No api key passed in.', 'auth_error');
    const hash = createHash('sha256').update(key).digest('hex');
    return errorAnswer(
      401,
      `Authentication Error, Invalid proxy server token passed. Received API Key = sk-...${key.slice(-4)}, Key Hash (Token) =${hash}. Unable to find token in cache or \`LiteLLM_VerificationTokenTable\``,
      'auth_error',
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    rereadIfChanged();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route_ = `${req.method} ${path}`;
    const headers: Record<string, string> = { 'x-litellm-call-id': randomUUID(), 'x-litellm-version': version };
    let answer: Answer;
    let log: Partial<FakeLiteLLMRequest> = {};
    if (route_ === 'GET /health/liveliness' || route_ === 'GET /health/liveness') answer = { status: 200, body: "I'm alive!" };
    else if (route_ === 'GET /health/readiness') {
      answer = {
        status: 200,
        body: { status: 'healthy', db: await dbStatus(), cache: null, litellm_version: version, success_callbacks: [], use_aiohttp_transport: true, log_level: 'WARNING', is_detailed_debug: false },
      };
    } else if (!KNOWN_ROUTES.has(route_)) answer = { status: 404, body: { detail: 'Not Found' } };
    else answer = authorized(req) ?? (await authorizedRoute(route_, req, headers, (l) => (log = l)));
    if (route_.startsWith('POST ')) headers['x-litellm-response-duration-ms'] = (performance.now() - started).toFixed(3);
    requests.push({ method: req.method ?? 'GET', path, status: answer.status, ...log });
    if (answer.raw) {
      res.writeHead(answer.status, { ...headers, 'content-type': answer.raw.contentType });
      res.end(answer.raw.text);
      return;
    }
    res.writeHead(answer.status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  };

  const authorizedRoute = async (route_: string, req: IncomingMessage, headers: Record<string, string>, setLog: (l: Partial<FakeLiteLLMRequest>) => void): Promise<Answer> => {
    if (route_.startsWith('GET ')) {
      await refreshDbModels();
      const all = deployments();
      if (route_.endsWith('/model/info')) {
        return {
          status: 200,
          body: {
            data: all.map((d) => ({
              model_name: d.group,
              litellm_params: Object.fromEntries(Object.entries(d.params).filter(([k]) => !SECRET_PARAMS.has(k))),
              model_info: { ...d.modelInfo, id: d.id, db_model: d.dbModel },
            })),
          },
        };
      }
      const names = [...new Set(all.map((d) => d.group))];
      for (const [alias, { hidden }] of config.aliases) if (!hidden && !names.includes(alias)) names.push(alias);
      return { status: 200, body: { data: names.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'openai' })), object: 'list' } };
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)) || '{}');
    } catch {
      return errorAnswer(400, 'Invalid JSON in request body', 'invalid_request_error');
    }
    if (!isRecord(body)) return errorAnswer(400, 'Request body must be a JSON object', 'invalid_request_error');
    const { answer, log } = await route(route_.endsWith('embeddings') ? 'embeddings' : 'chat', body, headers);
    setLog(log);
    return answer;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake LiteLLM: ${String(err)}`, type: 'None', param: 'None', code: '500' } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    reloadConfig() {
      config = readConfig(opts.configPath);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool?.end().catch(() => undefined);
    },
  };
}

const KNOWN_ROUTES = new Set([
  'GET /v1/models',
  'GET /models',
  'GET /model/info',
  'GET /v1/model/info',
  'POST /v1/chat/completions',
  'POST /chat/completions',
  'POST /v1/embeddings',
  'POST /embeddings',
]);

function readConfig(path: string | undefined): ConfigState {
  const state: ConfigState = { deployments: [], fallbacks: new Map(), aliases: new Map() };
  if (!path) return state;
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  if (!isRecord(doc)) return state;
  for (const entry of Array.isArray(doc.model_list) ? doc.model_list : []) {
    if (!isRecord(entry) || typeof entry.model_name !== 'string' || !isRecord(entry.litellm_params)) continue;
    const info = isRecord(entry.model_info) ? entry.model_info : {};
    const id = typeof info.id === 'string' ? info.id : createHash('sha256').update(entry.model_name + JSON.stringify(entry.litellm_params)).digest('hex');
    state.deployments.push({ id, group: entry.model_name, params: entry.litellm_params, modelInfo: info, dbModel: false });
  }
  // router_settings wins over litellm_settings for a group both name
  for (const section of [doc.litellm_settings, doc.router_settings]) {
    if (!isRecord(section)) continue;
    for (const map of Array.isArray(section.fallbacks) ? section.fallbacks : [section.fallbacks]) {
      if (!isRecord(map)) continue;
      for (const [from, to] of Object.entries(map)) state.fallbacks.set(from, (Array.isArray(to) ? to : [to]).map(String));
    }
    if (isRecord(section.model_group_alias)) {
      for (const [alias, target] of Object.entries(section.model_group_alias)) {
        if (typeof target === 'string') state.aliases.set(alias, { group: target, hidden: false });
        else if (isRecord(target) && typeof target.model === 'string') state.aliases.set(alias, { group: target.model, hidden: target.hidden === true });
      }
    }
  }
  return state;
}

function stamp(path: string | undefined): string {
  if (!path) return '';
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return '';
  }
}

function cloudAnswer(kind: 'chat' | 'embeddings', model: string, body: Record<string, unknown>): Answer {
  const created = Math.floor(Date.now() / 1000);
  if (kind === 'embeddings') {
    const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ''];
    const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0] }));
    return { status: 200, body: { object: 'list', data, model, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } } };
  }
  const id = `chatcmpl-${randomUUID()}`;
  if (body.stream === true) {
    const chunk = (delta: unknown, finish: string | null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    return { status: 200, body: null, raw: { text: chunk({ role: 'assistant', content: 'ok' }, null) + chunk({}, 'length') + 'data: [DONE]\n\n', contentType: 'text/event-stream' } };
  }
  return {
    status: 200,
    body: {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    },
  };
}

function errorAnswer(status: number, message: string, type: string): Answer {
  return { status, body: { error: { message, type, param: 'None', code: String(status) } } };
}

function upstreamKey(value: unknown): string {
  if (typeof value !== 'string') return 'none';
  const env = /^os\.environ\/(\w+)$/.exec(value);
  return env ? (process.env[env[1]!] ?? 'none') : value;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
