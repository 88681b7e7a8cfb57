import { COLORS } from './colors.js';
import { FONT, LEGEND_ROW, MARGIN_LEFT, WIDTH, textWidth } from './layout.js';
import { rect, text } from './svg.js';

export interface LegendItem {
  label: string;
  fill: string;
}

const SWATCH = 13;
const ITEM_GAP = 22;

interface Placed extends LegendItem {
  x: number;
  row: number;
}

function place(items: readonly LegendItem[]): Placed[] {
  const right = WIDTH - 16;
  let x = MARGIN_LEFT;
  let row = 0;
  return items.map((item) => {
    const w = SWATCH + 6 + textWidth(item.label, FONT.label);
    if (x > MARGIN_LEFT && x + w > right) {
      row++;
      x = MARGIN_LEFT;
    }
    const placed = { ...item, x, row };
    x += w + ITEM_GAP;
    return placed;
  });
}

export const legendRows = (items: readonly LegendItem[]) => (items.length ? Math.max(...place(items).map((p) => p.row)) + 1 : 0);

/** Swatches with their labels, left to right, wrapping onto more rows. */
export function legend(items: readonly LegendItem[], top: number): string {
  return place(items)
    .map((p) => {
      const y = top + p.row * LEGEND_ROW;
      return rect(p.x, y, SWATCH, SWATCH, { fill: p.fill, stroke: COLORS.axis, 'stroke-width': 0.5 }) + text(p.x + SWATCH + 6, y + 11.5, p.label, { 'font-size': FONT.label, fill: COLORS.text });
    })
    .join('');
}
