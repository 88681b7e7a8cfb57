import { formatDuration } from '../../core/duration.js';

const GIB = 1024;
const MINUTE = 60_000;

/** GiB values for the y axis: a round step giving at most `max` ticks from 0 up to the total. */
export function gibTicks(totalMiB: number, max = 5): number[] {
  const totalGiB = totalMiB / GIB;
  const step = [0.5, 1, 2, 5, 10, 20, 40, 50, 100, 200, 500].find((s) => totalGiB / s <= max) ?? Math.ceil(totalGiB / max);
  const ticks: number[] = [];
  for (let g = 0; g <= totalGiB + 1e-9; g += step) ticks.push(g);
  return ticks;
}

export const gibLabel = (gib: number) => `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;

/** Times of the x-axis ticks, counted back from `end` in a round step; the last one is `end`. */
export function timeTicks(start: number, end: number, max = 7): number[] {
  const span = end - start;
  const step = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE).find((s) => span / s <= max - 1) ?? span;
  const ticks: number[] = [];
  for (let t = end; t >= start - 1; t -= step) ticks.unshift(t);
  return ticks;
}

/** "now", "−10 min", "−60 min", "−3 h" */
export function agoLabel(t: number, end: number): string {
  const ago = end - t;
  if (ago < 1000) return 'now';
  return ago <= 120 * MINUTE && ago % MINUTE === 0 ? `−${ago / MINUTE} min` : `−${formatDuration(ago)}`;
}

/** "13:20" in UTC */
export const clockLabel = (t: number) => new Date(t).toISOString().slice(11, 16);
