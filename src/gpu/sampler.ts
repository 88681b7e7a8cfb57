import { setTimeout as sleep } from 'node:timers/promises';
import type { HostConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { streamLines } from '../process/spawn.js';
import type { GpuInfo, GpuMonitor, GpuProcess, GpuSnapshot } from './monitor.js';
import { classifyFailure, gpuQueryArgs, queryApps, queryGpus, tryParseGpuLine, unavailable } from './nvidia-smi.js';
import { SampleGrouper } from './sample-grouper.js';

export const DISABLED: GpuSnapshot = { available: false, reason: 'GPU sampling is disabled in labops.yaml (hosts.<host>.gpu.enabled: false)' };

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** a sampler that lived this long before dying restarts after the shortest delay again */
const HEALTHY_RUN_MS = 60_000;

/**
 * One long-lived `nvidia-smi --query-gpu=… -lms <interval>` per host, read line by line and
 * grouped into one sample per interval (a line per GPU). It is restarted with backoff when it dies.
 */
export class NvidiaSmiMonitor implements GpuMonitor {
  private readonly logger: Logger;
  private readonly listeners = new Set<(snapshot: GpuSnapshot) => void>();
  private latest: GpuSnapshot | null = null;
  private latestAt = 0;
  private apps: { at: number; list: GpuProcess[] } | null = null;
  private oneShot: Promise<GpuSnapshot> | null = null;
  private child: { pid: number | undefined } | null = null;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    readonly host: string,
    private readonly gpu: HostConfig['gpu'],
    logger: Logger,
    private readonly bin = 'nvidia-smi',
  ) {
    this.logger = logger.child({ host, component: 'gpu-sampler' });
  }

  /** pid of the running nvidia-smi sampler, if any */
  get samplerPid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (!this.gpu.enabled || this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.supervise(abort.signal).catch((err) => this.logger.error({ err }, 'GPU sampler stopped unexpectedly'));
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = null;
    this.abort = null;
  }

  async snapshot(): Promise<GpuSnapshot> {
    if (!this.gpu.enabled) return DISABLED;
    const staleMs = Math.max(3 * this.gpu.sampleInterval, 5_000);
    // while running, the loop keeps "no GPU" current itself (it retries with backoff)
    if (this.latest && ((this.loop && !this.latest.available) || Date.now() - this.latestAt <= staleMs)) return this.latest;
    return this.queryOnce();
  }

  async processes(signal?: AbortSignal, opts: { maxAgeMs?: number } = {}): Promise<GpuProcess[]> {
    if (!this.gpu.enabled) return [];
    if (opts.maxAgeMs && this.apps && Date.now() - this.apps.at < opts.maxAgeMs) return this.apps.list;
    const list = await queryApps(this.bin, { timeoutMs: 10_000, ...(signal ? { signal } : {}) });
    this.apps = { at: Date.now(), list };
    return list;
  }

  onSample(listener: (snapshot: GpuSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** concurrent callers share one query */
  private queryOnce(signal?: AbortSignal): Promise<GpuSnapshot> {
    this.oneShot ??= queryGpus(this.bin, signal ? { signal } : {})
      .then((snapshot) => {
        this.remember(snapshot);
        return snapshot;
      })
      .finally(() => {
        this.oneShot = null;
      });
    return this.oneShot;
  }

  private remember(snapshot: GpuSnapshot): void {
    this.latest = snapshot;
    this.latestAt = Date.now();
  }

  private publish(gpus: GpuInfo[]): void {
    const snapshot: GpuSnapshot = { available: true, at: Date.now(), gpus };
    this.remember(snapshot);
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.logger.warn({ err }, 'a GPU sample listener failed');
      }
    }
  }

  private async supervise(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let told = '';
    while (!signal.aborted) {
      const startedAt = Date.now();
      try {
        const first = await this.queryOnce(signal);
        if (first.available) {
          told = '';
          await this.stream(first.gpus.length, signal);
        } else if (told !== `${first.reason}: ${first.detail}`) {
          told = `${first.reason}: ${first.detail}`;
          // a host without nvidia-smi is a normal host; a driver that stopped answering is not
          const level = /not installed/.test(first.detail ?? '') ? 'info' : 'warn';
          this.logger[level]({ reason: first.reason, detail: first.detail }, 'no GPU data from nvidia-smi; will keep trying');
        }
      } catch (err) {
        if (signal.aborted) break;
        this.logger.warn({ err }, 'GPU sampler failed');
      }
      if (signal.aborted) break;
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) failures = 0;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** failures++);
      this.logger.debug({ delayMs: delay }, 'restarting the nvidia-smi sampler');
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Runs one sampler process until it exits (or is stopped). */
  private async stream(gpuCount: number, signal: AbortSignal): Promise<void> {
    const grouper = new SampleGrouper(gpuCount, (gpus) => this.publish(gpus));
    // nvidia-smi prints its errors on stdout; the last few lines that are not samples say why it exited
    const other: string[] = [];
    const onLine = (line: string) => {
      const gpu = tryParseGpuLine(line);
      if (gpu) grouper.push(gpu);
      else if (line.trim()) {
        other.push(line.trim());
        if (other.length > 4) other.shift();
      }
    };
    const child = streamLines(this.bin, [...gpuQueryArgs(), '-lms', String(this.gpu.sampleInterval)], { signal, onLine });
    this.child = child;
    const result = await child.done;
    this.child = null;
    if (signal.aborted) return;
    const failure = classifyFailure({
      exitCode: result.exitCode,
      output: other.join('\n'),
      missing: result.missing,
      ...(result.signal ? { signal: result.signal } : {}),
    });
    if (failure.reason === 'no-gpu' || failure.reason === 'no-devices') this.remember(unavailable(failure));
    this.logger.warn({ failure }, 'the nvidia-smi sampler exited');
  }
}
