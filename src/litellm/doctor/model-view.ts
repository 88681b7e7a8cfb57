import type { ConfigModel } from '../config-file.js';
import type { DbModel } from '../db.js';

/** A deployment as the checks see it, from config.yaml or from the DB. */
export interface ModelView {
  name: string;
  source: 'config' | 'db';
  /** "config.yaml line 12", "DB model_id db-qwen-0001" */
  where: string;
  /** plain (config.yaml) or as the router reads them (DB); null for a DB row that could not be decrypted */
  params: Record<string, unknown> | null;
  modelInfo: Record<string, unknown>;
}

export function configView(m: ConfigModel): ModelView {
  return { name: m.modelName, source: 'config', where: `config.yaml line ${m.line}`, params: m.litellmParams, modelInfo: m.modelInfo ?? {} };
}

/** `effective`: the params as the router reads them; null when they could not be decrypted. */
export function dbView(row: DbModel, effective: Record<string, unknown> | null): ModelView {
  return { name: row.modelName, source: 'db', where: `DB model_id ${row.modelId}`, params: effective, modelInfo: row.modelInfo ?? {} };
}
