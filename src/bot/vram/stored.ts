import type { HostConfig } from '../../config/schema.js';
import type { StoredHistory } from '../../state/vram-history.js';
import { HOUR_MS, type GpuHistory, type ModelEvent, type VramHistory } from './history.js';

/** The VRAM-high levels of a host's alert settings, as the alert rule uses them. */
export function thresholdsOf(host: HostConfig): { highPct: number; resolvePct: number } {
  const v = host.alerts.vramHigh;
  return { highPct: v.percent, resolvePct: Math.min(v.resolvePercent ?? v.percent - 5, v.percent) };
}

/**
 * The chart's input from what the worker stored. An event is drawn on the GPUs where its model
 * held VRAM in the window, or on every GPU when it held none (a start that failed early).
 */
export function chartInput(stored: StoredHistory, host: HostConfig, now: number, windowMs = HOUR_MS): VramHistory {
  const levels = thresholdsOf(host);
  const gpus = stored.gpus.map((g): GpuHistory => ({ index: g.index, name: g.name, totalMiB: g.totalMiB, samples: g.samples, ...levels, events: [] }));
  const modelsOn = stored.gpus.map((g) => new Set(g.samples.flatMap((s) => Object.keys(s.byModel ?? {}))));
  for (const e of stored.events) {
    const event: ModelEvent = { t: e.t, model: e.model, kind: e.kind, ...(e.by ? { by: e.by } : {}) };
    const on = gpus.filter((_, i) => modelsOn[i]!.has(e.model));
    for (const g of on.length ? on : gpus) g.events!.push(event);
  }
  return { host: stored.host, gpus, now, windowMs };
}
