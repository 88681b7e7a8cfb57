import type { HostConfig } from '../../config/schema.js';
import type { GpuMonitor, GpuSnapshot } from '../../gpu/monitor.js';
import type { Logger } from '../../core/logger.js';
import { alertKeyString, type AlertKey } from '../../alerts/alert-key.js';
import type { NoticeSink } from '../../notify/notice.js';
import { advance, INACTIVE, levelOf, type AlertState, type Transition } from '../../alerts/state-machine.js';
import type { AlertStore } from '../../alerts/store.js';
import { vramAlertReply } from './vram-reply.js';

export const VRAM_HIGH = 'vram-high';

export interface VramAlertsOptions {
  host: string;
  alerts: HostConfig['alerts'];
  monitor: Pick<GpuMonitor, 'onSample'>;
  sink: NoticeSink;
  store: AlertStore;
  logger: Logger;
}

export interface AlertEvent {
  key: string;
  transition: Transition;
  at: number;
}

/**
 * The "VRAM high" rule per GPU of one host: each sample moves each GPU's alert through the state
 * machine, and each transition is announced through the sink and saved in the store. Samples that
 * arrive while one is being evaluated are coalesced to the newest.
 */
export class VramAlerts {
  private readonly states = new Map<string, AlertState>();
  private readonly logger: Logger;
  private unsubscribe: (() => void) | null = null;
  private next: GpuSnapshot | null = null;
  private draining: Promise<void> | null = null;

  constructor(private readonly opts: VramAlertsOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'vram-alerts' });
  }

  get highPct(): number {
    return this.opts.alerts.vramHighPercent;
  }

  get resolvePct(): number {
    return Math.min(this.opts.alerts.vramResolvePercent ?? this.highPct - 5, this.highPct);
  }

  start(): void {
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
    const { alerts, host, sink } = this.opts;
    const timing = { forMs: alerts.for, repeatEveryMs: alerts.repeatEvery };
    const events: AlertEvent[] = [];
    for (const gpu of snapshot.gpus) {
      if (gpu.totalMiB <= 0) continue;
      const k: AlertKey = { host, subject: `gpu${gpu.index}`, kind: VRAM_HIGH };
      const key = alertKeyString(k);
      const pct = (gpu.usedMiB / gpu.totalMiB) * 100;
      const { state, transition } = advance(await this.stateOf(k), levelOf(pct, this.highPct, this.resolvePct), snapshot.at, timing);
      this.states.set(key, state);
      if (!transition) continue;
      const facts = { key, host, gpu, pct, highPct: this.highPct, resolvePct: this.resolvePct, forMs: timing.forMs, state, transition, now: snapshot.at };
      this.logger.info({ key, transition, pct: Math.round(pct) }, 'VRAM alert');
      // announced before it is saved: a crash in between announces twice rather than never
      await sink.post('alert', vramAlertReply(facts), { key });
      await this.opts.store
        .save(k, state, { valuePct: Math.round(pct * 10) / 10, usedMiB: gpu.usedMiB, totalMiB: gpu.totalMiB, gpuUuid: gpu.uuid })
        .catch((err) => this.logger.warn({ err, key }, 'could not save the alert state'));
      events.push({ key, transition, at: snapshot.at });
    }
    return events;
  }

  private async stateOf(k: AlertKey): Promise<AlertState> {
    const key = alertKeyString(k);
    const known = this.states.get(key);
    if (known) return known;
    try {
      return (await this.opts.store.load(k)) ?? INACTIVE;
    } catch (err) {
      this.logger.warn({ err, key }, 'could not load the alert state; starting from inactive');
      return INACTIVE;
    }
  }
}
