/**
 * At most one call of `emit` per `intervalMs`, always with the newest value: a burst of progress
 * updates becomes one edit now and one with the last value when the interval has passed.
 */
export function throttleLatest<T>(intervalMs: number, emit: (value: T) => void | Promise<void>): { push(value: T): void; flush(): Promise<void>; cancel(): void } {
  let last = 0;
  let pending: { value: T } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  const fire = () => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    last = Date.now();
    inFlight = inFlight.then(() => emit(value)).catch(() => undefined);
  };

  return {
    push(value) {
      pending = { value };
      if (timer) return;
      const wait = Math.max(0, last + intervalMs - Date.now());
      if (wait === 0) fire();
      else timer = setTimeout(fire, wait);
    },
    /** waits for edits already sent; drops a pending one (the final reply replaces it) */
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
      await inFlight;
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
