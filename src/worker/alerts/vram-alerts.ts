import type { AlertSettings } from '../../config/schema.js';
import type { GpuInfo, GpuMonitor, GpuSnapshot } from '../../gpu/monitor.js';
import type { Logger } from '../../core/logger.js';
import type { NoticeSink } from '../../notify/notice.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { MemoryAlertMarks, type AlertMarks } from '../../alerts/marks.js';
import { levelOf } from '../../alerts/state-machine.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type TrackedEvent } from '../../alerts/tracker.js';
import type { StopIdleOffer } from './idle-models.js';
import { vramAlertReply } from './vram-reply.js';

export const VRAM_HIGH = 'vram-high';

export interface VramAlertsOptions {
  host: string;
  settings: AlertSettings['vramHigh'];
  monitor: Pick<GpuMonitor, 'onSample'>;
  sink: NoticeSink;
  store: AlertStore;
  /** acknowledgements and silences (default: none, in memory) */
  marks?: AlertMarks;
  logger: Logger;
  /** the idle models whose stop brings a GPU back under the threshold, as a button */
  stopIdle?: (gpu: GpuInfo, needMiB: number) => Promise<StopIdleOffer | null>;
}

export type AlertEvent = TrackedEvent;

interface VramFacts {
  gpu: GpuInfo;
  pct: number;
}

/**
 * The "VRAM high" rule per GPU of one host: each sample moves each GPU's alert through the state
 * machine, and each transition is announced and saved. Samples that arrive while one is being
 * evaluated are coalesced to the newest.
 */
export class VramAlerts {
  private readonly logger: Logger;
  private readonly tracker: AlertTracker<VramFacts>;
  private unsubscribe: (() => void) | null = null;
  private next: GpuSnapshot | null = null;
  private draining: Promise<void> | null = null;

  constructor(private readonly opts: VramAlertsOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'vram-alerts' });
    const announcer = new AlertAnnouncer({ marks: opts.marks ?? new MemoryAlertMarks(), sink: opts.sink, logger: this.logger });
    this.tracker = new AlertTracker<VramFacts>({
      store: opts.store,
      announcer,
      logger: this.logger,
      timing: { forMs: opts.settings.for, repeatEveryMs: opts.settings.repeatEvery },
      render: async ({ keyString, facts, state, transition, now }) => {
        const { gpu, pct } = facts;
        const offer = transition === 'firing' || transition === 'repeat' ? await this.offer(gpu) : null;
        const reply = vramAlertReply({ key: keyString, host: opts.host, gpu, pct, highPct: this.highPct, resolvePct: this.resolvePct, forMs: opts.settings.for, state, transition, now, offer });
        return {
          reply,
          ...(offer ? { actions: [offer.action] } : {}),
          context: { valuePct: Math.round(pct * 10) / 10, usedMiB: gpu.usedMiB, totalMiB: gpu.totalMiB, gpuUuid: gpu.uuid },
        };
      },
    });
  }

  get highPct(): number {
    return this.opts.settings.percent;
  }

  get resolvePct(): number {
    return Math.min(this.opts.settings.resolvePercent ?? this.highPct - 5, this.highPct);
  }

  start(): void {
    if (!this.opts.settings.enabled) return;
    this.unsubscribe ??= this.opts.monitor.onSample((snapshot) => this.enqueue(snapshot));
  }

  /** Stops listening and waits for the evaluation in progress. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.next = null;
    await this.draining;
  }

  private enqueue(snapshot: GpuSnapshot): void {
    this.next = snapshot;
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    for (let snapshot = this.next; snapshot; snapshot = this.next) {
      this.next = null;
      await this.evaluate(snapshot).catch((err) => this.logger.error({ err }, 'VRAM alert evaluation failed'));
    }
  }

  /** Evaluates one sample; returns what it announced. */
  async evaluate(snapshot: GpuSnapshot): Promise<AlertEvent[]> {
    if (!snapshot.available) return [];
    const events: AlertEvent[] = [];
    for (const gpu of snapshot.gpus) {
      if (gpu.totalMiB <= 0) continue;
      const pct = (gpu.usedMiB / gpu.totalMiB) * 100;
      const event = await this.tracker.observe({ host: this.opts.host, subject: `gpu${gpu.index}`, kind: VRAM_HIGH }, levelOf(pct, this.highPct, this.resolvePct), { gpu, pct }, snapshot.at);
      if (event) events.push(event);
    }
    return events;
  }

  /** What must be freed for the GPU to be under the threshold, and the idle models that free it. */
  private async offer(gpu: GpuInfo): Promise<StopIdleOffer | null> {
    if (!this.opts.stopIdle) return null;
    const needMiB = Math.max(1, gpu.usedMiB - Math.ceil((this.highPct / 100) * gpu.totalMiB) + 1);
    try {
      return await this.opts.stopIdle(gpu, needMiB);
    } catch (err) {
      this.logger.warn({ err, gpu: gpu.index }, 'could not tell which idle models would free VRAM; the alert has no stop button');
      return null;
    }
  }
}
