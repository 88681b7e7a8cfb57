import { ENGINE_SUFFIX, type ServerKind } from './command-line.js';

export type ModelType = 'chat' | 'embeddings' | 'vision' | 'completion' | 'rerank' | 'proxy';

/** labops' names: lower-case letters, digits, `.`, `_`, `-`, at most 64 (config schema). */
export const VALID_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface TypeEvidence {
  /** `model_info.mode` of the LiteLLM deployments */
  modes: string[];
  /** `model_info.supports_vision` */
  vision: boolean;
  /** every name the model goes by: LiteLLM names, the model param, the served name, the model file */
  names: string[];
  kind: ServerKind;
}

/**
 * The type: LiteLLM's `model_info.mode` first (embedding, rerank, completion); a chat model (or one
 * without a mode) that supports vision or whose name says vl/vision is `vision`; without a mode, a
 * name with embed or rerank says so, and an embedding server (TEI, Infinity) serves embeddings.
 */
export function modelType(e: TypeEvidence): { type: ModelType; from: string } {
  const mode = e.modes.find((m) => m !== '');
  if (mode === 'embedding') return { type: 'embeddings', from: 'model_info.mode: embedding' };
  if (mode === 'rerank') return { type: 'rerank', from: 'model_info.mode: rerank' };
  if (mode === 'completion') return { type: 'completion', from: 'model_info.mode: completion' };
  const joined = e.names.join(' ').toLowerCase();
  if (e.vision) return { type: 'vision', from: 'model_info.supports_vision' };
  if (/(^|[-_/.:\s])(vl|vision)([-_/.:\s\d]|$)|vision/.test(joined)) return { type: 'vision', from: 'its name (vl/vision)' };
  if (mode === 'chat') return { type: 'chat', from: 'model_info.mode: chat' };
  if (/embed/.test(joined)) return { type: 'embeddings', from: 'its name (embed)' };
  if (/rerank/.test(joined)) return { type: 'rerank', from: 'its name (rerank)' };
  if (e.kind === 'tei' || e.kind === 'infinity') return { type: 'embeddings', from: 'its server (an embedding server)' };
  return { type: 'chat', from: mode ? `model_info.mode: ${mode} (labops has no such type)` : 'the default' };
}

const QUANT = /[-._](q\d(?:[_-][a-z0-9]+)*|iq\d(?:[_-][a-z0-9]+)*|f16|fp16|bf16|f32|fp8|int4|int8|awq|gptq|gguf|exl2|mlx|\d+bit)$/;
const CHAT_SUFFIX = /-(instruct|chat|it|hf)$/;

/**
 * The `[name]` part: the model file's or repository's last part, or an Ollama tag, lower-cased,
 * without file extension, shard, quantisation and (for chat and vision models) `-instruct`:
 * `/m/Hermes-3-Llama-3.1-8B.Q8_0.gguf` → `hermes-3-llama-3.1-8b`, `Qwen/Qwen2.5-0.5B-Instruct` →
 * `qwen2.5-0.5b`, `mistral:7b` → `mistral-7b`.
 */
export function coreName(raw: string, type: ModelType): string {
  let name = raw.trim().toLowerCase();
  name = name.replace(/:latest$/, '');
  name = name.slice(name.lastIndexOf('/') + 1);
  name = name.replace(/\.(gguf|bin|safetensors|pt|onnx)$/, '');
  name = name.replace(/-\d{5}-of-\d{5}$/, '');
  name = name.replace(/[:\s_]+/g, '-');
  for (let previous = ''; previous !== name; ) {
    previous = name;
    name = name.replace(QUANT, '');
    if (type === 'chat' || type === 'vision') name = name.replace(CHAT_SUFFIX, '');
  }
  return sanitize(name);
}

/** `[type]-[name]-[engine]`, without saying the type or the engine twice. */
export function conventionalName(type: ModelType, core: string, kind: ServerKind): string {
  const suffix = ENGINE_SUFFIX[kind];
  let body = core.startsWith(`${type}-`) ? core.slice(type.length + 1) : core;
  if (suffix && (body === suffix || body.endsWith(`-${suffix}`))) body = body.slice(0, -(suffix.length + 1)) || body;
  const tail = suffix ? `-${suffix}` : '';
  const room = 64 - type.length - 1 - tail.length;
  return sanitize(`${type}-${body.slice(0, Math.max(1, room)).replace(/[-._]+$/, '')}${tail}`);
}

/**
 * An existing LiteLLM name that already follows the convention for this model: it starts with the
 * type and shares the model's first word (`chat-hermes-3-llama-3.1-8b` for Hermes), and is not a
 * role name such as `chat-default`.
 */
export function followsConvention(name: string, type: ModelType, core: string): boolean {
  if (!VALID_NAME.test(name) || !name.startsWith(`${type}-`)) return false;
  const word = core.split('-').find((w) => w.length >= 3 && !/^\d/.test(w));
  return word !== undefined && name.slice(type.length + 1).includes(word);
}

export function sanitize(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
  return (cleaned || 'model').slice(0, 64);
}

/** `name`, else `name-2`, `name-3`… that is not taken. */
export function unique(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) {
    const candidate = `${name.slice(0, 64 - String(i).length - 1)}-${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}
