import { repairLines } from '../../contracts/doctor.js';
import { looksLikeCiphertext } from '../crypto.js';
import { resolveProvider } from '../providers.js';
import { found, type Found } from './finding.js';
import { isLocalDeployment } from './locality.js';
import type { ModelView } from './model-view.js';

const TYPES = ['chat', 'completion', 'embeddings', 'vision', 'rerank'] as const;
const NAME_CHARS = /^[a-z0-9][a-z0-9._-]*$/;
const TYPED = new RegExp(`^(${TYPES.join('|')})-[a-z0-9]`);

/**
 * The lab's naming rule, `[type]-[name]-[engine]` (DESIGN.md): lower case, a type first
 * (`chat-hermes-3-llama-3.1-8b`, `chat-qwen2.5-0.5b-vllm`); a cloud model may instead end in
 * `-cloud` (`qwen3-coder-480b-cloud`). The engine is left out for llama.cpp, the lab's default.
 */
export function followsNaming(name: string): boolean {
  return NAME_CHARS.test(name) && (TYPED.test(name) || /.-cloud$/.test(name));
}

/**
 * Every LiteLLM model_name (config.yaml and DB) that does not follow the rule, with the suggested
 * name; `exempt` names (labops' own proxy groups) are left alone.
 */
export function checkModelNames(views: readonly ModelView[], exempt: ReadonlySet<string> = new Set()): Found[] {
  const byName = new Map<string, ModelView[]>();
  for (const v of views) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  const findings: Found[] = [];
  for (const [name, list] of byName) {
    if (exempt.has(name) || followsNaming(name)) continue;
    const suggested = suggestName(name, list.find((v) => v.params) ?? list[0]!);
    findings.push(
      found(
        'model-name',
        name,
        'warning',
        `${name} (${list.map((v) => v.where).join(', ')}) does not follow [type]-[name]-[engine]; suggested: ${suggested}`,
        repairLines.rename(name, suggested),
      ),
    );
  }
  return findings;
}

/** `ollama-mistral` serving `ollama_chat/mistral:7b` → `chat-mistral-7b-ollama`. */
export function suggestName(name: string, view: Pick<ModelView, 'params' | 'modelInfo'>): string {
  const params = view.params ?? {};
  const type = typeOf(name, view.modelInfo);
  const model = typeof params.model === 'string' && !looksLikeCiphertext(params.model) ? params.model : null;
  const local = view.params === null || isLocalDeployment(params);
  let base = model ? slug(model.slice(model.lastIndexOf('/') + 1)).replace(/-instruct$/, '') : slugOfName(name);
  base = base.replace(new RegExp(`^(${TYPES.join('|')})-`), '') || slug(name);
  if (!local) return base.endsWith('-cloud') ? base : `${base}-cloud`;
  const engine = engineOf(resolveProvider(params));
  return `${type}-${base}${engine && !base.endsWith(`-${engine}`) ? `-${engine}` : ''}`;
}

function typeOf(name: string, info: Record<string, unknown>): (typeof TYPES)[number] {
  const mode = typeof info.mode === 'string' ? info.mode : '';
  if (info.supports_vision === true || /(^|-)(vision|vl)(-|$)/.test(name)) return 'vision';
  if (mode === 'embedding' || /embed/.test(name)) return 'embeddings';
  if (mode === 'rerank') return 'rerank';
  if (mode === 'completion') return 'completion';
  return 'chat';
}

function engineOf(provider: string | undefined): string {
  if (provider === 'ollama' || provider === 'ollama_chat') return 'ollama';
  if (provider === 'hosted_vllm' || provider === 'vllm') return 'vllm';
  return '';
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
}

/** The old name without words that say the engine or the place (`vllm-`, `-local`). */
function slugOfName(name: string): string {
  const words = slug(name)
    .split('-')
    .filter((w) => !['vllm', 'ollama', 'llamacpp', 'llama.cpp', 'local', 'cloud'].includes(w));
  return words.join('-') || slug(name);
}
