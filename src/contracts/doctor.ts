import { z } from 'zod';
import { defineContract } from './define.js';

/** Every check /doctor runs, by id (the README lists what each looks at). */
export const CHECK_IDS = [
  'proxy-live',
  'proxy-db',
  'provider-unreadable',
  'admin-user',
  'model-name',
  'fallback-dangling',
  'model-limits',
  'vision-max-tokens',
  'boot-services',
  'smoke',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export const SEVERITIES = ['error', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * One thing /doctor found — or, with `checked: false`, a check that could not run (the message says
 * why and what to configure). This is the shape `labops exec "/doctor" --json` prints in
 * `data.findings`: scripts rely on it.
 */
export const findingSchema = z.object({
  check: z.enum(CHECK_IDS),
  /** what it is about: a LiteLLM model_name, a user id, a unit, a setting */
  subject: z.string(),
  severity: z.enum(SEVERITIES),
  message: z.string(),
  /** the command line that fixes it, or null */
  repair: z.string().nullable(),
  /** false: the check could not run */
  checked: z.boolean(),
  /** the host whose worker ran the check */
  host: z.string(),
});
export type Finding = z.infer<typeof findingSchema>;

export const doctorResultSchema = z.object({
  host: z.string(),
  /** the LiteLLM checks ran here (this is `litellm.host`) */
  litellm: z.boolean(),
  /** the checks that ran, in whole or in part */
  ran: z.array(z.enum(CHECK_IDS)),
  findings: z.array(findingSchema),
  stats: z.object({
    /** rows of LiteLLM_ProxyModelTable read */
    dbModels: z.number(),
    /** stored string values decrypted */
    decrypted: z.number(),
    decryptMs: z.number(),
    elapsedMs: z.number(),
  }),
});
export type DoctorResult = z.infer<typeof doctorResultSchema>;

/** Read-only checks of one host: its boot services, and on the proxy's host every LiteLLM check. */
export const doctorRun = defineContract({
  kind: 'doctor.run',
  description: 'read-only checks of the LiteLLM proxy, its database and config.yaml, and the host',
  payload: z.strictObject({}),
  result: doctorResultSchema,
  timeoutMs: 120_000,
});

/**
 * The `/repair` command lines findings point at. Part of them are repairs labops does not have yet:
 * the bot offers a button only for the kinds `/repair` accepts (REPAIR_KINDS).
 */
export const repairLines = {
  encryptedProviders: () => repairLine('encrypted-providers'),
  adminUser: () => repairLine('admin-user'),
  modelLimits: () => repairLine('model-limits'),
  rename: (from: string, to: string) => repairLine('rename', { model: from, to }),
  bootServices: (host: string) => repairLine('boot-services', { host }),
};

export function repairLine(kind: string, options: Record<string, string> = {}): string {
  return ['/repair', `kind:${kind}`, ...Object.entries(options).map(([k, v]) => `${k}:${quoted(v)}`)].join(' ');
}

/** `/repair kind:x host:y` → its options; null for anything else. */
export function parseRepairLine(line: string): Record<string, string> | null {
  const m = /^\/repair\s+(.*)$/s.exec(line.trim());
  if (!m) return null;
  const options: Record<string, string> = {};
  for (const token of m[1]!.match(/[A-Za-z][\w-]*:(?:"[^"]*"|\S+)/g) ?? []) {
    const at = token.indexOf(':');
    options[token.slice(0, at)] = token.slice(at + 1).replace(/^"(.*)"$/s, '$1');
  }
  return typeof options.kind === 'string' ? options : null;
}

function quoted(value: string): string {
  return /[\s"']/.test(value) ? `"${value.replace(/"/g, "'")}"` : value;
}
