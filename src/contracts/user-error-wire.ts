import { z } from 'zod';
import { UserError } from '../core/errors.js';

/**
 * A UserError thrown in a processor travels to the bot as the job's failedReason. This marks it so
 * the bot can tell the user the worker's message instead of apologising for an unexpected error.
 */
const MARK = 'labops-user-error:';

const wire = z.object({
  kind: z.enum(['usage', 'permission', 'unavailable', 'failed']),
  message: z.string(),
  hint: z.string().optional(),
});

export function encodeUserError(err: UserError): string {
  return MARK + JSON.stringify({ kind: err.kind, message: err.message, ...(err.hint ? { hint: err.hint } : {}) });
}

/** The UserError a failedReason carries, or null when it carries none (or one that does not parse). */
export function decodeUserError(reason: string | undefined | null): UserError | null {
  if (!reason?.startsWith(MARK)) return null;
  try {
    const parsed = wire.safeParse(JSON.parse(reason.slice(MARK.length)));
    return parsed.success ? new UserError(parsed.data.kind, parsed.data.message, parsed.data.hint) : null;
  } catch {
    return null;
  }
}
