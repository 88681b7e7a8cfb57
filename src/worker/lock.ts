import type { Redis } from '../redis/connection.js';
import { sleep } from '../core/sleep.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** Extends the lock only while `owner` holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock only while `owner` holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Takes a free lock, or takes back one the same owner held (a job re-run after its worker died). */
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if not current or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ''
end
return current`;

export interface LockOptions {
  redis: Redis;
  key: string;
  /** the job id: a re-run of the same job takes its lock back at once */
  owner: string;
  /** how long the lock outlives a holder that stopped renewing it (a crashed worker) */
  ttlMs: number;
  signal: AbortSignal;
  logger: Logger;
  /** called once, with the holder, when the lock is held by someone else */
  onWait?: (holder: string) => void;
  pollMs?: number;
}

export interface HeldLock {
  key: string;
  owner: string;
  /** whether the lock was still ours at the last renewal */
  readonly held: boolean;
  release(): Promise<void>;
}

/**
 * A Redis lock owned by a job id, with a TTL the holder renews (every third of it). A holder that
 * crashed stops renewing, so its lock lapses after the TTL; the same job re-run takes it back at
 * once. Waits (polling, abortable) while another owner holds it.
 */
export async function acquireLock(opts: LockOptions): Promise<HeldLock> {
  const { redis, key, owner, ttlMs, signal } = opts;
  let told = false;
  for (;;) {
    signal.throwIfAborted();
    const current = (await redis.eval(ACQUIRE, 1, key, owner, String(ttlMs))) as string;
    if (current === '') break;
    if (!told) {
      told = true;
      opts.onWait?.(current);
    }
    await sleep(opts.pollMs ?? 200, signal);
  }

  let held = true;
  const timer = setInterval(() => {
    redis.eval(RENEW, 1, key, owner, String(ttlMs)).then(
      (ok) => {
        if (Number(ok) === 0 && held) {
          held = false;
          opts.logger.warn({ key, owner }, 'lost a model lock before releasing it');
        }
      },
      (err: unknown) => opts.logger.warn({ key, owner, err: errorMessage(err) }, 'could not renew a model lock'),
    );
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();

  return {
    key,
    owner,
    get held() {
      return held;
    },
    async release() {
      clearInterval(timer);
      held = false;
      await redis.eval(RELEASE, 1, key, owner).catch((err: unknown) => opts.logger.warn({ key, owner, err: errorMessage(err) }, 'could not release a model lock; it lapses after its TTL'));
    },
  };
}

/** Takes several locks in one order (sorted by key), so two jobs that need the same pair never deadlock. */
export async function acquireLocks(keys: readonly string[], opts: Omit<LockOptions, 'key'>): Promise<HeldLock[]> {
  const held: HeldLock[] = [];
  try {
    for (const key of [...new Set(keys)].sort()) held.push(await acquireLock({ ...opts, key }));
    return held;
  } catch (err) {
    await releaseAll(held);
    throw err;
  }
}

export async function releaseAll(locks: readonly HeldLock[]): Promise<void> {
  await Promise.all([...locks].reverse().map((l) => l.release()));
}
