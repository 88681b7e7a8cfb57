import type { AlertSettings } from '../../config/schema.js';
import { formatDuration } from '../../core/duration.js';
import type { Logger } from '../../core/logger.js';
import { runEvery, type Loop } from '../../core/loop.js';
import { safeUrl } from '../../core/redact.js';
import { fields, type Reply } from '../../core/reply.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { AlertKey } from '../../alerts/alert-key.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { MemoryAlertMarks, type AlertMarks } from '../../alerts/marks.js';
import { isFiring, shownStatus, TRANSITION_TONE } from '../../alerts/reply-parts.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type Moment, type TrackedEvent } from '../../alerts/tracker.js';
import type { Action } from '../../core/reply.js';

export const PROXY_DOWN = 'proxy-down';

/** One liveliness check of the proxy: what the LiteLLM client answered. */
export type ProxyCheck = { ok: true; latencyMs: number } | { ok: false; kind: string; detail: string; latencyMs: number };

export interface ProxyDownOptions {
  host: string;
  settings: AlertSettings['proxyDown'];
  url: string;
  check(signal: AbortSignal): Promise<ProxyCheck>;
  /** the inventory model that is the proxy on this host (its /start is offered), if any */
  proxyModel?: string;
  sink: NoticeSink;
  store: AlertStore;
  marks?: AlertMarks;
  logger: Logger;
}

interface ProxyFacts {
  check: ProxyCheck;
  at: number;
}

/** "Proxy down": the LiteLLM proxy's `/health/liveliness` fails, checked every `interval` by the worker of `litellm.host`. */
export class ProxyDownAlerts {
  private readonly logger: Logger;
  private readonly tracker: AlertTracker<ProxyFacts>;
  private loop: Loop | null = null;
  readonly key: AlertKey;

  constructor(private readonly opts: ProxyDownOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'proxy-down-alerts' });
    this.key = { host: opts.host, subject: 'litellm', kind: PROXY_DOWN };
    const start: Action[] = opts.proxyModel ? [{ label: `Start ${opts.proxyModel}`, command: 'start', options: { model: opts.proxyModel, host: opts.host }, style: 'primary' }] : [];
    this.tracker = new AlertTracker<ProxyFacts>({
      store: opts.store,
      announcer: new AlertAnnouncer({ marks: opts.marks ?? new MemoryAlertMarks(), sink: opts.sink, logger: this.logger }),
      logger: this.logger,
      timing: { forMs: opts.settings.for, repeatEveryMs: opts.settings.repeatEvery },
      announcePending: false,
      render: (m) => ({ reply: proxyDownReply(m, opts), actions: start, context: { url: safeUrl(opts.url), ...(m.facts.check.ok ? {} : { failure: m.facts.check.kind }) } }),
    });
  }

  start(): void {
    if (!this.opts.settings.enabled || this.loop) return;
    this.loop = runEvery(this.opts.settings.interval, async () => void (await this.checkOnce()), { immediately: true, onError: (err) => this.logger.warn({ err }, 'proxy check failed') });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = null;
    await this.tracker.idle();
  }

  async checkOnce(now = Date.now()): Promise<TrackedEvent | null> {
    const check = await this.opts.check(AbortSignal.timeout(10_000));
    return await this.tracker.observe(this.key, check.ok ? 'clear' : 'breach', { check, at: now }, now);
  }
}

export function proxyDownReply(m: Moment<ProxyFacts>, opts: Pick<ProxyDownOptions, 'host' | 'url' | 'settings'>): Reply {
  const { facts, state, transition, now } = m;
  const url = safeUrl(opts.url);
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const why = facts.check.ok ? 'it answers' : facts.check.detail;
  const title: Record<typeof transition, string> = {
    pending: `LiteLLM proxy at ${url} fails its liveliness check (${why}); firing in ${formatDuration(opts.settings.for)}`,
    firing: `LiteLLM proxy at ${url} down for ${since(state.pendingSince)}: ${why}`,
    repeat: `LiteLLM proxy at ${url} still down, firing for ${since(state.firingSince)}: ${why}`,
    resolved: `LiteLLM proxy at ${url} answers again after ${since(state.pendingSince)} down`,
    cancelled: `LiteLLM proxy at ${url} answers again before the alert fired`,
  };
  return {
    outcome: 'ok',
    tone: TRANSITION_TONE[transition],
    title: title[transition],
    blocks: [
      fields([
        { name: 'Proxy', value: `${url}/health/liveliness`, inline: true },
        { name: 'Checked from', value: opts.host, inline: true },
        { name: 'Alert', value: shownStatus(transition, state), inline: true },
        { name: 'Last check', value: facts.check.ok ? `ok in ${facts.check.latencyMs} ms` : `${facts.check.kind}: ${facts.check.detail}`, inline: false },
        { name: 'Down since', value: new Date(state.pendingSince ?? facts.at).toISOString(), inline: true },
        { name: 'Checked every', value: formatDuration(opts.settings.interval), inline: true },
      ]),
    ],
    ...(isFiring(transition) ? { hint: `Every model behind the proxy is unreachable for its clients. /status host:${opts.host} shows the proxy's unit.` } : {}),
    data: { key: m.keyString, host: opts.host, subject: 'litellm', kind: PROXY_DOWN, transition, status: shownStatus(transition, state), url, check: facts.check, since: state.pendingSince },
  };
}
