import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`; an abort rejects with the signal's own reason. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
}
