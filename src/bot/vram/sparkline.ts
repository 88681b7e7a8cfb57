import { agoLabel } from './axis.js';
import { STALE_MS, windowOf, type GpuHistory, type TimeRange, type VramHistory, type VramSample } from './history.js';
import { segments } from './segments.js';
import { unknownOf } from './stack.js';
import { grouped, shortGpuName, usage } from './usage.js';

export const BLOCKS = '▁▂▃▄▅▆▇█';
/** a bucket the worker has no sample for */
export const NO_DATA = ' ';

/**
 * The most VRAM used in each of `buckets` equal slices of [start, end], as block characters
 * scaled from 0 (▁) to the GPU's total (█). A slice without a sample inside a run of samples
 * takes the larger of the two around it; one inside a hole stays blank.
 */
export function sparkline(samples: readonly VramSample[], totalMiB: number, start: number, end: number, buckets = 60): string {
  const width = (end - start) / buckets;
  const max: (number | undefined)[] = Array.from({ length: buckets }, () => undefined);
  const raise = (i: number, v: number) => {
    if (i >= 0 && i < buckets) max[i] = Math.max(max[i] ?? 0, v);
  };
  const bucketOf = (t: number) => Math.min(buckets - 1, Math.floor((t - start) / width));
  for (const run of segments(samples, start, end, width)) {
    run.forEach((s, i) => {
      if (s.t >= start) raise(bucketOf(s.t), s.usedMiB);
      const next = run[i + 1];
      if (!next) return;
      for (let b = s.t < start ? 0 : bucketOf(s.t) + 1; b < bucketOf(next.t); b++) raise(b, Math.max(s.usedMiB, next.usedMiB));
    });
  }
  return max.map((v) => (v === undefined ? NO_DATA : BLOCKS[level(v, totalMiB)])).join('');
}

function level(used: number, total: number): number {
  const fraction = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  return Math.round(fraction * (BLOCKS.length - 1));
}

/** "chat-hermes 20,000 MiB · chat-qwen 30,000 MiB · unknown 1,000 MiB", largest first */
export function breakdown(s: VramSample): string {
  const parts = Object.entries(s.byModel ?? {})
    .filter(([, miB]) => miB > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([model, miB]) => `${model} ${grouped(miB)} MiB`);
  parts.push(`unknown ${grouped(unknownOf(s))} MiB`);
  return parts.join(' · ');
}

/**
 * Two lines per GPU for the shell and exec:
 * `GPU 0 H100 ▁▂▃▅▇█▇▅ 72,915 / 81,559 MiB (89 %) · high at 95 %`, then the newest sample per model.
 */
export function gpuSparkline(gpu: GpuHistory, range: TimeRange, buckets = 60): string[] {
  const { start, end } = range;
  const line = sparkline(gpu.samples, gpu.totalMiB, start, end, buckets);
  const newest = gpu.samples.filter((s) => s.t >= start && s.t <= end).reduce<VramSample | undefined>((a, s) => (!a || s.t > a.t ? s : a), undefined);
  const head = `GPU ${gpu.index} ${shortGpuName(gpu.name)} ${line}`;
  if (!newest) return [`${head} no samples · ${grouped(gpu.totalMiB)} MiB · high at ${gpu.highPct} %`];
  const stale = end - newest.t > STALE_MS ? ` at ${agoLabel(newest.t, end)}` : '';
  return [`${head} ${usage(newest.usedMiB, gpu.totalMiB)}${stale} · high at ${gpu.highPct} %`, `  ${breakdown(newest)}`];
}

/** The text form of the chart: every GPU of the host over the window. */
export function vramSparklines(history: VramHistory, buckets = 60): string[] {
  const range = windowOf(history);
  return history.gpus.flatMap((gpu) => gpuSparkline(gpu, range, buckets));
}
