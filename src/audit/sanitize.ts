import { redact } from '../core/redact.js';
import type { AuditEntry } from './entry.js';

/** Longest text kept per field; the audit log is for people, not a dump of whatever was typed. */
export const AUDIT_LIMITS = { name: 200, text: 2_000, argValue: 1_000, argsBytes: 16_000, detailBytes: 2_000_000 } as const;

/**
 * What PostgreSQL will store: no secret (every string is redacted, whichever field it is in), no NUL (text and jsonb refuse it), no lone surrogate (jsonb refuses
 * it), and nothing longer than the limits. Applied to every string of a row, nested ones included.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = redact(value).replace(/\u0000/g, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
  if (clean.length <= max) return clean;
  return `${clean.slice(0, max)}… (${clean.length - max} more characters)`;
}

export function storableJson<T>(value: T, maxString: number): T {
  if (typeof value === 'string') return storableText(value, maxString) as T;
  if (Array.isArray(value)) return value.map((v) => storableJson(v, maxString)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k, AUDIT_LIMITS.name), storableJson(v, maxString)])) as T;
  }
  return value;
}

export function sanitizeEntry(entry: AuditEntry): AuditEntry {
  const name = (s: string) => storableText(s, AUDIT_LIMITS.name);
  const nullable = (s: string | null, max: number) => (s === null ? null : storableText(s, max));
  let detail = entry.detail === undefined ? undefined : storableJson(entry.detail, Number.MAX_SAFE_INTEGER);
  if (detail !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(detail) ?? '');
    if (bytes > AUDIT_LIMITS.detailBytes) detail = { omitted: `detail of ${bytes} bytes is over the audit log's ${AUDIT_LIMITS.detailBytes} bytes` };
  }
  return {
    ...entry,
    actorId: name(entry.actorId),
    actorName: name(entry.actorName),
    role: nullable(entry.role, AUDIT_LIMITS.name),
    adapter: name(entry.adapter),
    channel: nullable(entry.channel, AUDIT_LIMITS.name),
    command: name(entry.command),
    args: cappedArgs(storableJson(entry.args ?? {}, AUDIT_LIMITS.argValue)),
    host: nullable(entry.host, AUDIT_LIMITS.name),
    jobId: nullable(entry.jobId, AUDIT_LIMITS.name),
    outcome: name(entry.outcome),
    error: nullable(entry.error, AUDIT_LIMITS.text),
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Arguments of one command or job, at most `argsBytes` of JSON: a payload of thousands of keys is summarised, not stored. */
function cappedArgs(args: Record<string, unknown>): Record<string, unknown> {
  const bytes = Buffer.byteLength(JSON.stringify(args) ?? '');
  return bytes <= AUDIT_LIMITS.argsBytes ? args : { omitted: `arguments of ${bytes} bytes are over the audit log's ${AUDIT_LIMITS.argsBytes} bytes` };
}
