import type { Redis } from '../../redis/connection.js';
import { z } from 'zod';
import { ROLES } from '../../config/schema.js';
import type { MessageRef } from './discord-rest.js';

const messageRef = z.object({ channelId: z.string(), messageId: z.string() });

const pendingSchema = z.object({
  id: z.string(),
  command: z.string(),
  /** the options as given (dispatch checks them again) */
  raw: z.record(z.string(), z.unknown()),
  /** who asked, as established when they asked */
  caller: z.object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES).nullable(),
    adapter: z.enum(['shell', 'exec', 'discord']),
    channelId: z.string(),
    inDM: z.boolean(),
  }),
  request: z.object({
    title: z.string(),
    detail: z.string().optional(),
    confirmLabel: z.string(),
    danger: z.boolean().optional(),
    rule: z.string().optional(),
  }),
  guildId: z.string().nullable(),
  channelId: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  /** a second member with the capability must confirm (`discord.twoPersonConfirm`) */
  twoPerson: z.boolean(),
  /** where the prompt is, once shown */
  message: messageRef.optional(),
});

/** A command waiting for its Confirm button: all that is needed to run it again, confirmed, after a restart. */
export type PendingConfirmation = z.infer<typeof pendingSchema>;

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
    if (!result) throw new Error('the claim transaction was aborted');
    const [[readError, fields], [delError, deleted]] = result as [[Error | null, Record<string, string>], [Error | null, number]];
    if (readError ?? delError) throw readError ?? delError;
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

/** The stored state, checked: a hash that does not parse is treated as gone, never cast. */
function parse(fields: Record<string, string> | null | undefined): PendingConfirmation | null {
  if (!fields?.data) return null;
  try {
    const parsed = pendingSchema.safeParse({ ...JSON.parse(fields.data), ...(fields.message ? { message: JSON.parse(fields.message) } : {}) });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
