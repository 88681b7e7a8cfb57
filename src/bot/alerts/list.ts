import { formatDuration } from '../../core/duration.js';
import { info, table, type Reply } from '../../core/reply.js';
import { ensureRedis } from '../../redis/connection.js';
import { alertKeyString, parseAlertKey } from '../../alerts/alert-key.js';
import { ackHolds } from '../../alerts/announcer.js';
import type { Acknowledgement, Silence } from '../../alerts/marks.js';
import type { AlertStatus } from '../../alerts/state-machine.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { BotContext } from '../context.js';
import { alertParts } from './manage.js';

/** One row of /alerts (its `data.alerts`). */
export interface AlertRow {
  key: string;
  host: string;
  subject: string;
  kind: string;
  /** `resolved` or `inactive` only for a silenced alert that does not fire */
  status: AlertStatus;
  /** when it started to fire (firing) or to hold (pending); null for a silenced key without an active alert */
  since: number | null;
  ageMs: number | null;
  acknowledged: { by: string; at: number } | null;
  silenced: { by: string; until: number } | null;
  /** what the rule last saw (`valuePct`, `unknownMiB`, …) */
  context: Record<string, string | number>;
}

type Ctx = Pick<BotContext, 'config' | 'inventory' | 'redis' | 'redisUrl' | 'prefix' | 'logger'> & { notify: NoticeSink };

/** Firing, pending, acknowledged and silenced alerts, from Redis (the alert store and its marks). */
export async function listAlerts(ctx: Ctx, host?: string, now = Date.now()): Promise<AlertRow[]> {
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const { store, marks } = alertParts(ctx);
  const [stored, silences] = await Promise.all([store.list(host ? { host } : {}), marks.silences(now)]);
  const rows = new Map<string, AlertRow>();
  const active = stored.filter((a) => a.state.status === 'firing' || a.state.status === 'pending' || silences.has(alertKeyString(a.key)));
  const acks = await Promise.all(active.map((a) => (a.state.status === 'firing' ? marks.ack(a.key) : Promise.resolve(null))));
  active.forEach((a, i) => {
    const k = alertKeyString(a.key);
    const since = a.state.status === 'firing' ? a.state.firingSince : a.state.status === 'pending' ? a.state.pendingSince : null;
    const ack: Acknowledgement | null = acks[i] ?? null;
    rows.set(k, row(k, a.state.status, since, now, ackHolds(ack, a.state.firingSince) ? ack : null, silences.get(k) ?? null, a.context));
  });
  for (const [k, s] of silences) {
    const key = parseAlertKey(k);
    if (rows.has(k) || !key || (host && key.host !== host)) continue;
    rows.set(k, row(k, 'inactive', null, now, null, s, {}));
  }
  const order: Record<AlertStatus, number> = { firing: 0, pending: 1, resolved: 2, inactive: 3 };
  return [...rows.values()].sort((a, b) => order[a.status] - order[b.status] || (b.ageMs ?? 0) - (a.ageMs ?? 0) || a.key.localeCompare(b.key));
}

function row(k: string, status: AlertStatus, since: number | null, now: number, ack: Acknowledgement | null, silence: Silence | null, context: Record<string, string | number>): AlertRow {
  const key = parseAlertKey(k)!;
  return {
    key: k,
    host: key.host,
    subject: key.subject,
    kind: key.kind,
    status,
    since,
    ageMs: since === null ? null : now - since,
    acknowledged: ack ? { by: ack.by, at: ack.at } : null,
    silenced: silence ? { by: silence.by, until: silence.until } : null,
    context,
  };
}

export function alertsReply(rows: AlertRow[], now = Date.now()): Reply {
  const firing = rows.filter((r) => r.status === 'firing');
  const unacked = firing.filter((r) => !r.acknowledged && !r.silenced);
  const pending = rows.filter((r) => r.status === 'pending');
  const silenced = rows.filter((r) => r.silenced);
  const parts = [`${firing.length} firing${firing.length > unacked.length ? ` (${firing.length - unacked.length} acknowledged or silenced)` : ''}`, `${pending.length} pending`, `${silenced.length} silenced`];
  const title = rows.length === 0 ? 'No alert is firing, pending or silenced' : `Alerts: ${parts.join(', ')}`;
  const state = (r: AlertRow) => (r.status === 'firing' ? (r.acknowledged ? 'firing, acknowledged' : 'firing') : r.status === 'pending' ? 'pending' : 'not firing');
  const note = (r: AlertRow) =>
    [
      r.acknowledged ? `ack by @${r.acknowledged.by} ${formatDuration(now - r.acknowledged.at)} ago` : '',
      r.silenced ? `silenced by @${r.silenced.by}, ${formatDuration(r.silenced.until - now)} left` : '',
    ]
      .filter(Boolean)
      .join('; ') || '–';
  const reply = info(title, rows.length > 0 ? [table(['alert', 'state', 'for', 'note'], rows.map((r) => [r.key, state(r), r.ageMs === null ? '–' : formatDuration(r.ageMs), note(r)]))] : [], {
    data: { alerts: rows },
    ...(unacked.length > 0 ? { hint: '/ack key:<alert> acknowledges one; /silence key:<alert> for:1h silences it.' } : {}),
  });
  reply.tone = unacked.length > 0 ? 'error' : firing.length > 0 || pending.length > 0 ? 'warn' : 'ok';
  return reply;
}
