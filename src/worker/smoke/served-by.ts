import type { Inventory, ModelRef } from '../../config/inventory.js';
import { isSmokeType } from '../../contracts/smoke.js';
import type { ModelInfoEntry } from '../../litellm/client.js';

/**
 * The name of the deployment that answered (`x-litellm-model-id`), through /model/info: the
 * inventory model it is (same LiteLLM name, or the same server: its api_base on the origin of the
 * model's health URL or Ollama URL, and the same Ollama tag), else its model_name in LiteLLM, else
 * the id itself.
 */
export function deploymentName(id: string | undefined, deployments: readonly ModelInfoEntry[], inventory: Inventory): string | null {
  if (!id) return null;
  const entry = deployments.find((d) => d.id === id);
  if (!entry) return id;
  const models = inventory.models().filter((m) => isSmokeType(m.model.type));
  const byName = models.find((m) => (m.model.litellmName ?? m.name) === entry.modelName);
  if (byName) return byName.name;
  const apiBase = typeof entry.litellmParams.api_base === 'string' ? origin(entry.litellmParams.api_base) : null;
  if (apiBase) {
    const model = typeof entry.litellmParams.model === 'string' ? entry.litellmParams.model : '';
    const same = models.filter((m) => originsOf(m).includes(apiBase) && sameOllamaTag(m, model));
    if (same.length === 1) return same[0]!.name;
  }
  return entry.modelName || id;
}

function originsOf(ref: ModelRef): string[] {
  const urls = [ref.model.health?.url, ref.model.health?.modelsUrl, ref.model.engine.kind === 'ollama' ? ref.model.engine.url : undefined];
  return urls.map((u) => (u ? origin(u) : null)).filter((o): o is string => o !== null);
}

/** An Ollama engine serves many models on one URL: the tag must match too. */
function sameOllamaTag(ref: ModelRef, model: string): boolean {
  if (ref.model.engine.kind !== 'ollama') return true;
  const tag = ref.model.engine.model;
  return model === tag || model.endsWith(`/${tag}`);
}

function origin(url: string): string | null {
  try {
    const u = new URL(url);
    const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
    return `${u.protocol}//${host}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return null;
  }
}
