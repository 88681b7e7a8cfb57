/** One GPU as nvidia-smi reports it (MiB, %, °C, W; null where nvidia-smi prints [N/A]). */
export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  totalMiB: number;
  usedMiB: number;
  freeMiB: number;
  utilPct: number | null;
  tempC: number | null;
  powerW: number | null;
}

/** A process holding VRAM (nvidia-smi --query-compute-apps). */
export interface GpuProcess {
  pid: number;
  name: string;
  usedMiB: number;
  gpuUuid: string;
}

export type GpuSnapshot =
  | { available: true; at: number; gpus: GpuInfo[] }
  | { available: false; reason: string; detail?: string };

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
