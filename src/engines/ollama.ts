import type { EngineConfig } from '../config/schema.js';
import { formatDuration } from '../core/duration.js';
import { failedError, unavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { safeUrl } from '../core/redact.js';
import type { Engine, EngineState } from './engine.js';
import { excerpt, fetchTimed, FetchFailure } from '../core/http.js';

type OllamaConfig = Extract<EngineConfig, { kind: 'ollama' }>;

export interface OllamaOptions {
  config: OllamaConfig;
  logger: Logger;
  /** how long a load may take */
  loadTimeoutMs?: number;
}

export interface PsModel {
  name?: string;
  model?: string;
  size?: number;
  size_vram?: number;
  expires_at?: string;
}

const QUERY_TIMEOUT = 5_000;
const MiB = 1024 * 1024;
const A_YEAR = 365 * 86_400_000;

/**
 * A model inside an Ollama server, over its HTTP API: an empty generate request loads it for
 * `keepAlive`, `keep_alive: 0` unloads it, /api/ps says what is loaded. Ollama's runner processes
 * are not tied to a model by the API, so `pids` stays empty and VRAM comes from `size_vram`.
 */
export class OllamaEngine implements Engine {
  readonly kind = 'ollama' as const;
  private loading = false;

  constructor(private readonly opts: OllamaOptions) {}

  get url(): string {
    return this.opts.config.url.replace(/\/+$/, '');
  }

  async start(signal: AbortSignal): Promise<void> {
    this.loading = true;
    try {
      await this.generate(this.opts.config.keepAlive, signal, this.opts.loadTimeoutMs ?? 300_000);
    } finally {
      this.loading = false;
    }
  }

  async stop(signal: AbortSignal): Promise<void> {
    await this.generate(0, signal, 60_000);
  }

  async state(signal?: AbortSignal): Promise<EngineState> {
    return this.stateFrom(await readPs(this.url, signal));
  }

  /** The state from an /api/ps answer (one answer serves every model of the same Ollama). */
  stateFrom(ps: PsAnswer): EngineState {
    if (!ps.ok) return { state: 'unknown', pids: [], detail: ps.detail };
    const loaded = ps.models.find((m) => sameModel(m.name ?? m.model ?? '', this.opts.config.model) || sameModel(m.model ?? '', this.opts.config.model));
    if (!loaded) return { state: this.loading ? 'starting' : 'stopped', pids: [] };
    return {
      state: 'running',
      pids: [],
      vramMiB: Math.round((loaded.size_vram ?? 0) / MiB),
      ...(loaded.expires_at ? { detail: unloadsIn(loaded.expires_at) } : {}),
    };
  }

  /** Ollama keeps one server log, not one per model. */
  async logs(): Promise<string[]> {
    return [];
  }

  private async generate(keepAlive: string | number, signal: AbortSignal, timeoutMs: number): Promise<void> {
    const { model } = this.opts.config;
    const body = JSON.stringify({ model, keep_alive: keepAlive, stream: false });
    let res: Response;
    try {
      res = await fetchTimed(`${this.url}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, { signal, timeoutMs });
    } catch (err) {
      if (err instanceof FetchFailure) throw unavailableError(`${this.unreachable()} (${err.reason}).`, 'Is the ollama service running?');
      throw err;
    }
    const text = await res.text();
    if (!res.ok) {
      const error = parseError(text);
      throw failedError(
        `Ollama could not ${keepAlive === 0 ? 'unload' : 'load'} ${model}: ${error}`,
        res.status === 404 ? `Pull it first: ollama pull ${model}` : undefined,
      );
    }
    this.opts.logger.info({ model, keepAlive, doneReason: (JSON.parse(text || '{}') as { done_reason?: string }).done_reason }, 'ollama generate');
  }

  private unreachable(): string {
    return unreachable(this.url);
  }
}

export type PsAnswer = { ok: true; models: PsModel[] } | { ok: false; detail: string };

const unreachable = (url: string) => `Ollama at ${safeUrl(url)} is unreachable`;

/** What an Ollama server has loaded (`GET /api/ps`). */
export async function readPs(url: string, signal?: AbortSignal): Promise<PsAnswer> {
  try {
    const res = await fetchTimed(`${url}/api/ps`, {}, { signal, timeoutMs: QUERY_TIMEOUT });
    if (!res.ok) return { ok: false, detail: `Ollama /api/ps answered ${res.status}` };
    return { ok: true, models: ((await res.json()) as { models?: PsModel[] }).models ?? [] };
  } catch (err) {
    if (err instanceof FetchFailure) return { ok: false, detail: unreachable(url) };
    throw err;
  }
}

/** `mistral` and `mistral:latest` name the same model. */
export function sameModel(a: string, b: string): boolean {
  const norm = (s: string) => (s.includes(':') ? s : `${s}:latest`);
  return a !== '' && norm(a) === norm(b);
}

export function unloadsIn(expiresAt: string, now = Date.now()): string {
  const left = Date.parse(expiresAt) - now;
  if (Number.isNaN(left)) return `expires ${expiresAt}`;
  if (left > A_YEAR) return 'kept loaded';
  if (left <= 0) return 'unloading';
  return `unloads in ${formatDuration(left >= 60_000 ? Math.round(left / 60_000) * 60_000 : left)}`;
}

function parseError(text: string): string {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? excerpt(text);
  } catch {
    return excerpt(text);
  }
}
