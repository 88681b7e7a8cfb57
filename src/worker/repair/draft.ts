import { createHash } from 'node:crypto';
import type { CheckId } from '../../contracts/doctor.js';
import type { RepairChange } from '../../contracts/repair-litellm.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { redact } from '../../core/redact.js';
import { decryptNested, looksLikeCiphertext, type LiteLLMKeys } from '../../litellm/crypto.js';
import { isSecretParam } from '../../litellm/secret-params.js';
import type { RawRow, RepairTable } from './state.js';

/** One row written by a repair: its before-image (null: inserted) and after-image (null: deleted). */
export interface RowEdit {
  table: RepairTable;
  key: string;
  /** how outputs name the row (default: the key) */
  label?: string;
  before: RawRow | null;
  after: RawRow | null;
}

/** config.yaml before and after, as whole texts. */
export interface FileEdit {
  path: string;
  before: string;
  after: string;
}

/** What a repair would do, computed from what it read; applying it is the same for every kind. */
export interface Draft {
  changes: RepairChange[];
  skipped: { subject: string; reason: string }[];
  rows: RowEdit[];
  file: FileEdit | null;
  /** model_names to send a request to after the apply */
  models: string[];
  /** the /doctor checks that must be green after the apply */
  checks: CheckId[];
  /** undo: why it cannot be done */
  refused?: string;
}

/** Columns whose change is bookkeeping, not something to show. */
const QUIET = new Set(['updated_at', 'updated_by', 'created_at']);
/** JSON columns shown key by key. */
const NESTED = new Set(['litellm_params', 'model_info', 'param_value', 'metadata']);

/**
 * Every column (and key of a JSON column) that differs between two images of a row, as shown:
 * secrets `<secret>`, values that decrypt as their plaintext, values that do not `<unreadable N B>`.
 */
export function diffRow(edit: RowEdit, keys: LiteLLMKeys | null, rule?: string): RepairChange[] {
  const changes: RepairChange[] = [];
  const columns = new Set([...Object.keys(edit.before ?? {}), ...Object.keys(edit.after ?? {})]);
  const base = { table: edit.table, subject: edit.label ?? edit.key, ...(rule ? { rule } : {}) };
  for (const column of columns) {
    if (QUIET.has(column)) continue;
    const before = edit.before?.[column];
    const after = edit.after?.[column];
    if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) continue;
    const b = asObject(before);
    const a = asObject(after);
    if (NESTED.has(column) && (b || a)) {
      for (const k of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
        if (canonicalJson(b?.[k] ?? null) === canonicalJson(a?.[k] ?? null)) continue;
        changes.push({ ...base, field: `${column}.${k}`, before: shown(k, b?.[k], keys), after: shown(k, a?.[k], keys) });
      }
    } else {
      changes.push({ ...base, field: column, before: shown(column, before, keys), after: shown(column, after, keys) });
    }
  }
  return changes;
}

/** A JSON column as an object (also a JSONB string holding a JSON object). */
function asObject(value: unknown): Record<string, unknown> | null {
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      return isRecord(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }
  return isRecord(value) ? value : null;
}

/** One value as every output may show it. */
export function shown(field: string, value: unknown, keys: LiteLLMKeys | null): string | null {
  if (value === undefined || value === null) return null;
  if (isSecretParam(field)) return '<secret>';
  if (typeof value === 'string') {
    if (!looksLikeCiphertext(value)) return redact(value);
    const read = keys ? decryptNested(value, keys) : null;
    if (read?.ok && read.layers === 1 && !read.stillCiphertext) return redact(read.plaintext);
    return `<unreadable ${value.length} B>`;
  }
  return redact(JSON.stringify(value));
}

/** What apply checks still holds: the changes as shown, and every before-image (not the new ciphertexts, whose nonces differ each time). */
export function digestOf(draft: Draft): string {
  const rows = draft.rows.map((r) => [r.table, r.key, r.before]);
  const file = draft.file ? sha256(draft.file.before) : null;
  return sha256(canonicalJson({ changes: draft.changes, rows, file, refused: draft.refused ?? null }));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
