import type { Redis } from 'ioredis';
import type { Caller, ConfirmRequest } from '../command.js';
import type { MessageRef } from './discord-rest.js';

/** A command waiting for its Confirm button: all that is needed to run it again, confirmed, after a restart. */
export interface PendingConfirmation {
  id: string;
  command: string;
  /** the options as given (dispatch checks them again) */
  raw: Record<string, unknown>;
  /** who asked, as established when they asked */
  caller: Caller;
  request: ConfirmRequest;
  guildId: string | null;
  channelId: string;
  createdAt: number;
  expiresAt: number;
  /** a second member with the capability must confirm (`discord.twoPersonConfirm`) */
  twoPerson: boolean;
  /** where the prompt is, once shown */
  message?: MessageRef;
}

/**
 * Pending confirmations in Redis under the config's prefix: one hash per confirmation (kept a
 * while past its expiry so a late press can still be told it expired) and a sorted set of expiry
 * times that the expiry sweep reads. `claim` is atomic: of two presses (or a press and the
 * sweep), exactly one gets the confirmation.
 */
export class ConfirmStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** how long the state outlives its expiry */
    private readonly graceMs = 60 * 60_000,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:discord:confirm:${id}`;
  }

  private get expiryKey(): string {
    return `${this.prefix}:discord:confirm-expiry`;
  }

  async create(pending: PendingConfirmation): Promise<void> {
    const ttl = Math.max(1_000, pending.expiresAt - Date.now() + this.graceMs);
    await this.redis.multi().hset(this.key(pending.id), 'data', JSON.stringify(pending)).pexpire(this.key(pending.id), ttl).zadd(this.expiryKey, pending.expiresAt, pending.id).exec();
  }

  /** Records where the prompt was shown (for the expiry sweep, which has no interaction to answer). */
  async setMessage(id: string, message: MessageRef): Promise<void> {
    // only while it still exists: a fast press may already have claimed it
    const script = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], 'message', ARGV[1]) end return 0";
    await this.redis.eval(script, 1, this.key(id), JSON.stringify(message));
  }

  async get(id: string): Promise<PendingConfirmation | null> {
    return parse(await this.redis.hgetall(this.key(id)));
  }

  /** Takes the confirmation for this caller alone; null when it is gone or someone else took it. */
  async claim(id: string): Promise<PendingConfirmation | null> {
    const result = await this.redis.multi().hgetall(this.key(id)).del(this.key(id)).zrem(this.expiryKey, id).exec();
    if (!result) return null;
    const [[, fields], [, deleted]] = result as [[Error | null, Record<string, string>], [Error | null, number]];
    return deleted === 1 ? parse(fields) : null;
  }

  /** Ids whose expiry has passed, oldest first. */
  async due(now = Date.now(), limit = 50): Promise<string[]> {
    return await this.redis.zrangebyscore(this.expiryKey, '-inf', now, 'LIMIT', 0, limit);
  }

  /** Forgets an id in the expiry set (its state is already gone). */
  async drop(id: string): Promise<void> {
    await this.redis.zrem(this.expiryKey, id);
  }
}

function parse(fields: Record<string, string> | null | undefined): PendingConfirmation | null {
  if (!fields?.data) return null;
  try {
    const pending = JSON.parse(fields.data) as PendingConfirmation;
    if (fields.message) pending.message = JSON.parse(fields.message) as MessageRef;
    return pending;
  } catch {
    return null;
  }
}
