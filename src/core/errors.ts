/**
 * Errors are split in two: a UserError is told to the user as it is (what happened and what
 * to do); anything else is logged with an id and the user gets an apology that quotes the id.
 */
export type UserErrorKind =
  /** bad command line, unknown option, host or model: exec exits 2 */
  | 'usage'
  /** the caller may not do this: exec exits 2, the denial is audited */
  | 'permission'
  /** a dependency (Redis, a worker, LiteLLM) is down or too slow: exec exits 1 */
  | 'unavailable'
  /** the command ran and did not succeed: exec exits 1 */
  | 'failed';

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly kind: UserErrorKind,
    message: string,
    /** a line that says what to do about it */
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string, hint?: string) => new UserError('usage', message, hint);
export const permissionError = (message: string, hint?: string) => new UserError('permission', message, hint);
export const unavailableError = (message: string, hint?: string) => new UserError('unavailable', message, hint);
export const failedError = (message: string, hint?: string) => new UserError('failed', message, hint);

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
