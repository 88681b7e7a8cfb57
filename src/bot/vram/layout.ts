/** Sizes of the chart in px: 1000 wide, about 360 per GPU, read at Discord's natural size. */
export const WIDTH = 1000;
export const MARGIN_LEFT = 64;
export const MARGIN_RIGHT = 100;
export const PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;

export const PAD_TOP = 10;
export const TITLE_HEIGHT = 32;
export const LANE_ROW = 16;
export const LANE_ROWS = 2;
export const PLOT_HEIGHT = 220;
export const X_AXIS_HEIGHT = 46;
export const LEGEND_ROW = 21;
export const PAD_BOTTOM = 8;

export const FONT = { title: 18, label: 13, small: 12 } as const;

/** rough advance of DejaVu Sans, enough to keep labels from running into each other */
export const textWidth = (text: string, size: number) => text.length * size * 0.6;

/** Vertical positions inside one GPU's panel, relative to its top. */
export function panelRows(legendRows: number) {
  const title = PAD_TOP + 21;
  const lane = PAD_TOP + TITLE_HEIGHT;
  const plotTop = lane + LANE_ROW * LANE_ROWS + 4;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const legend = plotBottom + X_AXIS_HEIGHT;
  const height = legend + legendRows * LEGEND_ROW + PAD_BOTTOM;
  return { title, lane, plotTop, plotBottom, legend, height };
}
