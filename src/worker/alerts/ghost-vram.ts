import type { AlertSettings } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { runEvery, type Loop } from '../../core/loop.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { AlertKey } from '../../alerts/alert-key.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { MemoryAlertMarks, type AlertMarks } from '../../alerts/marks.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type TrackedEvent } from '../../alerts/tracker.js';
import type { StopIdleOffer } from './idle-models.js';
import type { AlertInputs, GhostVram } from './inputs.js';
import { ghostVramReply } from './ghost-reply.js';

export const GHOST_VRAM = 'ghost-vram';

export interface GhostVramOptions {
  host: string;
  settings: AlertSettings['ghostVram'];
  inputs: Pick<AlertInputs, 'onGhostVram'>;
  sink: NoticeSink;
  store: AlertStore;
  marks?: AlertMarks;
  logger: Logger;
  /** the idle models whose stop makes room on the GPU, as a button */
  stopIdle?: (ghost: GhostVram) => Promise<StopIdleOffer | null>;
  tickMs?: number;
}

/**
 * "Ghost VRAM" per GPU: processes that no model owns hold more than `minMiB` for longer than
 * `for`. Resolves when they hold `minMiB` or less.
 */
export class GhostVramAlerts {
  private readonly logger: Logger;
  private readonly tracker: AlertTracker<GhostVram>;
  private unsubscribe: (() => void) | null = null;
  private loop: Loop | null = null;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: GhostVramOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'ghost-vram-alerts' });
    this.tracker = new AlertTracker<GhostVram>({
      store: opts.store,
      announcer: new AlertAnnouncer({ marks: opts.marks ?? new MemoryAlertMarks(), sink: opts.sink, logger: this.logger }),
      logger: this.logger,
      timing: { forMs: opts.settings.for, repeatEveryMs: opts.settings.repeatEvery },
      announcePending: false,
      render: async (m) => {
        const offer = (m.transition === 'firing' || m.transition === 'repeat') && opts.stopIdle ? await opts.stopIdle(m.facts).catch(() => null) : null;
        return {
          reply: ghostVramReply({ ...m, minMiB: opts.settings.minMiB, forMs: opts.settings.for, offer }),
          ...(offer ? { actions: [offer.action] } : {}),
          context: { unknownMiB: m.facts.unknownMiB, gpuUuid: m.facts.gpuUuid, pids: m.facts.processes.map((p) => p.pid).join(',') },
        };
      },
    });
  }

  start(): void {
    if (!this.opts.settings.enabled || this.unsubscribe) return;
    this.unsubscribe = this.opts.inputs.onGhostVram((g) => {
      this.pending = this.pending.then(() => this.handle(g)).catch((err: unknown) => this.logger.error({ err }, 'ghost VRAM evaluation failed'));
    });
    this.loop = runEvery(this.opts.tickMs ?? 1_000, async () => void (await this.tracker.tick(Date.now())), { onError: (err) => this.logger.warn({ err }, 'ghost VRAM tick failed') });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.loop?.stop();
    this.loop = null;
    await this.pending;
    await this.tracker.idle();
  }

  async handle(g: GhostVram): Promise<TrackedEvent | null> {
    if (g.host !== this.opts.host) return null;
    const key: AlertKey = { host: g.host, subject: `gpu${g.gpuIndex}`, kind: GHOST_VRAM };
    return await this.tracker.observe(key, g.unknownMiB > this.opts.settings.minMiB ? 'breach' : 'clear', g, g.at);
  }
}
