import type { Logger } from './logger.js';

/**
 * Runs the closers on SIGINT/SIGTERM (or when asked), once, within a deadline; a second signal
 * or the deadline exits at once.
 */
export function onShutdown(logger: Logger, deadlineMs: number, closers: (() => Promise<void>)[]): (code?: number) => Promise<never> {
  let closing = false;
  const shutdown = async (code = 0): Promise<never> => {
    if (closing) process.exit(code || 1);
    closing = true;
    const timer = setTimeout(() => {
      logger.error(`shutdown took longer than ${Math.round(deadlineMs / 1000)} s; exiting`);
      process.exit(code || 1);
    }, deadlineMs);
    timer.unref();
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err }, 'error while shutting down');
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  return shutdown;
}
