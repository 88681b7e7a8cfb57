import type { Caller } from '../../chat/command.js';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { failedError, usageError } from '../../core/errors.js';
import { info, ok, type Reply } from '../../core/reply.js';
import { ensureRedis } from '../../redis/connection.js';
import { ALERT_KINDS, alertKeyString, isAlertKind, parseAlertKey, type AlertKey } from '../../alerts/alert-key.js';
import { ackHolds, AlertAnnouncer } from '../../alerts/announcer.js';
import { RedisAlertMarks } from '../../alerts/marks.js';
import { RedisAlertStore } from '../../alerts/redis-store.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { BotContext } from '../context.js';

/** Silences are at least a minute and at most 30 days. */
const MIN_SILENCE_MS = 60_000;
const MAX_SILENCE_MS = 30 * 24 * 3600_000;

type Ctx = Pick<BotContext, 'config' | 'inventory' | 'redis' | 'redisUrl' | 'prefix' | 'logger'> & { notify: NoticeSink };

export function alertParts(ctx: Pick<Ctx, 'redis' | 'prefix' | 'notify' | 'logger'>) {
  const marks = new RedisAlertMarks(ctx.redis, ctx.prefix);
  return { store: new RedisAlertStore(ctx.redis, ctx.prefix), marks, announcer: new AlertAnnouncer({ marks, sink: ctx.notify, logger: ctx.logger }) };
}

/** An alert key from chat: its shape, a host of the inventory and a known kind; anything else is a usage error. */
export function checkedKey(ctx: Pick<BotContext, 'inventory'>, text: string): AlertKey {
  const key = parseAlertKey(text);
  if (!key) throw usageError(`"${text}" is not an alert key.`, 'Alert keys read host:subject:kind, e.g. gpu-1:gpu0:vram-high; /alerts lists them.');
  ctx.inventory.host(key.host);
  if (!isAlertKind(key.kind)) throw usageError(`"${key.kind}" is not an alert kind.`, `Kinds: ${ALERT_KINDS.join(', ')}`);
  return key;
}

/** /ack: the firing alert's message says "acknowledged by @x"; its repeats stop; its resolve is still posted. */
export async function acknowledge(ctx: Ctx, caller: Caller, text: string, now = Date.now()): Promise<Reply> {
  const key = checkedKey(ctx, text);
  const k = alertKeyString(key);
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const { store, marks, announcer } = alertParts(ctx);
  const state = await store.load(key);
  if (!state || state.status !== 'firing' || state.firingSince === null) {
    throw failedError(`${k} is not firing${state ? ` (it is ${state.status})` : ''}: nothing to acknowledge.`, '/alerts lists the alerts that fire.');
  }
  const existing = await marks.ack(key);
  const data = (by: string, at: number) => ({ key: k, status: state.status, firingSince: state.firingSince, acknowledged: { by, at } });
  if (ackHolds(existing, state.firingSince)) {
    return info(`${k} was already acknowledged by @${existing.by} ${formatDuration(now - existing.at)} ago.`, [], { data: data(existing.by, existing.at) });
  }
  await marks.setAck(key, { by: caller.name, byId: caller.id, at: now, firingSince: state.firingSince });
  await announcer.repost(key, now);
  return ok(`Acknowledged ${k} (firing for ${formatDuration(now - state.firingSince)}): its repeats stop; the resolve is still posted.`, [], { data: data(caller.name, now) });
}

/** /silence key:<alert> for:<duration>|off */
export async function silence(ctx: Ctx, caller: Caller, text: string, duration: string, now = Date.now()): Promise<Reply> {
  const key = checkedKey(ctx, text);
  const k = alertKeyString(key);
  const off = duration.trim().toLowerCase() === 'off';
  const ms = off ? null : parseDuration(duration);
  if (!off && (ms === null || ms < MIN_SILENCE_MS || ms > MAX_SILENCE_MS)) {
    throw usageError(`/silence for: expected a duration from 1m to 30d (30m, 1h, 8h, 2d) or off, got "${duration}".`);
  }
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const { marks, announcer } = alertParts(ctx);
  if (off) {
    const lifted = await marks.clearSilence(key);
    if (!lifted) return info(`${k} was not silenced; nothing changed.`, [], { data: { key: k, silenced: null } });
    const posted = await announcer.repost(key, now);
    return ok(`Silence of ${k} lifted${posted ? '; its current state is posted' : ''}.`, [], { data: { key: k, silenced: null, lifted: { by: lifted.by, until: lifted.until } } });
  }
  const until = now + ms!;
  await marks.setSilence(key, { until, by: caller.name, byId: caller.id, at: now });
  // the message says so at once; the silence holds back what the alert does from now on
  await announcer.repost(key, now);
  return ok(`Silenced ${k} for ${formatDuration(ms!)}, until ${new Date(until).toISOString()}: nothing about it is posted until then, and then its current state once.`, [], {
    data: { key: k, silenced: { by: caller.name, until } },
  });
}
