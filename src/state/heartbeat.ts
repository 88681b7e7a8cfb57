import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';

export interface Heartbeat {
  host: string;
  version: string;
  pid: number;
  startedAt: number;
  lastBeat: number;
  intervalMs: number;
  /** set by a worker that shut down cleanly */
  stoppedAt?: number;
  /** whether the worker checks job signatures ("off": a one-host lab without a key); what it says, not proof */
  jobSigning?: 'on' | 'off';
  /** the ids (never the keys) of the keys it accepts: "current" or "current+previous" */
  jobKeys?: string;
}

/** A host is offline when its worker has missed three beats. */
export const MISSED_BEATS = 3;

export const heartbeatKey = (prefix: string, host: string) => key(prefix, 'heartbeat', host);
const hbKey = heartbeatKey;

/** The worker's side: a hash per host, written every interval; kept a week so /status can say how long it has been gone. */
export function startHeartbeat(
  redis: Redis,
  prefix: string,
  beat: Omit<Heartbeat, 'lastBeat'>,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  const write = async () => {
    try {
      await redis
        .multi()
        .hset(hbKey(prefix, beat.host), { ...withoutUndefined(beat), lastBeat: Date.now() })
        .hdel(hbKey(prefix, beat.host), 'stoppedAt')
        .pexpire(hbKey(prefix, beat.host), 7 * 24 * 3600 * 1000)
        .exec();
    } catch (err) {
      onError(err);
    }
  };
  void write();
  const timer = setInterval(() => void write(), beat.intervalMs);
  timer.unref();
  return {
    /** a clean shutdown says so at once, rather than after three missed beats */
    async stop() {
      clearInterval(timer);
      await redis.hset(hbKey(prefix, beat.host), 'stoppedAt', Date.now()).catch(onError);
    },
  };
}

export async function readHeartbeat(redis: Redis, prefix: string, host: string): Promise<Heartbeat | null> {
  return parseHeartbeat(await redis.hgetall(hbKey(prefix, host)));
}

/** The heartbeat hash as Redis returns it (HGETALL), or null when there is none. */
export function parseHeartbeat(raw: Record<string, string>): Heartbeat | null {
  if (!raw.host) return null;
  return {
    host: raw.host,
    version: raw.version ?? '?',
    pid: Number(raw.pid),
    startedAt: Number(raw.startedAt),
    lastBeat: Number(raw.lastBeat),
    intervalMs: Number(raw.intervalMs),
    ...(raw.stoppedAt ? { stoppedAt: Number(raw.stoppedAt) } : {}),
    ...(raw.jobSigning === 'on' || raw.jobSigning === 'off' ? { jobSigning: raw.jobSigning } : {}),
    ...(raw.jobKeys && /^[0-9a-f]{8}(\+[0-9a-f]{8})?$/.test(raw.jobKeys) ? { jobKeys: raw.jobKeys } : {}),
  };
}

export function isOnline(hb: Heartbeat | null, now = Date.now()): boolean {
  return hb !== null && hb.stoppedAt === undefined && now - hb.lastBeat <= MISSED_BEATS * hb.intervalMs;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
