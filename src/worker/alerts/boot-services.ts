import type { AlertSettings } from '../../config/schema.js';
import type { BootService } from '../../contracts/repair-boot-services.js';
import { formatDuration } from '../../core/duration.js';
import { mib } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { runEvery, type Loop } from '../../core/loop.js';
import { fields, text, type Reply } from '../../core/reply.js';
import type { NoticeSink } from '../../notify/notice.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { MemoryAlertMarks, type AlertMarks } from '../../alerts/marks.js';
import { isFiring, shownStatus, TRANSITION_TONE } from '../../alerts/reply-parts.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type Moment, type TrackedEvent } from '../../alerts/tracker.js';

export const BOOT_SERVICE = 'boot-service';

export interface BootServiceOptions {
  host: string;
  settings: AlertSettings['bootServices'];
  /** each GPU-heavy model unit and whether it is enabled at boot */
  check(signal: AbortSignal): Promise<BootService[]>;
  sink: NoticeSink;
  store: AlertStore;
  marks?: AlertMarks;
  logger: Logger;
}

interface BootFacts {
  service: BootService;
  at: number;
}

/**
 * "Boot services", one alert per unit: a GPU-heavy model unit (systemd, `vramMiB > 0`) enabled at
 * boot fills VRAM before anyone asked for it. Checked when the worker starts and every `interval`;
 * resolves when the unit is disabled (`/repair kind:boot-services`, or by hand).
 */
export class BootServiceAlerts {
  private readonly logger: Logger;
  private readonly tracker: AlertTracker<BootFacts>;
  private loop: Loop | null = null;
  private first: NodeJS.Timeout | null = null;
  private firstRun: Promise<void> | null = null;

  constructor(private readonly opts: BootServiceOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'boot-service-alerts' });
    this.tracker = new AlertTracker<BootFacts>({
      store: opts.store,
      announcer: new AlertAnnouncer({ marks: opts.marks ?? new MemoryAlertMarks(), sink: opts.sink, logger: this.logger }),
      logger: this.logger,
      timing: { forMs: opts.settings.for, repeatEveryMs: opts.settings.repeatEvery },
      announcePending: false,
      render: (m) => ({
        reply: bootServiceReply(m, opts),
        actions: [{ label: 'Repair boot services', command: 'repair', options: { kind: 'boot-services', host: opts.host }, style: 'primary' }],
        context: { unit: m.facts.service.unit, model: m.facts.service.model, vramMiB: m.facts.service.vramMiB },
      }),
    });
  }

  /** The first check comes `firstCheckMs` after the start (default 5 s: after the worker's start-up), then every `interval`. */
  start(firstCheckMs = 5_000): void {
    if (!this.opts.settings.enabled || this.loop) return;
    const onError = (err: unknown) => this.logger.warn({ err }, 'boot services check failed');
    let last = 0;
    const check = async () => {
      last = Date.now();
      await this.checkOnce();
    };
    this.first = setTimeout(() => (this.firstRun = check().catch(onError)), firstCheckMs);
    this.first.unref();
    // `for` and repeats elapse between checks too
    const tickMs = Math.min(this.opts.settings.interval, Math.max(1_000, Math.min(this.opts.settings.for || 60_000, 60_000)));
    this.loop = runEvery(tickMs, async () => (last > 0 && Date.now() - last >= this.opts.settings.interval ? await check() : void (await this.tracker.tick(Date.now()))), { onError });
  }

  async stop(): Promise<void> {
    if (this.first) clearTimeout(this.first);
    await this.firstRun;
    await this.loop?.stop();
    this.loop = null;
    await this.tracker.idle();
  }

  async checkOnce(now = Date.now()): Promise<TrackedEvent[]> {
    const services = await this.opts.check(AbortSignal.timeout(30_000));
    const events: TrackedEvent[] = [];
    for (const service of services) {
      const level = service.enabled === true ? 'breach' : service.enabled === false ? 'clear' : 'hold';
      const e = await this.tracker.observe({ host: this.opts.host, subject: service.unit, kind: BOOT_SERVICE }, level, { service, at: now }, now);
      if (e) events.push(e);
    }
    return events;
  }
}

export function bootServiceReply(m: Moment<BootFacts>, opts: Pick<BootServiceOptions, 'host'>): Reply {
  const { facts, state, transition, now } = m;
  const s = facts.service;
  const head = `${opts.host}: ${s.unit} (${s.model}, ${mib(s.vramMiB)})`;
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const title: Record<typeof transition, string> = {
    pending: `${head} is enabled at boot`,
    firing: `${head} starts at boot`,
    repeat: `${head} still starts at boot (for ${since(state.firingSince)})`,
    resolved: `${head} no longer starts at boot`,
    cancelled: `${head} no longer starts at boot`,
  };
  return {
    outcome: 'ok',
    tone: transition === 'firing' || transition === 'repeat' ? 'warn' : TRANSITION_TONE[transition],
    title: title[transition],
    blocks: [
      fields([
        { name: 'Host', value: opts.host, inline: true },
        { name: 'Unit', value: s.unit, inline: true },
        { name: 'Model', value: `${s.model} (${mib(s.vramMiB)})`, inline: true },
        { name: 'At boot', value: s.enabled === null ? `unknown${s.problem ? ` (${s.problem})` : ''}` : s.enabled ? 'enabled' : 'disabled', inline: true },
        { name: 'Alert', value: shownStatus(transition, state), inline: true },
      ]),
      ...(isFiring(transition) ? [text('The lab loads models just in time: a GPU-heavy unit enabled at boot fills VRAM before anyone asks for it.')] : []),
    ],
    ...(isFiring(transition) ? { hint: `/repair kind:boot-services host:${opts.host} disables it at boot (a dry run first).` } : {}),
    data: { key: m.keyString, host: opts.host, subject: s.unit, kind: BOOT_SERVICE, transition, status: shownStatus(transition, state), unit: s.unit, model: s.model, vramMiB: s.vramMiB, enabled: s.enabled },
  };
}
