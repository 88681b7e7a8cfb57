import type { VramSample } from './history.js';

/** a step this much longer than its neighbouring steps is a hole in the history */
const GAP_FACTOR = 2;
/** the coarsest resolution kept is 1 min: no sample for longer than this is always a hole */
const MAX_STEP_MS = 5 * 60_000;

/**
 * The samples that matter for [start, end], split where the worker was offline, so that a hole
 * is drawn empty instead of bridged. The history mixes resolutions (1 s recent, 1 min older), so
 * a step counts as a hole relative to the steps beside it, and only when longer than `minGapMs`.
 */
export function segments(samples: readonly VramSample[], start: number, end: number, minGapMs = 0): VramSample[][] {
  const sorted = samples.filter((s) => Number.isFinite(s.t) && s.t <= end).sort((a, b) => a.t - b.t);
  const firstInside = sorted.findIndex((s) => s.t >= start);
  // the sample just before the window lets the area reach its left edge
  const from = firstInside === -1 ? Math.max(0, sorted.length - 1) : Math.max(0, firstInside - 1);
  const kept = sorted.slice(from);
  const steps = kept.slice(1).map((s, i) => s.t - kept[i]!.t);
  const out: VramSample[][] = [];
  let current: VramSample[] = [];
  kept.forEach((s, i) => {
    if (i > 0 && isHole(steps, i - 1, minGapMs)) {
      out.push(current);
      current = [];
    }
    current.push(s);
  });
  if (current.length) out.push(current);
  return out.filter((seg) => seg.at(-1)!.t >= start);
}

function isHole(steps: readonly number[], i: number, minGapMs: number): boolean {
  const step = steps[i]!;
  if (step <= minGapMs) return false;
  if (step > MAX_STEP_MS) return true;
  const beside = Math.max(steps[i - 1] ?? 0, steps[i + 1] ?? 0);
  return beside > 0 && step > GAP_FACTOR * beside;
}
