import { alertKeyString, type AlertKey } from '../../alerts/alert-key.js';
import { RedisAlertStore } from '../../alerts/redis-store.js';
import { advance, INACTIVE, type Level } from '../../alerts/state-machine.js';
import type { SmokeRow } from '../../contracts/smoke.js';
import type { WorkerContext } from '../context.js';
import { smokeAlertReply, type SmokeAlertSubject } from './smoke-reply.js';

const SMOKE_FAILED = 'smoke';

/** A smoke failure fires at once (there is no "for": a smoke is already a deliberate check) and is not repeated; the next good smoke resolves it. */
const TIMING = { forMs: 0, repeatEveryMs: 0 };

/**
 * One alert per model and proxy group, keyed `(host, model, smoke)`, through the alert state machine
 * and its Redis store: a failed smoke fires it, the next good one resolves it, a stopped (untested)
 * model leaves it as it is. When the proxy itself could not be asked, one alert `(host, proxy, smoke)`
 * says so instead of one per model.
 */
export async function raiseSmokeAlerts(ctx: Pick<WorkerContext, 'redis' | 'prefix' | 'notify' | 'logger' | 'hostName'>, rows: readonly SmokeRow[], proxyProblem: string | null): Promise<void> {
  const store = new RedisAlertStore(ctx.redis, ctx.prefix);
  const step = async (k: AlertKey, level: Level, subject: SmokeAlertSubject) => {
    const key = alertKeyString(k);
    const before = (await store.load(k).catch(() => null)) ?? INACTIVE;
    const now = Date.now();
    const { state, transition } = advance(before, level, now, TIMING);
    if (!transition) return;
    ctx.logger.info({ key, transition }, 'smoke alert');
    // announced before it is saved: a crash in between announces twice rather than never
    await ctx.notify.post('alert', smokeAlertReply({ key, host: k.host, subject, state, transition, now }), { key });
    await store.save(k, state, { model: k.subject, ok: level === 'clear' ? 1 : 0 }).catch((err: unknown) => ctx.logger.warn({ err, key }, 'could not save the alert state'));
  };
  await step({ host: ctx.hostName, subject: 'proxy', kind: SMOKE_FAILED }, proxyProblem ? 'breach' : 'clear', { kind: 'proxy', problem: proxyProblem });
  if (proxyProblem) return;
  for (const row of rows) {
    if (row.ok === null) continue;
    await step({ host: row.host, subject: row.model, kind: SMOKE_FAILED }, row.ok ? 'clear' : 'breach', { kind: 'row', row });
  }
}
