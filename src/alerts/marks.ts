import { z } from 'zod';
import type { Redis } from '../redis/connection.js';
import { key } from '../redis/connection.js';
import type { Action, Reply } from '../core/reply.js';
import { alertKeyString, parseAlertKey, type AlertKey } from './alert-key.js';
import type { AlertStatus, Transition } from './state-machine.js';

/**
 * What people did to an alert, and what it last said: kept in Redis beside the alert's state, so
 * acknowledgements and silences survive restarts of the bot and the worker.
 *
 * - an acknowledgement belongs to one firing (its `firingSince`): the next firing is not acknowledged;
 * - a silence belongs to the key, until its end, whatever the alert does meanwhile;
 * - the current notice is the rule's latest text for the key (posted or held back by a silence), which
 *   the bot re-renders when someone acknowledges or silences it, or when a silence ends.
 */
export interface Acknowledgement {
  /** display name, and the caller id (`discord:<user id>`, `local:<user>`) */
  by: string;
  byId: string;
  at: number;
  /** the firing it acknowledges */
  firingSince: number;
}

export interface Silence {
  until: number;
  by: string;
  byId: string;
  at: number;
}

export interface CurrentNotice {
  reply: Reply;
  /** the rule's own buttons while the alert fires ("Stop idle models", "Repair boot services") */
  actions: Action[];
  status: AlertStatus;
  transition: Transition;
  firingSince: number | null;
  at: number;
}

/** Where marks live: Redis in the processes, memory in unit tests and the device check. */
export interface AlertMarks {
  ack(key: AlertKey): Promise<Acknowledgement | null>;
  setAck(key: AlertKey, ack: Acknowledgement): Promise<void>;
  /** the silence in force now, or null */
  silence(key: AlertKey, now?: number): Promise<Silence | null>;
  setSilence(key: AlertKey, silence: Silence): Promise<void>;
  /** ends a silence at once; returns it, or null when there was none */
  clearSilence(key: AlertKey): Promise<Silence | null>;
  /** silences in force, by key string */
  silences(now?: number): Promise<Map<string, Silence>>;
  /** keys whose silence has ended and not yet been claimed */
  endedSilences(now?: number): Promise<AlertKey[]>;
  /** takes an ended silence for this caller alone (of two bots, one posts the alert's state) */
  claimEnded(key: AlertKey, now?: number): Promise<boolean>;
  current(key: AlertKey): Promise<CurrentNotice | null>;
  setCurrent(key: AlertKey, notice: CurrentNotice): Promise<void>;
}

const MARK_TTL_MS = 30 * 24 * 3600_000;

const ackSchema = z.object({ by: z.string(), byId: z.string(), at: z.number(), firingSince: z.number() });
const silenceSchema = z.object({ until: z.number(), by: z.string(), byId: z.string(), at: z.number() });
const fieldSchema = z.object({ name: z.string(), value: z.string(), inline: z.boolean().optional() });
const blockSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('heading'), text: z.string() }),
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('fields'), fields: z.array(fieldSchema) }),
  z.object({ kind: z.literal('table'), title: z.string().optional(), columns: z.array(z.string()), rows: z.array(z.array(z.string())) }),
]);
const actionSchema = z.object({
  label: z.string(),
  command: z.string(),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  style: z.enum(['primary', 'secondary', 'danger']).optional(),
});
const replySchema = z.object({
  outcome: z.enum(['ok', 'failed', 'declined', 'usage', 'denied', 'error']),
  tone: z.enum(['ok', 'info', 'warn', 'error']),
  title: z.string(),
  blocks: z.array(blockSchema),
  hint: z.string().optional(),
  actions: z.array(actionSchema).optional(),
  data: z.unknown().optional(),
});
const currentSchema = z.object({
  reply: replySchema,
  actions: z.array(actionSchema),
  status: z.enum(['inactive', 'pending', 'firing', 'resolved']),
  transition: z.enum(['pending', 'cancelled', 'firing', 'repeat', 'resolved']),
  firingSince: z.number().nullable(),
  at: z.number(),
});

function parse<T>(schema: z.ZodType<T>, raw: string | null): T | null {
  if (!raw) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const ackKey = (prefix: string, k: AlertKey) => key(prefix, 'alert-ack', k.host, k.subject, k.kind);
export const silenceKey = (prefix: string, k: AlertKey) => key(prefix, 'alert-silence', k.host, k.subject, k.kind);
export const noticeKey = (prefix: string, k: AlertKey) => key(prefix, 'alert-notice', k.host, k.subject, k.kind);
/** a sorted set: alert key string → when its silence ends */
export const silencesKey = (prefix: string) => key(prefix, 'alert-silences');

export class RedisAlertMarks implements AlertMarks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async ack(k: AlertKey): Promise<Acknowledgement | null> {
    return parse(ackSchema, await this.redis.get(ackKey(this.prefix, k)));
  }

  async setAck(k: AlertKey, ack: Acknowledgement): Promise<void> {
    await this.redis.set(ackKey(this.prefix, k), JSON.stringify(ack), 'PX', MARK_TTL_MS);
  }

  async silence(k: AlertKey, now = Date.now()): Promise<Silence | null> {
    const s = parse(silenceSchema, await this.redis.get(silenceKey(this.prefix, k)));
    return s && s.until > now ? s : null;
  }

  async setSilence(k: AlertKey, s: Silence): Promise<void> {
    // the record outlives its end a little, so that /alerts can tell who silenced what until the end is claimed
    const ttl = Math.max(1_000, s.until - Date.now() + 3_600_000);
    await this.redis.multi().set(silenceKey(this.prefix, k), JSON.stringify(s), 'PX', ttl).zadd(silencesKey(this.prefix), s.until, alertKeyString(k)).exec();
  }

  async clearSilence(k: AlertKey): Promise<Silence | null> {
    const result = await this.redis.multi().get(silenceKey(this.prefix, k)).del(silenceKey(this.prefix, k)).zrem(silencesKey(this.prefix), alertKeyString(k)).exec();
    const raw = result?.[0]?.[1];
    const s = parse(silenceSchema, typeof raw === 'string' ? raw : null);
    return s && s.until > Date.now() ? s : null;
  }

  async silences(now = Date.now()): Promise<Map<string, Silence>> {
    const members = await this.redis.zrangebyscore(silencesKey(this.prefix), `(${now}`, '+inf');
    const out = new Map<string, Silence>();
    if (members.length === 0) return out;
    const values = await this.redis.mget(...members.map((m) => parseAlertKey(m)).map((k) => (k ? silenceKey(this.prefix, k) : `${this.prefix}:alert-silence:?`)));
    members.forEach((m, i) => {
      const s = parse(silenceSchema, values[i] ?? null);
      if (s && s.until > now) out.set(m, s);
    });
    return out;
  }

  async endedSilences(now = Date.now()): Promise<AlertKey[]> {
    const members = await this.redis.zrangebyscore(silencesKey(this.prefix), '-inf', now, 'LIMIT', 0, 100);
    return members.map((m) => parseAlertKey(m)).filter((k): k is AlertKey => k !== null);
  }

  async claimEnded(k: AlertKey, now = Date.now()): Promise<boolean> {
    // atomic: only a silence that has ended, and only once
    const script = `local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]); redis.call('DEL', KEYS[2]); return 1 end
return 0`;
    return (await this.redis.eval(script, 2, silencesKey(this.prefix), silenceKey(this.prefix, k), alertKeyString(k), String(now))) === 1;
  }

  async current(k: AlertKey): Promise<CurrentNotice | null> {
    return parse(currentSchema, await this.redis.get(noticeKey(this.prefix, k))) as CurrentNotice | null;
  }

  async setCurrent(k: AlertKey, notice: CurrentNotice): Promise<void> {
    await this.redis.set(noticeKey(this.prefix, k), JSON.stringify(notice), 'PX', MARK_TTL_MS);
  }
}

/** Marks in memory (unit tests, the device check). */
export class MemoryAlertMarks implements AlertMarks {
  readonly acks = new Map<string, Acknowledgement>();
  readonly silenced = new Map<string, Silence>();
  readonly notices = new Map<string, CurrentNotice>();

  async ack(k: AlertKey) {
    return this.acks.get(alertKeyString(k)) ?? null;
  }
  async setAck(k: AlertKey, ack: Acknowledgement) {
    this.acks.set(alertKeyString(k), ack);
  }
  async silence(k: AlertKey, now = Date.now()) {
    const s = this.silenced.get(alertKeyString(k));
    return s && s.until > now ? s : null;
  }
  async setSilence(k: AlertKey, s: Silence) {
    this.silenced.set(alertKeyString(k), s);
  }
  async clearSilence(k: AlertKey) {
    const s = this.silenced.get(alertKeyString(k)) ?? null;
    this.silenced.delete(alertKeyString(k));
    return s && s.until > Date.now() ? s : null;
  }
  async silences(now = Date.now()) {
    return new Map([...this.silenced].filter(([, s]) => s.until > now));
  }
  async endedSilences(now = Date.now()) {
    return [...this.silenced].filter(([, s]) => s.until <= now).map(([k]) => parseAlertKey(k)!);
  }
  async claimEnded(k: AlertKey, now = Date.now()) {
    const s = this.silenced.get(alertKeyString(k));
    if (!s || s.until > now) return false;
    this.silenced.delete(alertKeyString(k));
    return true;
  }
  async current(k: AlertKey) {
    return this.notices.get(alertKeyString(k)) ?? null;
  }
  async setCurrent(k: AlertKey, n: CurrentNotice) {
    this.notices.set(alertKeyString(k), n);
  }
}
