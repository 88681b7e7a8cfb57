import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertStore } from '../alerts/store.js';
import { MODEL_STATES } from '../contracts/lab-data.js';
import type { GpuInfo, GpuMonitor } from '../gpu/monitor.js';
import type { Redis } from '../redis/connection.js';
import { readLiveState, type LiveHostState } from '../state/live-state.js';

const MIB = 1024 * 1024;

export interface WorkerMetricsOptions {
  host: string;
  monitor: Pick<GpuMonitor, 'onSample'>;
  redis: Redis;
  prefix: string;
  alerts: Pick<AlertStore, 'list'>;
  /** prom-client's process metrics (CPU, memory, event loop, GC): only where /metrics is served (default true) */
  processMetrics?: boolean;
}

export interface WorkerMetrics {
  registry: Registry;
  /** a job ended: its kind, its outcome (as audited) and how long it ran */
  jobEnded(kind: string, outcome: string, ms: number): void;
  stop(): void;
}

/**
 * The worker's Prometheus metrics, in a registry of its own. GPUs come from the sampler's newest
 * sample; models, unknown VRAM and alerts are read from Redis (the live state, the alert store)
 * when scraped, so a scrape shows what /status and /alerts show.
 */
export function workerMetrics(opts: WorkerMetricsOptions): WorkerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ host: opts.host });
  // the event-loop delay monitor wakes the process every eventLoopMonitoringPrecision ms: 100, not 10, keeps an idle worker idle
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'labops_worker_', eventLoopMonitoringPrecision: 100 });
  let gpus: GpuInfo[] = [];
  const unsubscribe = opts.monitor.onSample((s) => {
    if (s.available) gpus = s.gpus;
  });

  const gpuLabels = ['gpu', 'name'] as const;
  const gpuGauge = (name: string, help: string, value: (g: GpuInfo) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: gpuLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const g of gpus) {
          const v = value(g);
          if (v !== null) this.set({ gpu: String(g.index), name: g.name }, v);
        }
      },
    });
  gpuGauge('labops_gpu_vram_used_bytes', 'VRAM in use on the GPU (nvidia-smi memory.used)', (g) => g.usedMiB * MIB);
  gpuGauge('labops_gpu_vram_total_bytes', 'VRAM of the GPU (nvidia-smi memory.total)', (g) => g.totalMiB * MIB);
  gpuGauge('labops_gpu_utilization_ratio', 'GPU utilisation, 0 to 1 (nvidia-smi utilization.gpu)', (g) => (g.utilPct === null ? null : g.utilPct / 100));

  // one read of the live state per scrape, shared by the gauges below; with Redis away they are left
  // out (the scrape still answers, with the GPUs)
  let live: Promise<LiveHostState | null> | null = null;
  const liveState = () =>
    (live ??= readLiveState(opts.redis, opts.prefix, opts.host)
      .catch(() => null)
      .finally(() => setImmediate(() => (live = null))));

  new Gauge({
    name: 'labops_gpu_vram_unknown_bytes',
    help: 'VRAM held by processes that are no model of the inventory ("ghost" VRAM)',
    labelNames: ['gpu'],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await liveState();
      if (!s?.processes || !s.gpus?.snapshot.available) return;
      for (const g of s.gpus.snapshot.gpus) {
        const held = s.processes.processes.filter((p) => p.model === null && p.gpuUuid === g.uuid).reduce((n, p) => n + p.usedMiB, 0);
        this.set({ gpu: String(g.index) }, held * MIB);
      }
    },
  });
  new Gauge({
    name: 'labops_model_state',
    help: 'Each model has one series per state, 1 for the state it is in',
    labelNames: ['model', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [model, m] of ((await liveState())?.models ?? [])) for (const state of MODEL_STATES) this.set({ model, state }, m.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'labops_model_healthy',
    help: "1 when the model's last health probe passed, 0 when it failed (absent before the first probe)",
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [model, m] of ((await liveState())?.models ?? [])) if (m.health) this.set({ model }, m.health.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'labops_model_vram_bytes',
    help: "VRAM the model's processes hold (absent where none is attributed)",
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [model, m] of ((await liveState())?.models ?? [])) if (m.vramMiB !== null) this.set({ model }, m.vramMiB * MIB);
    },
  });
  new Gauge({
    name: 'labops_alert_state',
    help: "Each alert of the host that is not inactive, with its state (pending, firing, resolved) as a label; 1",
    labelNames: ['kind', 'subject', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const a of await opts.alerts.list({ host: opts.host }).catch(() => [])) this.set({ kind: a.key.kind, subject: a.key.subject, state: a.state.status }, 1);
    },
  });

  const jobs = new Counter({ name: 'labops_jobs_total', help: 'Jobs run by this worker, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [registry] });
  const durations = new Histogram({
    name: 'labops_job_duration_seconds',
    help: 'How long jobs ran, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.05, 0.25, 1, 5, 15, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });

  return {
    registry,
    jobEnded(kind, outcome, ms) {
      jobs.inc({ kind, outcome });
      durations.observe({ kind, outcome }, ms / 1000);
    },
    stop() {
      unsubscribe();
      registry.clear();
    },
  };
}
