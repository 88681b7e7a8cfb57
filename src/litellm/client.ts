import { formatDuration } from '../core/duration.js';
import { excerpt, fetchTimed, FetchFailure } from '../core/http.js';
import { redact, redactDeep, registerSecret, safeUrl } from '../core/redact.js';
import { looksLikeCiphertext } from './crypto.js';
import { maskSecretParams } from './secret-params.js';

/**
 * The LiteLLM proxy's HTTP API as labops uses it (LITELLM.md §5). No call throws for what the
 * proxy does: down, too slow, 401 and other HTTP errors are results. Only the caller's own abort
 * rejects (with its reason).
 */
export interface LiteLLMClientOptions {
  baseUrl: string;
  masterKey: string;
  /** health and admin routes (default 5 s) */
  timeoutMs?: number;
  /** chat and embeddings (default 60 s) */
  llmTimeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The response headers labops reads from LLM calls. */
export interface LiteLLMHeaders {
  /** the deployment that answered (`model_info.id`) */
  modelId?: string;
  modelGroup?: string;
  apiBase?: string;
  /** > 0: a fallback group answered */
  attemptedFallbacks?: number;
  attemptedRetries?: number;
  callId?: string;
  version?: string;
  responseDurationMs?: number;
}

export type ProxyFailure =
  /** no HTTP answer: refused, host not found, reset */
  | { ok: false; kind: 'down'; detail: string; latencyMs: number }
  | { ok: false; kind: 'timeout'; detail: string; latencyMs: number }
  /** the proxy refused the master key */
  | { ok: false; kind: 'unauthorized'; status: number; message: string; latencyMs: number }
  | { ok: false; kind: 'http'; status: number; message: string; latencyMs: number; headers: LiteLLMHeaders }
  /** 2xx, but not the JSON the route returns */
  | { ok: false; kind: 'bad-response'; status: number; detail: string; latencyMs: number };

export type ProxyResult<T> = ({ ok: true; status: number; latencyMs: number } & T) | ProxyFailure;

export interface Readiness {
  status: string;
  /** "connected", "disconnected", "Not connected" */
  db: string;
  litellmVersion: string | undefined;
}

export interface ModelInfoEntry {
  modelName: string;
  /** `model_info.id`: the DB `model_id` for DB models, a hash for config models */
  id: string | undefined;
  dbModel: boolean | undefined;
  /** the router's decrypted params, secret values masked */
  litellmParams: Record<string, unknown>;
  modelInfo: Record<string, unknown>;
}

export interface ChatOptions extends CallOptions {
  /** default 1 */
  maxTokens?: number;
  /** an image URL or `data:` URL: the message then carries it (vision models) */
  image?: string;
  prompt?: string;
}

export interface ChatAnswer {
  headers: LiteLLMHeaders;
  /** the model the answer names */
  model: string | undefined;
  content: string | undefined;
}

export interface EmbeddingsAnswer {
  headers: LiteLLMHeaders;
  count: number;
  dimensions: number;
}

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  latencyMs: number;
}

export class LiteLLMClient {
  readonly baseUrl: string;
  private readonly masterKey: string;
  private readonly timeoutMs: number;
  private readonly llmTimeoutMs: number;

  constructor(opts: LiteLLMClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.masterKey = opts.masterKey;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.llmTimeoutMs = opts.llmTimeoutMs ?? 60_000;
    registerSecret(opts.masterKey);
  }

  /** `GET /health/liveliness` (no key): the process answers. */
  async liveliness(opts: CallOptions = {}): Promise<ProxyResult<{ message: string }>> {
    return this.json('GET', '/health/liveliness', undefined, opts, false, (body) => ({ message: typeof body === 'string' ? body : JSON.stringify(body) }));
  }

  /** `GET /health/readiness` (no key): its DB connection and version. */
  async readiness(opts: CallOptions = {}): Promise<ProxyResult<Readiness>> {
    return this.json('GET', '/health/readiness', undefined, opts, false, (body) => {
      if (!isRecord(body)) return undefined;
      return {
        status: String(body.status ?? ''),
        db: String(body.db ?? ''),
        litellmVersion: typeof body.litellm_version === 'string' ? body.litellm_version : undefined,
      };
    });
  }

  /** `GET /v1/models`: the model groups (and visible aliases) the master key may use. */
  async models(opts: CallOptions = {}): Promise<ProxyResult<{ ids: string[] }>> {
    return this.json('GET', '/v1/models', undefined, opts, true, (body) => {
      if (!isRecord(body) || !Array.isArray(body.data)) return undefined;
      return { ids: body.data.filter(isRecord).map((m) => String(m.id)) };
    });
  }

  /** `GET /model/info`: every deployment as the router sees it (decrypted). */
  async modelInfo(opts: CallOptions = {}): Promise<ProxyResult<{ deployments: ModelInfoEntry[] }>> {
    return this.json('GET', '/model/info', undefined, opts, true, (body) => {
      if (!isRecord(body) || !Array.isArray(body.data)) return undefined;
      return {
        deployments: body.data.filter(isRecord).map((d) => {
          const info = isRecord(d.model_info) ? d.model_info : {};
          return {
            modelName: String(d.model_name ?? ''),
            id: typeof info.id === 'string' ? info.id : undefined,
            dbModel: typeof info.db_model === 'boolean' ? info.db_model : undefined,
            litellmParams: redactParams(maskSecretParams(isRecord(d.litellm_params) ? d.litellm_params : {})),
            modelInfo: redactDeep(info),
          };
        }),
      };
    });
  }

  /** A real chat completion, `maxTokens` long (default 1). */
  async chat(model: string, opts: ChatOptions = {}): Promise<ProxyResult<ChatAnswer>> {
    const prompt = opts.prompt ?? 'Reply with OK.';
    const content = opts.image ? [{ type: 'text', text: prompt }, { type: 'image_url', image_url: { url: opts.image } }] : prompt;
    const body = { model, messages: [{ role: 'user', content }], max_tokens: opts.maxTokens ?? 1 };
    return this.llm('/v1/chat/completions', body, opts, (json, headers) => {
      if (!isRecord(json)) return undefined;
      const choice = Array.isArray(json.choices) && isRecord(json.choices[0]) ? json.choices[0] : {};
      const message = isRecord(choice.message) ? choice.message : {};
      return {
        headers,
        model: typeof json.model === 'string' ? json.model : undefined,
        content: typeof message.content === 'string' ? redact(excerpt(message.content, 200)) : undefined,
      };
    });
  }

  async embeddings(model: string, input: string | string[], opts: CallOptions = {}): Promise<ProxyResult<EmbeddingsAnswer>> {
    return this.llm('/v1/embeddings', { model, input }, opts, (json, headers) => {
      if (!isRecord(json) || !Array.isArray(json.data)) return undefined;
      const first = json.data.find(isRecord);
      return { headers, count: json.data.length, dimensions: Array.isArray(first?.embedding) ? first.embedding.length : 0 };
    });
  }

  private async llm<T>(path: string, body: unknown, opts: CallOptions, read: (json: unknown, headers: LiteLLMHeaders) => T | undefined): Promise<ProxyResult<T>> {
    const raw = await this.request('POST', path, body, { ...opts, timeoutMs: opts.timeoutMs ?? this.llmTimeoutMs }, true);
    if ('ok' in raw) return raw;
    const headers = readHeaders(raw.headers);
    return this.interpret(raw, headers, (json) => read(json, headers));
  }

  private async json<T>(method: string, path: string, body: unknown, opts: CallOptions, auth: boolean, read: (json: unknown) => T | undefined): Promise<ProxyResult<T>> {
    const raw = await this.request(method, path, body, opts, auth);
    if ('ok' in raw) return raw;
    return this.interpret(raw, readHeaders(raw.headers), read);
  }

  private interpret<T>(raw: Raw, headers: LiteLLMHeaders, read: (json: unknown) => T | undefined): ProxyResult<T> {
    const { status, latencyMs } = raw;
    const json = parseJson(raw.text);
    if (status < 200 || status > 299) {
      const error = describeError(json, raw.text);
      if (status === 401 && error.proxyAuth) return { ok: false, kind: 'unauthorized', status, message: error.message, latencyMs };
      return { ok: false, kind: 'http', status, message: error.message, latencyMs, headers };
    }
    const value = json === undefined ? undefined : read(json);
    if (value === undefined) return { ok: false, kind: 'bad-response', status, detail: `not the expected JSON: ${redact(excerpt(raw.text, 120))}`, latencyMs };
    return { ok: true, status, latencyMs, ...value };
  }

  private async request(method: string, path: string, body: unknown, opts: CallOptions, auth: boolean): Promise<Raw | ProxyFailure> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers.authorization = `Bearer ${this.masterKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const latency = () => Math.round((performance.now() - started) * 10) / 10;
    try {
      // the deadline is ours (signal); fetchTimed's own timeout only backs it up
      const res = await fetchTimed(
        `${this.baseUrl}${path}`,
        { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
        { signal, timeoutMs: timeoutMs + 1_000 },
      );
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, latencyMs: latency() };
    } catch (err) {
      opts.signal?.throwIfAborted();
      const where = `LiteLLM at ${safeUrl(this.baseUrl)}`;
      if (deadline.aborted) return { ok: false, kind: 'timeout', detail: `${where}: no answer in ${formatMs(timeoutMs)}`, latencyMs: latency() };
      if (err instanceof FetchFailure) return { ok: false, kind: 'down', detail: `${where}: ${redact(err.reason)}`, latencyMs: latency() };
      return { ok: false, kind: 'down', detail: `${where}: ${redact(err instanceof Error ? err.message : String(err))}`, latencyMs: latency() };
    }
  }
}

export function createLiteLLMClient(opts: LiteLLMClientOptions): LiteLLMClient {
  return new LiteLLMClient(opts);
}

/** Redacted, except values that are ciphertexts: /doctor must see those exactly as the router has them. */
function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' && looksLikeCiphertext(v) ? v : redactDeep(v)]));
}

function readHeaders(headers: Headers): LiteLLMHeaders {
  const text = (name: string) => headers.get(name) ?? undefined;
  const number = (name: string) => {
    const value = headers.get(name);
    return value === null || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value);
  };
  const apiBase = text('x-litellm-model-api-base');
  return dropUndefined({
    modelId: text('x-litellm-model-id'),
    modelGroup: text('x-litellm-model-group'),
    apiBase: apiBase === undefined ? undefined : safeUrl(apiBase),
    attemptedFallbacks: number('x-litellm-attempted-fallbacks'),
    attemptedRetries: number('x-litellm-attempted-retries'),
    callId: text('x-litellm-call-id'),
    version: text('x-litellm-version'),
    responseDurationMs: number('x-litellm-response-duration-ms'),
  });
}

/**
 * LiteLLM's `{"error": {"message", "type", …}}`, FastAPI's `{"detail": …}`, or the text. A 401 of
 * the proxy's own auth says "Authentication Error" (type auth_error); a provider's 401 is
 * `litellm.AuthenticationError: …` and is an HTTP error, not a wrong master key.
 */
function describeError(json: unknown, text: string): { message: string; proxyAuth: boolean } {
  let message: string | undefined;
  let type: unknown;
  if (isRecord(json)) {
    const error = json.error;
    if (isRecord(error)) {
      message = typeof error.message === 'string' ? error.message : JSON.stringify(error.message);
      type = error.type;
    } else if (typeof error === 'string') message = error;
    else if (json.detail !== undefined) {
      const detail = json.detail;
      message = typeof detail === 'string' ? detail : isRecord(detail) && typeof detail.error === 'string' ? detail.error : JSON.stringify(detail);
    }
  } else if (typeof json === 'string') message = json;
  message ??= text;
  const proxyAuth = type === 'auth_error' || /^Authentication Error/i.test(message) || message.trim() === '';
  return { message: sanitize(message), proxyAuth };
}

/** One line, secrets removed, and LiteLLM's echo of a wrong key ("Received API Key = sk-...abcd") masked. */
function sanitize(message: string): string {
  return redact(excerpt(message.replace(/(Received API Key = )[^\s,]+/g, '$1***'), 400));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : formatDuration(ms);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
