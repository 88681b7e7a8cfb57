import { UserError, type UserErrorKind } from '../core/errors.js';

/**
 * A UserError thrown in a processor travels to the bot as the job's failedReason. This marks it so
 * the bot can tell the user the worker's message instead of apologising for an unexpected error.
 */
const MARK = 'labops-user-error:';

export function encodeUserError(err: UserError): string {
  return MARK + JSON.stringify({ kind: err.kind, message: err.message, hint: err.hint });
}

export function decodeUserError(reason: string | undefined | null): UserError | null {
  if (!reason?.startsWith(MARK)) return null;
  try {
    const { kind, message, hint } = JSON.parse(reason.slice(MARK.length)) as { kind: UserErrorKind; message: string; hint?: string };
    return new UserError(kind, message, hint);
  } catch {
    return null;
  }
}
