import type { Config } from '../../config/schema.js';
import { formatDuration } from '../../core/duration.js';
import type { Logger } from '../../core/logger.js';
import { fields, type Reply } from '../../core/reply.js';
import type { AlertKey } from '../../alerts/alert-key.js';
import type { AlertAnnouncer } from '../../alerts/announcer.js';
import { isFiring, shownStatus, TRANSITION_TONE } from '../../alerts/reply-parts.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type Moment, type TrackedEvent } from '../../alerts/tracker.js';
import { isOnline, type Heartbeat } from '../../state/heartbeat.js';

export const WORKER_OFFLINE = 'worker-offline';

interface OfflineFacts {
  hb: Heartbeat;
  at: number;
}

/**
 * "Worker offline", raised by the bot — someone alive — from the heartbeats in Redis: a host whose
 * worker has reported once and then missed three beats (or stopped) is offline. A host whose worker
 * never reported is not alerted (/status shows it). One tracker per host setting, all hosts here.
 */
export class WorkerOfflineRule {
  private readonly trackers = new Map<string, AlertTracker<OfflineFacts>>();

  constructor(
    private readonly config: Config,
    deps: { store: AlertStore; announcer: AlertAnnouncer; logger: Logger },
  ) {
    for (const [host, h] of Object.entries(config.hosts)) {
      const s = h.alerts.workerOffline;
      if (!s.enabled) continue;
      this.trackers.set(
        host,
        new AlertTracker<OfflineFacts>({
          ...deps,
          timing: { forMs: s.for, repeatEveryMs: s.repeatEvery },
          announcePending: false,
          render: (m) => ({ reply: workerOfflineReply(m, host, s.for), context: { pid: m.facts.hb.pid, lastBeat: m.facts.hb.lastBeat, ...(m.facts.hb.stoppedAt ? { stoppedAt: m.facts.hb.stoppedAt } : {}) } }),
        }),
      );
    }
  }

  get hosts(): string[] {
    return [...this.trackers.keys()];
  }

  /** One look at the heartbeats (`null`: the host never reported). */
  async evaluate(beats: Map<string, Heartbeat | null>, now = Date.now()): Promise<TrackedEvent[]> {
    const events: TrackedEvent[] = [];
    for (const [host, tracker] of this.trackers) {
      const hb = beats.get(host) ?? null;
      const key: AlertKey = { host, subject: 'worker', kind: WORKER_OFFLINE };
      const e = hb ? await tracker.observe(key, isOnline(hb, now) ? 'clear' : 'breach', { hb, at: now }, now) : await tracker.tick(now).then((x) => x[0] ?? null);
      if (e) events.push(e);
    }
    return events;
  }

  /** Another bot may have moved the alerts meanwhile: read them from the store again. */
  forget(): void {
    for (const t of this.trackers.values()) t.forget();
  }

  async idle(): Promise<void> {
    await Promise.all([...this.trackers.values()].map((t) => t.idle()));
  }
}

export function workerOfflineReply(m: Moment<OfflineFacts>, host: string, forMs: number): Reply {
  const { facts, state, transition, now } = m;
  const hb = facts.hb;
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const gone = hb.stoppedAt ? `stopped ${formatDuration(now - hb.stoppedAt)} ago` : `last heartbeat ${formatDuration(now - hb.lastBeat)} ago`;
  const title: Record<typeof transition, string> = {
    pending: `${host} worker offline (${gone}); firing in ${formatDuration(forMs)}`,
    firing: `${host} worker offline for ${since(state.pendingSince)}: ${gone}`,
    repeat: `${host} worker still offline, firing for ${since(state.firingSince)}: ${gone}`,
    resolved: `${host} worker is back after ${since(state.pendingSince)} offline`,
    cancelled: `${host} worker is back before the alert fired`,
  };
  return {
    outcome: 'ok',
    tone: TRANSITION_TONE[transition],
    title: title[transition],
    blocks: [
      fields([
        { name: 'Host', value: host, inline: true },
        { name: 'Worker', value: `pid ${hb.pid} · v${hb.version}`, inline: true },
        { name: 'Alert', value: shownStatus(transition, state), inline: true },
        { name: transition === 'resolved' ? 'Started' : 'Last heartbeat', value: new Date(transition === 'resolved' ? hb.startedAt : hb.lastBeat).toISOString(), inline: true },
        { name: 'Heartbeat every', value: formatDuration(hb.intervalMs), inline: true },
      ]),
    ],
    ...(isFiring(transition) ? { hint: `Start it on the host: \`labops worker --host ${host}\` (or its systemd unit, labops-worker.service). Jobs for ${host} wait in its queue meanwhile.` } : {}),
    data: { key: m.keyString, host, subject: 'worker', kind: WORKER_OFFLINE, transition, status: shownStatus(transition, state), pid: hb.pid, lastBeat: hb.lastBeat, stoppedAt: hb.stoppedAt ?? null, since: state.pendingSince },
  };
}
