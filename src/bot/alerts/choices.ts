import { RedisAlertStore } from '../../alerts/redis-store.js';
import { RedisAlertMarks } from '../../alerts/marks.js';
import { alertKeyString } from '../../alerts/alert-key.js';
import type { BotContext } from '../context.js';

const MAX = 25;

/** Alert keys for autocomplete: those in the store (firing and pending first) and the silenced ones, matching what was typed. */
export async function alertChoices(ctx: Pick<BotContext, 'redis' | 'prefix'>, typed: string): Promise<{ name: string; value: string }[]> {
  const [stored, silences] = await Promise.all([new RedisAlertStore(ctx.redis, ctx.prefix).list(), new RedisAlertMarks(ctx.redis, ctx.prefix).silences()]);
  const rank = { firing: 0, pending: 1, resolved: 2, inactive: 3 } as const;
  const entries = new Map<string, string>();
  for (const a of [...stored].sort((x, y) => rank[x.state.status] - rank[y.state.status])) entries.set(alertKeyString(a.key), a.state.status);
  for (const k of silences.keys()) entries.set(k, `${entries.get(k) ?? 'not firing'}, silenced`);
  return [...entries]
    .filter(([k]) => k.toLowerCase().includes(typed))
    .slice(0, MAX)
    .map(([k, status]) => ({ name: `${k} · ${status}`.slice(0, 100), value: k }));
}
