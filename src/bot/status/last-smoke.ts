import { formatDuration } from '../../core/duration.js';
import { excerpt } from '../../core/http.js';
import { table, type Reply } from '../../core/reply.js';
import type { SmokeRow } from '../../contracts/smoke.js';
import { readSmokeResults } from '../../state/smoke-results.js';
import type { BotContext } from '../context.js';

/**
 * Adds the last smoke of each model and proxy group of `hosts` (with its age) to a /status or
 * /models reply: a table, and `data.lastSmoke`. Without results, or with Redis unreadable, the reply
 * is left as it is.
 */
export async function withLastSmoke(ctx: Pick<BotContext, 'redis' | 'prefix'>, hosts: readonly string[], reply: Reply, now = Date.now()): Promise<Reply> {
  let rows: SmokeRow[];
  try {
    rows = [...(await readSmokeResults(ctx.redis, ctx.prefix)).values()].filter((r) => hosts.includes(r.host));
  } catch {
    return reply;
  }
  if (rows.length === 0) return reply;
  rows.sort((a, b) => a.host.localeCompare(b.host) || a.model.localeCompare(b.model));
  const block = table(
    ['model', 'host', 'last smoke', 'answered by', 'when'],
    rows.map((r) => [
      r.model,
      r.host,
      r.ok ? `ok ${Math.round(r.latencyMs ?? 0)} ms` : `failed${r.status ? ` (${r.status})` : ''}: ${excerpt(r.error ?? 'no answer', 60)}`,
      r.servedBy ? `${r.servedBy}${r.fallback ? ' (fallback)' : ''}` : '–',
      `${formatDuration(now - r.at)} ago`,
    ]),
    'Last smoke:',
  );
  const data = typeof reply.data === 'object' && reply.data !== null ? reply.data : {};
  return { ...reply, blocks: [...reply.blocks, block], data: { ...data, lastSmoke: rows } };
}
