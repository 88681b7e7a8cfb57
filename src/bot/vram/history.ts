/**
 * What the VRAM chart and its text form are drawn from: the history of one host's GPUs over a
 * window (by default the hour ending at `now`), as the worker keeps it in Redis.
 */

/** One sample of one GPU. */
export interface VramSample {
  /** epoch ms */
  t: number;
  usedMiB: number;
  /**
   * VRAM each model held at that time, by model name. Whatever `usedMiB` holds beyond their sum
   * (processes that are no known model, the driver's own share) is shown as "unknown / not a model";
   * without `byModel` all of `usedMiB` is.
   */
  byModel?: Record<string, number>;
}

export type ModelEventKind = 'start' | 'stop' | 'crash';

export interface ModelEvent {
  /** epoch ms */
  t: number;
  model: string;
  kind: ModelEventKind;
  /** who asked for it, e.g. a Discord user or "idle unload" */
  by?: string;
}

export interface GpuHistory {
  index: number;
  name: string;
  totalMiB: number;
  /** in time order; 1 s apart for the last 10 min and 1 min apart before, with holes where the worker was offline */
  samples: VramSample[];
  /** the VRAM-high alert fires at this percentage of `totalMiB` */
  highPct: number;
  /** and resolves under this one */
  resolvePct: number;
  events?: ModelEvent[];
}

export interface VramHistory {
  host: string;
  gpus: GpuHistory[];
  /** end of the window, epoch ms */
  now: number;
  /** length of the window; default one hour */
  windowMs?: number;
}

export const HOUR_MS = 3_600_000;

/** a newest sample older than this is shown with its age */
export const STALE_MS = 120_000;

export interface TimeRange {
  start: number;
  end: number;
}

export const windowOf = (h: VramHistory): TimeRange => ({ start: h.now - (h.windowMs ?? HOUR_MS), end: h.now });
