import { logChangedErrors } from '../../core/log-on-change.js';
import type { Logger } from '../../core/logger.js';
import type { GpuInfo, GpuMonitor, GpuSnapshot } from '../../gpu/monitor.js';
import type { Redis } from '../../redis/connection.js';
import { writeSamples, type SampleBatch } from '../../state/vram-history.js';
import { Downsampler } from './downsample.js';

/** The MiB each model holds on a GPU now, by GPU uuid then model name (from the live state). */
export type VramAttribution = () => ReadonlyMap<string, Readonly<Record<string, number>>>;

export interface HistoryRecorderOptions {
  redis: Redis;
  prefix: string;
  host: string;
  monitor: Pick<GpuMonitor, 'onSample'>;
  logger: Logger;
  attribution?: VramAttribution;
}

/** batches kept while Redis is slow or away; beyond this, per-second samples are dropped (minutes are kept) */
const MAX_PENDING = 120;
/** how often the per-second sets are trimmed and the GPU list renewed (not on each sample: an idle worker stays cheap) */
const HOUSEKEEPING_EVERY_MS = 10_000;

/**
 * Writes the host's VRAM history from the streaming sampler: each sample is downsampled and
 * written in one pipelined round trip; writes never overlap, and while Redis is away the batches
 * wait (the per-minute ones are never dropped).
 */
export class VramHistoryRecorder {
  private readonly downsampler = new Downsampler();
  private readonly pending: SampleBatch[] = [];
  private unsubscribe: (() => void) | null = null;
  private writing: Promise<void> | null = null;
  private lastGpus: GpuInfo[] = [];
  private lastHousekeeping = 0;
  private readonly errors;

  constructor(private readonly opts: HistoryRecorderOptions) {
    this.errors = logChangedErrors(opts.logger.child({ component: 'vram-history' }), 'could not write the VRAM history', {}, { recovered: 'writing the VRAM history again' });
  }

  start(): void {
    this.unsubscribe ??= this.opts.monitor.onSample((s) => this.onSample(s));
  }

  /** Stops listening and writes what is left, the minute under way included. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const rest = this.downsampler.flush();
    if (rest.size) this.enqueue({ gpus: this.meta(this.lastGpus), fine: new Map(), coarse: rest });
    await this.drain();
  }

  /** Resolves when every batch queued so far is written (or given up on). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private onSample(snapshot: GpuSnapshot): void {
    if (!snapshot.available) return;
    this.lastGpus = snapshot.gpus;
    const held = this.opts.attribution?.() ?? new Map<string, Readonly<Record<string, number>>>();
    const out = this.downsampler.push(
      snapshot.at,
      snapshot.gpus.map((g) => {
        const byModel = held.get(g.uuid);
        return { index: g.index, sample: { usedMiB: g.usedMiB, ...(byModel && Object.keys(byModel).length ? { byModel: { ...byModel } } : {}) } };
      }),
    );
    if (out.fine.size || out.coarse.size) this.enqueue({ gpus: this.meta(snapshot.gpus), ...out });
  }

  private meta(gpus: readonly GpuInfo[]) {
    return gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name, totalMiB: g.totalMiB }));
  }

  private enqueue(batch: SampleBatch): void {
    this.pending.push(batch);
    if (this.pending.length > MAX_PENDING) {
      const i = this.pending.findIndex((b) => b.coarse.size === 0);
      this.pending.splice(i === -1 ? 0 : i, 1);
    }
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null;
    });
  }

  private async writeAll(): Promise<void> {
    for (let batch = this.pending[0]; batch; batch = this.pending[0]) {
      try {
        const now = Date.now();
        // the first write of a worker does it all, so the GPU list is there at once
        const housekeeping = now - this.lastHousekeeping >= HOUSEKEEPING_EVERY_MS || !this.unsubscribe;
        await writeSamples(this.opts.redis, this.opts.prefix, this.opts.host, batch, { housekeeping });
        if (housekeeping) this.lastHousekeeping = now;
        this.errors.reset();
        this.pending.shift();
      } catch (err) {
        this.errors.onError(err);
        // the next sample tries again; at shutdown, what could not be written is lost
        if (!this.unsubscribe) this.pending.length = 0;
        return;
      }
    }
  }
}
