import type { GpuProcess, GpuSnapshot } from '../contracts/lab-data.js';

export type { GpuInfo, GpuProcess, GpuSnapshot } from '../contracts/lab-data.js';

/**
 * The worker's view of its GPUs. The implementation keeps one long-lived nvidia-smi sampling
 * process (not one spawn per sample, and not systeminformation's graphics(), which blocks the
 * event loop). Where there is no GPU or no driver, `snapshot()` says "no NVIDIA GPU" and
 * everything else still works.
 */
export interface GpuMonitor {
  start(): void;
  /** the newest sample; before the first one arrives, a one-off query */
  snapshot(): Promise<GpuSnapshot>;
  /** processes holding VRAM; `maxAgeMs` accepts an answer that old (so /status queries at most once per `gpu.appsInterval`) */
  processes(signal?: AbortSignal, opts?: { maxAgeMs?: number }): Promise<GpuProcess[]>;
  /** called with each sample of the long-lived sampler */
  onSample(listener: (snapshot: GpuSnapshot) => void): () => void;
  stop(): Promise<void>;
}
