import { redact } from './redact.js';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** pino's own fields, and the logger's name: not worth a word on a terminal */
const QUIET = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
const MAX_VALUE = 160;
const MAX_LINE = 600;

/**
 * One pino JSON record as a line for a person: `warn: <msg> (<key>=<value> …)`, redacted, on one
 * line (an error shows its message, not its stack).
 */
export function formatLogLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return oneLine(redact(json.trim()));
  }
  const level = LEVELS[Number(record.level)] ?? 'log';
  const details = Object.entries(record)
    .filter(([key, value]) => !QUIET.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${describe(value)}`);
  const line = `${level}: ${typeof record.msg === 'string' ? record.msg : ''}${details.length ? ` (${details.join(' ')})` : ''}`;
  const flat = oneLine(redact(line));
  return flat.length > MAX_LINE ? `${flat.slice(0, MAX_LINE - 1)}…` : flat;
}

function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = /[\s"=()]/.test(value) || value === '' ? JSON.stringify(value) : value;
  else if (isError(value)) text = JSON.stringify(value.message);
  else text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function isError(value: unknown): value is { message: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && ('stack' in value || 'type' in value);
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
