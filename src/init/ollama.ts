import { fetchTimed, FetchFailure } from '../core/http.js';
import { safeUrl } from '../core/redact.js';
import { sameModel } from '../engines/ollama.js';

export interface OllamaModelFound {
  /** the tag, e.g. `mistral:7b` */
  name: string;
  sizeMiB: number;
  /** VRAM it holds now (loaded models only) */
  vramMiB?: number;
}

export interface OllamaFound {
  url: string;
  reachable: boolean;
  /** why it could not be read */
  detail?: string;
  /** `/api/tags`: what is pulled */
  installed: OllamaModelFound[];
  /** `/api/ps`: what is loaded now, with its VRAM */
  loaded: OllamaModelFound[];
}

const TIMEOUT_MS = 3_000;
const MiB = 1024 * 1024;

interface TagEntry {
  name?: unknown;
  model?: unknown;
  size?: unknown;
  size_vram?: unknown;
}

/** `/api/tags` and `/api/ps` of an Ollama server. Never throws: an unreachable server says so. */
export async function readOllama(url: string, signal?: AbortSignal): Promise<OllamaFound> {
  const base = url.replace(/\/+$/, '');
  try {
    const [tags, ps] = await Promise.all([getModels(`${base}/api/tags`, signal), getModels(`${base}/api/ps`, signal)]);
    return { url: base, reachable: true, installed: tags.map(toModel), loaded: ps.map(toModel) };
  } catch (err) {
    if (err instanceof FetchFailure || err instanceof OllamaAnswer) return { url: base, reachable: false, detail: err.message, installed: [], loaded: [] };
    throw err;
  }
}

/** The entry for a tag (`mistral` is `mistral:latest`). */
export function findOllamaModel(models: readonly OllamaModelFound[], tag: string): OllamaModelFound | undefined {
  return models.find((m) => sameModel(m.name, tag));
}

class OllamaAnswer extends Error {}

async function getModels(url: string, signal?: AbortSignal): Promise<TagEntry[]> {
  const res = await fetchTimed(url, { headers: { accept: 'application/json' } }, { signal, timeoutMs: TIMEOUT_MS });
  if (!res.ok) throw new OllamaAnswer(`${safeUrl(url)} answered ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new OllamaAnswer(`${safeUrl(url)} did not answer JSON: is this Ollama?`);
  }
  const models = (body as { models?: unknown }).models;
  return Array.isArray(models) ? (models.filter((m) => m && typeof m === 'object') as TagEntry[]) : [];
}

function toModel(entry: TagEntry): OllamaModelFound {
  const name = typeof entry.name === 'string' ? entry.name : typeof entry.model === 'string' ? entry.model : '?';
  const size = typeof entry.size === 'number' ? entry.size : 0;
  return {
    name,
    sizeMiB: Math.round(size / MiB),
    ...(typeof entry.size_vram === 'number' ? { vramMiB: Math.round(entry.size_vram / MiB) } : {}),
  };
}
