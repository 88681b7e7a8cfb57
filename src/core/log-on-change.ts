import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface ChangedErrors {
  /** logs the error unless it is the same as the last one */
  onError(err: unknown): void;
  /** the thing works again: the next error is logged, and `recovered` (if given) once now */
  reset(): void;
  /** whether the last call was an error */
  readonly failing: boolean;
}

/**
 * A failure that repeats — a reconnect loop, a check that runs every few seconds — is logged once,
 * and again only when it changes; `recovered` is logged once when it works again.
 */
export function logChangedErrors(
  logger: Logger,
  msg: string,
  context: Record<string, unknown> = {},
  opts: { level?: 'warn' | 'error' | 'info'; recovered?: string } = {},
): ChangedErrors {
  let last = '';
  return {
    onError(err) {
      const message = errorMessage(err);
      if (message === last) return;
      last = message;
      logger[opts.level ?? 'warn']({ ...context, err: message }, msg);
    },
    reset() {
      if (last && opts.recovered) logger.info(context, opts.recovered);
      last = '';
    },
    get failing() {
      return last !== '';
    },
  };
}
