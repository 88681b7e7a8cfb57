import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { failedError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { envReference, maskSecretParams } from './secret-params.js';

/** The parts of the proxy's `config.yaml` labops checks (LITELLM.md §6). */
export interface LiteLLMConfigFile {
  path: string;
  models: ConfigModel[];
  routerSettings: RoutingSettings;
  litellmSettings: RoutingSettings;
  /** `general_settings.store_model_in_db`; undefined when absent or not a boolean */
  storeModelInDb: boolean | undefined;
  /** never the value: whether it is set, and the variable when it is an `os.environ/NAME` reference */
  masterKey: SecretSetting;
  databaseUrl: SecretSetting;
  /** entries and settings that are not shaped as LiteLLM expects, with their line */
  problems: string[];
}

export interface ConfigModel {
  modelName: string;
  /** secret values (api_key, …) masked as `***`; `os.environ/NAME` references kept */
  litellmParams: Record<string, unknown>;
  modelInfo: Record<string, unknown> | undefined;
  /** 1-based line of the entry */
  line: number;
}

/** `from` falls back to the groups of `to`, in order. */
export interface FallbackRule {
  from: string;
  to: string[];
}

export interface RoutingSettings {
  fallbacks: FallbackRule[];
  contextWindowFallbacks: FallbackRule[];
  /** alias → model group */
  modelGroupAlias: Record<string, string>;
}

export type SecretSetting = { source: 'unset' } | { source: 'literal' } | { source: 'env'; name: string };

export async function readLiteLLMConfig(path: string): Promise<LiteLLMConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'cannot be read');
    throw failedError(`LiteLLM config ${path}: ${why}`, 'Check litellm.configPath in labops.yaml.');
  }
  return parseLiteLLMConfig(text, path);
}

export function parseLiteLLMConfig(text: string, path: string): LiteLLMConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw failedError(`LiteLLM config ${path}: YAML error: ${redact(first.message.split('\n')[0] ?? '')}${more}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw failedError(`LiteLLM config ${path}: the top level is not a mapping`);

  const problems: string[] = [];
  const lineOf = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : 0);
  const at = (node: Node | null | undefined, what: string) => `line ${lineOf(node)}: ${what}`;
  const section = (name: string): Record<string, unknown> => {
    const node = doc.get(name, true) as Node | undefined;
    if (node === undefined || node === null || (node as { value?: unknown }).value === null) return {};
    if (!isMap(node)) {
      problems.push(at(node, `${name} is not a mapping`));
      return {};
    }
    return node.toJS(doc) as Record<string, unknown>;
  };

  const general = section('general_settings');
  return {
    path,
    models: readModels(doc, lineOf, at, problems),
    routerSettings: readRouting(section('router_settings'), 'router_settings', problems),
    litellmSettings: readRouting(section('litellm_settings'), 'litellm_settings', problems),
    storeModelInDb: readBoolean(general.store_model_in_db),
    masterKey: describeSecret(general.master_key),
    databaseUrl: describeSecret(general.database_url),
    problems,
  };
}

function readModels(
  doc: Document,
  lineOf: (node: Node | null | undefined) => number,
  at: (node: Node | null | undefined, what: string) => string,
  problems: string[],
): ConfigModel[] {
  const list = doc.get('model_list', true) as Node | undefined;
  if (list === undefined || list === null || (list as { value?: unknown }).value === null) return [];
  if (!isSeq(list)) {
    problems.push(at(list, 'model_list is not a list'));
    return [];
  }
  const models: ConfigModel[] = [];
  for (const item of list.items as Node[]) {
    const entry: unknown = isMap(item) ? item.toJS(doc) : undefined;
    if (!isRecord(entry)) {
      problems.push(at(item, 'model_list entry is not a mapping'));
      continue;
    }
    const { model_name: modelName, litellm_params: params, model_info: info } = entry;
    if (typeof modelName !== 'string' || modelName === '') {
      problems.push(at(item, 'model_list entry without model_name'));
      continue;
    }
    if (!isRecord(params)) {
      problems.push(at(item, `${modelName}: litellm_params is missing or not a mapping`));
      continue;
    }
    models.push({ modelName, litellmParams: maskSecretParams(params), modelInfo: isRecord(info) ? info : undefined, line: lineOf(item) });
  }
  return models;
}

/** Fallbacks and aliases of a `router_settings` / `litellm_settings` mapping (also as stored in LiteLLM_Config). */
export function readRouting(settings: Record<string, unknown>, name: string, problems: string[]): RoutingSettings {
  return {
    fallbacks: readFallbacks(settings.fallbacks, `${name}.fallbacks`, problems),
    contextWindowFallbacks: readFallbacks(settings.context_window_fallbacks, `${name}.context_window_fallbacks`, problems),
    modelGroupAlias: readAliases(settings.model_group_alias, `${name}.model_group_alias`, problems),
  };
}

/** LiteLLM writes `[{group: [fallback, …]}, …]`; a single mapping or a lone string target is taken too. */
function readFallbacks(value: unknown, name: string, problems: string[]): FallbackRule[] {
  if (value === undefined || value === null) return [];
  const maps = Array.isArray(value) ? value : [value];
  const rules: FallbackRule[] = [];
  for (const map of maps) {
    if (!isRecord(map)) {
      problems.push(`${name}: ${JSON.stringify(map)} is not a mapping of a group to its fallbacks`);
      continue;
    }
    for (const [from, to] of Object.entries(map)) {
      const targets = typeof to === 'string' ? [to] : Array.isArray(to) ? to.filter((t): t is string => typeof t === 'string') : [];
      if (targets.length === 0) problems.push(`${name}: ${from} has no fallback groups`);
      else rules.push({ from, to: targets });
    }
  }
  return rules;
}

/** `alias: group` or `alias: {model: group, hidden: true}`. */
function readAliases(value: unknown, name: string, problems: string[]): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problems.push(`${name} is not a mapping`);
    return {};
  }
  const aliases: Record<string, string> = {};
  for (const [alias, target] of Object.entries(value)) {
    const group = typeof target === 'string' ? target : isRecord(target) && typeof target.model === 'string' ? target.model : undefined;
    if (group) aliases[alias] = group;
    else problems.push(`${name}: ${alias} does not name a model group`);
  }
  return aliases;
}

function readBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

function describeSecret(value: unknown): SecretSetting {
  if (value === undefined || value === null || value === '') return { source: 'unset' };
  const name = envReference(value);
  return name ? { source: 'env', name } : { source: 'literal' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
