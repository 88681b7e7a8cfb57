/** Colours of the chart: light background, models from a palette without red (the threshold) or grey (unknown). */
export const COLORS = {
  background: '#ffffff',
  plot: '#ffffff',
  grid: '#e5e7eb',
  axis: '#6b7280',
  text: '#111827',
  muted: '#6b7280',
  used: '#1f2937',
  high: '#dc2626',
  resolve: '#f4a3a3',
  unknown: '#d1d5db',
  unknownStripe: '#9ca3af',
  event: '#374151',
  crash: '#7c2d12',
  noData: '#8b95a5',
} as const;

export const MODEL_PALETTE = [
  '#4e79a7', // blue
  '#f28e2b', // orange
  '#59a14f', // green
  '#b07aa1', // purple
  '#76b7b2', // teal
  '#edc948', // yellow
  '#9c755f', // brown
  '#a0cbe8', // light blue
  '#8cd17d', // light green
  '#d37295', // magenta
] as const;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A colour per model, fixed by its name so a model looks the same in every chart. Two names that
 * hash to the same colour in one chart: the later name (in sorted order) takes the next free one.
 */
export function modelColors(models: readonly string[]): Map<string, string> {
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const model of [...new Set(models)].sort()) {
    let slot = fnv1a(model) % MODEL_PALETTE.length;
    for (let tries = 0; taken.has(slot) && tries < MODEL_PALETTE.length; tries++) slot = (slot + 1) % MODEL_PALETTE.length;
    taken.add(slot);
    out.set(model, MODEL_PALETTE[slot]!);
  }
  return out;
}
