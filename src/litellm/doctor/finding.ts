import type { CheckId, Finding, Severity } from '../../contracts/doctor.js';

/** A finding before the worker stamps its host on it. */
export type Found = Omit<Finding, 'host'>;

export function found(check: CheckId, subject: string, severity: Severity, message: string, repair: string | null = null): Found {
  return { check, subject, severity, message, repair, checked: true };
}

/** A check that could not run: always an error, so /doctor never reads as "all good" without it. */
export function notChecked(check: CheckId, subject: string, message: string): Found {
  return { check, subject, severity: 'error', message, repair: null, checked: false };
}
