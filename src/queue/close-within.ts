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
