import type { VramSample } from './history.js';
import { layersOf } from './stack.js';
import { el, points } from './svg.js';

export interface Scale {
  x: (t: number) => number;
  y: (miB: number) => number;
}

/** The sample with the most VRAM in each px column: a spike stays visible, the SVG stays small. */
function perColumn(segment: readonly VramSample[], scale: Scale): VramSample[] {
  const out: VramSample[] = [];
  let column = Number.NaN;
  for (const s of segment) {
    const c = Math.floor(scale.x(s.t));
    const last = out.at(-1);
    if (c === column && last) {
      if (s.usedMiB > last.usedMiB) out[out.length - 1] = s;
    } else {
      out.push(s);
      column = c;
    }
  }
  return out;
}

/**
 * The stacked areas of one run of samples without a hole: a polygon per layer (unknown at the
 * bottom, then the models in `models` order) and the outline of the total used on top. A run of a
 * single sample is drawn 2 px wide so it is seen.
 */
export function stackedAreas(segment: readonly VramSample[], models: readonly string[], fills: readonly string[], outline: string, scale: Scale): string {
  const samples = perColumn(segment, scale);
  const xs = samples.map((s) => scale.x(s.t));
  const cumulative = samples.map((s) => {
    const { unknownMiB, modelMiB } = layersOf(s, models);
    const tops = [unknownMiB];
    for (const m of modelMiB) tops.push(tops.at(-1)! + m);
    return tops;
  });
  if (samples.length === 1) {
    xs.splice(0, 1, xs[0]! - 1, xs[0]! + 1);
    cumulative.push(cumulative[0]!);
  }
  const parts: string[] = [];
  for (let layer = 0; layer <= models.length; layer++) {
    if (cumulative.every((c) => c[layer] === (layer === 0 ? 0 : c[layer - 1]))) continue;
    const upper = xs.map((x, i) => [x, scale.y(cumulative[i]![layer]!)] as const);
    const lower = xs.map((x, i) => [x, scale.y(layer === 0 ? 0 : cumulative[i]![layer - 1]!)] as const).reverse();
    parts.push(el('polygon', { points: points([...upper, ...lower]), fill: fills[layer] }));
  }
  const top = xs.map((x, i) => [x, scale.y(cumulative[i]!.at(-1)!)] as const);
  parts.push(el('polyline', { points: points(top), fill: 'none', stroke: outline, 'stroke-width': 1.5, 'stroke-linejoin': 'round' }));
  return parts.join('');
}
