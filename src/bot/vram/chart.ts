import { Resvg, type RenderedImage, type ResvgRenderOptions } from '@resvg/resvg-js';
import { COLORS } from './colors.js';
import { FONT_FAMILY, fontOptions } from './fonts.js';
import { windowOf, type VramHistory } from './history.js';
import { FONT, WIDTH } from './layout.js';
import { gpuPanel, hatchDef, type PlotBox } from './panel.js';
import { el, line, text } from './svg.js';

export type { PlotBox };

export interface VramChart {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
  /** where each GPU's plot lies in the image, top to bottom */
  plots: PlotBox[];
}

const EMPTY_HEIGHT = 80;

/** The SVG of the chart: one panel per GPU, stacked top to bottom. */
export function vramChartSvg(history: VramHistory): { svg: string; width: number; height: number; plots: PlotBox[] } {
  const range = windowOf(history);
  const body: string[] = [];
  const plots: PlotBox[] = [];
  let y = 0;
  history.gpus.forEach((gpu, i) => {
    const panel = gpuPanel(history.host, gpu, range, `gpu${i}`);
    if (i > 0) body.push(line(0, y, WIDTH, y, { stroke: COLORS.grid, 'stroke-width': 2 }));
    body.push(el('g', { transform: `translate(0 ${y})` }, panel.svg));
    const { top, ...rest } = panel.plot;
    plots.push({ ...rest, y: y + top });
    y += panel.height;
  });
  if (!history.gpus.length) {
    body.push(text(16, 44, `${history.host}: no GPU`, { 'font-size': FONT.title, 'font-weight': 'bold', fill: COLORS.muted }));
    y = EMPTY_HEIGHT;
  }
  const height = Math.ceil(y);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT_FAMILY}, sans-serif">` +
    `<defs>${hatchDef}</defs>` +
    `<rect width="${WIDTH}" height="${height}" fill="${COLORS.background}"/>` +
    body.join('') +
    '</svg>';
  return { svg, width: WIDTH, height, plots };
}

/**
 * The chart `/vram [host]` attaches: used VRAM of each GPU over the last hour, stacked by model,
 * with the alert thresholds and the models' start/stop/crash events.
 */
export function renderVramChart(history: VramHistory, opts: RasterOptions = {}): VramChart {
  const { svg, width, height, plots } = vramChartSvg(history);
  return { svg, png: rasterise(svg, opts).asPng(), width, height, plots };
}

export interface RasterOptions {
  /** which fonts to draw text with; by default DejaVu Sans, found among the system's fonts */
  font?: ResvgRenderOptions['font'];
}

/** The chart's SVG as an image (its `.pixels` are RGBA, row by row). */
export function rasterise(svg: string, opts: RasterOptions = {}): RenderedImage {
  return new Resvg(svg, { font: opts.font ?? fontOptions(), background: COLORS.background }).render();
}
