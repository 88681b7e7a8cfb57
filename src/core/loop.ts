/** A periodic task: one run at a time, the next `intervalMs` after the last one ended; `stop` waits for the run in progress. */
export interface Loop {
  stop(): Promise<void>;
}

export function runEvery(intervalMs: number, task: () => Promise<void>, opts: { immediately?: boolean; onError?: (err: unknown) => void } = {}): Loop {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = () => {
    running = task()
      .catch((err: unknown) => opts.onError?.(err))
      .finally(() => {
        running = null;
        schedule();
      });
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(run, intervalMs);
    timer.unref();
  };
  if (opts.immediately) run();
  else schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
