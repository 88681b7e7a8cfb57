import type { Logger } from './logger.js';

/**
 * BullMQ emits the same connection error on every reconnect attempt: this logs an error once,
 * and again only when it changes. Call `reset` when the connection is back.
 */
export function logChangedErrors(logger: Logger, msg: string, context: Record<string, unknown> = {}): { onError(err: Error): void; reset(): void } {
  let last = '';
  return {
    onError(err) {
      if (err.message === last) return;
      last = err.message;
      logger.warn({ ...context, err: err.message }, msg);
    },
    reset() {
      last = '';
    },
  };
}

/**
 * BullMQ's `close()` waits for Redis, and while Redis is unreachable it does not return. A process
 * that is shutting down gives up after `ms`; its connections are dropped with it.
 */
export async function closeWithin(close: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    close().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return finished;
}
