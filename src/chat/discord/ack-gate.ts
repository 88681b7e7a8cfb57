/**
 * Acknowledgements first: under a burst of interactions, the work of the ones already
 * acknowledged waits (a little) until the others are acknowledged too, so that the slow part of
 * one command never delays the 3-second acknowledgement of another.
 */
export class AckGate {
  private pending = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly maxWaitMs = 100) {}

  /** Runs an acknowledgement, counted while in flight. */
  async ack<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await fn();
    } finally {
      this.pending--;
      if (this.pending === 0) this.release();
    }
  }

  /** Resolves when no acknowledgement is in flight, or after `maxWaitMs`. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, this.maxWaitMs);
      timer.unref();
      this.waiters.push(done);
    });
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
