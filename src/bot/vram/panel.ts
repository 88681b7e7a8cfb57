import { agoLabel, clockLabel, gibLabel, gibTicks, timeTicks } from './axis.js';
import { stackedAreas, type Scale } from './areas.js';
import { COLORS, modelColors } from './colors.js';
import { eventMarks } from './events.js';
import { STALE_MS, type GpuHistory, type TimeRange, type VramSample } from './history.js';
import { FONT, MARGIN_LEFT, PLOT_HEIGHT, PLOT_WIDTH, WIDTH, panelRows } from './layout.js';
import { legend, legendRows, type LegendItem } from './legend.js';
import { segments } from './segments.js';
import { modelOrder, unknownOf } from './stack.js';
import { crisp, el, line, rect, text } from './svg.js';
import { grouped, percentOf, shortGpuName, usage } from './usage.js';

export const HATCH_ID = 'unknown-hatch';
/** the unknown layer: grey with darker diagonal stripes */
export const hatchDef = el(
  'pattern',
  { id: HATCH_ID, patternUnits: 'userSpaceOnUse', width: 6, height: 6, patternTransform: 'rotate(45)' },
  rect(0, 0, 6, 6, { fill: COLORS.unknown }) + rect(0, 0, 2, 6, { fill: COLORS.unknownStripe }),
);

/** where one GPU's plot lies in the image, in px */
export interface PlotBox {
  gpu: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Panel {
  svg: string;
  height: number;
  plot: Omit<PlotBox, 'y'> & { top: number };
}

/** a hole this wide or wider says "no data" */
const LABELLED_HOLE_PX = 70;

export function gpuPanel(host: string, gpu: GpuHistory, range: TimeRange, id: string): Panel {
  const { start, end } = range;
  const msPerPx = (end - start) / PLOT_WIDTH;
  const runs = segments(gpu.samples, start, end, 2 * msPerPx);
  const inWindow = runs.flat();
  const models = modelOrder(inWindow);
  const colors = modelColors(models);
  const fills = [`url(#${HATCH_ID})`, ...models.map((m) => colors.get(m)!)];
  const newest = inWindow.at(-1);
  const newestInside = newest && newest.t >= start ? newest : undefined;

  const items: LegendItem[] = [
    { label: `unknown / not a model${newestInside ? `  ${grouped(unknownOf(newestInside))} MiB` : ''}`, fill: fills[0]! },
    ...models.map((m) => {
      const held = newestInside?.byModel?.[m];
      return { label: held ? `${m}  ${grouped(held)} MiB` : m, fill: colors.get(m)! };
    }),
  ];
  const rows = panelRows(legendRows(items));
  const left = MARGIN_LEFT;
  const right = MARGIN_LEFT + PLOT_WIDTH;
  const total = gpu.totalMiB > 0 ? gpu.totalMiB : 1;
  const scale: Scale = {
    x: (t) => left + ((t - start) / (end - start)) * PLOT_WIDTH,
    y: (miB) => rows.plotBottom - (Math.min(Math.max(miB, 0), total) / total) * PLOT_HEIGHT,
  };
  const clip = `${id}-clip`;
  const parts: string[] = [];

  parts.push(el('clipPath', { id: clip }, rect(left, rows.plotTop, PLOT_WIDTH, PLOT_HEIGHT, {})));
  parts.push(rect(left, rows.plotTop, PLOT_WIDTH, PLOT_HEIGHT, { fill: COLORS.plot }));

  for (const g of gibTicks(total)) {
    const y = scale.y(g * 1024);
    if (g > 0) parts.push(line(left, crisp(y), right, crisp(y), { stroke: COLORS.grid, 'stroke-width': 1 }));
    parts.push(text(left - 6, y + 4, gibLabel(g), { 'font-size': FONT.small, fill: COLORS.muted, 'text-anchor': 'end' }));
  }
  const ticks = timeTicks(start, end);
  for (const t of ticks) {
    const x = scale.x(t);
    if (t > start && t < end) parts.push(line(crisp(x), rows.plotTop, crisp(x), rows.plotBottom, { stroke: COLORS.grid, 'stroke-width': 1 }));
    const last = t === ticks.at(-1);
    parts.push(text(x, rows.plotBottom + 17, agoLabel(t, end), { 'font-size': FONT.small, fill: COLORS.text, 'text-anchor': 'middle' }));
    parts.push(text(x, rows.plotBottom + 33, last ? `${clockLabel(t)} UTC` : clockLabel(t), { 'font-size': FONT.small, fill: COLORS.muted, 'text-anchor': 'middle' }));
  }

  parts.push(el('g', { 'clip-path': `url(#${clip})` }, runs.map((run) => stackedAreas(run, models, fills, COLORS.used, scale)).join('')));
  parts.push(holeLabels(runs, start, end, scale, rows.plotTop + PLOT_HEIGHT / 2));
  parts.push(thresholds(gpu, scale, right));
  const events = (gpu.events ?? []).filter((e) => e.t >= start && e.t <= end);
  parts.push(eventMarks(events, scale.x, { left: 8, right: WIDTH - 8, lane: rows.lane, plotBottom: rows.plotBottom }));
  // the border just outside the plot, so that it covers none of the plot's px
  parts.push(rect(left - 0.5, rows.plotTop - 0.5, PLOT_WIDTH + 1, PLOT_HEIGHT + 1, { fill: 'none', stroke: COLORS.axis, 'stroke-width': 1 }));

  parts.push(text(left, rows.title, `${host} · GPU ${gpu.index} · ${shortGpuName(gpu.name)}`, { 'font-size': FONT.title, 'font-weight': 'bold', fill: COLORS.text }));
  parts.push(title(gpu, newestInside, end, rows.title));
  parts.push(legend(items, rows.legend));

  return { svg: parts.join(''), height: rows.height, plot: { gpu: gpu.index, x: left, top: rows.plotTop, width: PLOT_WIDTH, height: PLOT_HEIGHT } };
}

function title(gpu: GpuHistory, newest: VramSample | undefined, end: number, y: number): string {
  const a = { 'font-size': FONT.title, 'font-weight': 'bold', 'text-anchor': 'end' };
  if (!newest) return text(WIDTH - 16, y, `${grouped(gpu.totalMiB)} MiB · no samples in this window`, { ...a, fill: COLORS.muted });
  const high = percentOf(newest.usedMiB, gpu.totalMiB) >= gpu.highPct;
  const stale = end - newest.t > STALE_MS ? ` at ${agoLabel(newest.t, end)}` : '';
  return text(WIDTH - 16, y, `${usage(newest.usedMiB, gpu.totalMiB)}${stale}`, { ...a, fill: high ? COLORS.high : COLORS.text });
}

/** the VRAM-high level (red, dashed) and the resolve level (fainter), labelled in the right margin */
function thresholds(gpu: GpuHistory, scale: Scale, right: number): string {
  const yHigh = Math.round(scale.y((gpu.highPct / 100) * gpu.totalMiB));
  const yResolve = crisp(scale.y((gpu.resolvePct / 100) * gpu.totalMiB));
  const resolveLabelY = Math.max(yResolve + 4, yHigh + 4 + 13);
  return [
    line(MARGIN_LEFT, yResolve, right, yResolve, { stroke: COLORS.resolve, 'stroke-width': 1, 'stroke-dasharray': '4 4' }),
    line(MARGIN_LEFT, yHigh, right, yHigh, { stroke: COLORS.high, 'stroke-width': 2, 'stroke-dasharray': '8 4' }),
    text(right + 6, yHigh + 4, `high ${gpu.highPct} %`, { 'font-size': FONT.small, 'font-weight': 'bold', fill: COLORS.high }),
    text(right + 6, resolveLabelY, `resolve ${gpu.resolvePct} %`, { 'font-size': FONT.small, fill: COLORS.muted }),
  ].join('');
}

/** "no data" in the middle of each wide stretch without samples */
function holeLabels(runs: readonly VramSample[][], start: number, end: number, scale: Scale, y: number): string {
  const covered = runs.map((r) => [Math.max(start, r[0]!.t), r.at(-1)!.t] as const);
  const edges = [start, ...covered.flat(), end];
  const out: string[] = [];
  for (let i = 0; i < edges.length; i += 2) {
    const [x1, x2] = [scale.x(edges[i]!), scale.x(edges[i + 1]!)];
    if (x2 - x1 >= LABELLED_HOLE_PX) out.push(text((x1 + x2) / 2, y, 'no data', { 'font-size': FONT.label, 'font-style': 'italic', fill: COLORS.noData, 'text-anchor': 'middle' }));
  }
  return out.join('');
}
