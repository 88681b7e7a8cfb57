import type { VramSample } from './history.js';

/** VRAM of one sample split into the layers of the stacked chart, bottom first. */
export interface Layers {
  /** usedMiB less what models hold: processes that are no known model and the driver's share */
  unknownMiB: number;
  /** in the order given to `layersOf` */
  modelMiB: number[];
}

const positive = (n: number | undefined) => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

export function unknownOf(s: VramSample): number {
  const models = Object.values(s.byModel ?? {}).reduce((sum, n) => sum + positive(n), 0);
  return Math.max(0, positive(s.usedMiB) - models);
}

/** Unknown at the bottom, then the models; their sum is capped at usedMiB. */
export function layersOf(s: VramSample, models: readonly string[]): Layers {
  const used = positive(s.usedMiB);
  const unknownMiB = unknownOf(s);
  let room = used - unknownMiB;
  const modelMiB = models.map((m) => {
    const held = Math.min(room, positive(s.byModel?.[m]));
    room -= held;
    return held;
  });
  return { unknownMiB, modelMiB };
}

/**
 * The models of a chart, in stacking order: the one that appears first at the bottom (so the
 * stack grows as models start), ties by name.
 */
export function modelOrder(samples: readonly VramSample[]): string[] {
  const first = new Map<string, number>();
  for (const s of samples) {
    for (const [model, miB] of Object.entries(s.byModel ?? {})) {
      if (positive(miB) > 0 && !first.has(model)) first.set(model, s.t);
    }
  }
  return [...first.entries()].sort(([a, ta], [b, tb]) => ta - tb || (a < b ? -1 : a > b ? 1 : 0)).map(([m]) => m);
}
