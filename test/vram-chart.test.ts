/**
 * The VRAM chart of `/vram [host]` and its text form, checked the way a person reads them: the
 * pixels of the rendered image (where the threshold line lies, which colours a column of the
 * stack holds, that a hole stays empty) and the characters of the sparkline.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartInput } from '../src/bot/vram/stored.js';
import { configSchema } from '../src/config/schema.js';
import { readHistory, recordModelEvent, writeSamples } from '../src/state/vram-history.js';
import { Downsampler } from '../src/worker/vram/downsample.js';
import { deleteKeys, REDIS_URL, uniqueName } from './support/env.js';
import { rasterise, renderVramChart, type PlotBox, type RasterOptions, type VramChart } from '../src/bot/vram/chart.js';
import { COLORS, modelColors } from '../src/bot/vram/colors.js';
import type { GpuHistory, VramHistory, VramSample } from '../src/bot/vram/history.js';
import { BLOCKS, NO_DATA, vramSparklines } from '../src/bot/vram/sparkline.js';

const MIN = 60_000;
const NOW = Date.UTC(2025, 5, 2, 14, 10);
const START = NOW - 60 * MIN;
const TOTAL = 81_559;
const HERMES = 'chat-hermes-3-llama-3.1-8b';
const QWEN = 'chat-qwen2.5-0.5b-vllm';
/** the worker was offline from 35 to 28 min ago */
const OFFLINE = [35, 28] as const;

/**
 * An hour as the storage keeps it: 1 min apart up to 10 min ago, 1 s apart since. Hermes holds
 * 20,000 MiB from 50 min ago, Qwen 50,000 MiB from 20 min ago (58,000 from 5 min ago), and 1,000
 * MiB are held by no model throughout.
 */
function samples(offline: readonly [number, number] | null = OFFLINE): VramSample[] {
  const times: number[] = [];
  for (let t = START; t < NOW - 10 * MIN; t += MIN) times.push(t);
  for (let t = NOW - 10 * MIN; t <= NOW; t += 1000) times.push(t);
  return times
    .filter((t) => !offline || t < NOW - offline[0] * MIN || t > NOW - offline[1] * MIN)
    .map((t) => {
      const byModel: Record<string, number> = {};
      if (t >= NOW - 50 * MIN) byModel[HERMES] = 20_000;
      if (t >= NOW - 20 * MIN) byModel[QWEN] = t >= NOW - 5 * MIN ? 58_000 : 50_000;
      const models = Object.values(byModel).reduce((a, b) => a + b, 0);
      return { t, usedMiB: models + 1_000, byModel };
    });
}

const h100 = (over: Partial<GpuHistory> = {}): GpuHistory => ({
  index: 0,
  name: 'NVIDIA H100 80GB HBM3',
  totalMiB: TOTAL,
  samples: samples(),
  highPct: 95,
  resolvePct: 85,
  events: [
    { t: NOW - 50 * MIN, model: HERMES, kind: 'start', by: 'alice' },
    { t: NOW - 20 * MIN, model: QWEN, kind: 'start', by: 'bob' },
  ],
  ...over,
});

const lab = (gpus: GpuHistory[]): VramHistory => ({ host: 'gpu-1', gpus, now: NOW });

type Rgb = readonly [number, number, number];

const rgb = (hex: string): Rgb => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
const near = (a: Rgb, b: Rgb, tolerance: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

/** The rendered image's pixels, and where things lie on it. */
function image(chart: VramChart, opts: RasterOptions = {}) {
  const img = rasterise(chart.svg, opts);
  const { pixels, width } = img;
  const at = (x: number, y: number): Rgb => {
    const i = (Math.round(y) * width + Math.round(x)) * 4;
    return [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
  };
  const xOf = (plot: PlotBox, minutesAgo: number) => plot.x + plot.width * (1 - minutesAgo / 60);
  const yOf = (plot: PlotBox, miB: number, total = TOTAL) => plot.y + plot.height * (1 - miB / total);
  /** the colours down one column of a plot, top to bottom, inside its border */
  const column = (plot: PlotBox, x: number, fromMiB = TOTAL, toMiB = 0, total = TOTAL) => {
    const out: Rgb[] = [];
    for (let y = Math.ceil(yOf(plot, fromMiB, total)) + 1; y <= Math.floor(yOf(plot, toMiB, total)) - 1; y++) out.push(at(x, y));
    return out;
  };
  return { img, at, xOf, yOf, column };
}

const has = (colours: readonly Rgb[], hex: string, tolerance = 6) => colours.some((c) => near(c, rgb(hex), tolerance));
/** the unknown layer's hatch: greys, lighter than text and darker than the grid, whatever the anti-aliasing made of them */
const isHatch = ([r, g, b]: Rgb) => Math.max(r, g, b) - Math.min(r, g, b) <= 24 && (r + g + b) / 3 >= 110 && (r + g + b) / 3 <= 225;
const hasHatch = (colours: readonly Rgb[]) => colours.some(isHatch);
const WHITE = rgb(COLORS.background);
const GRID = rgb(COLORS.grid);

describe('the VRAM chart', () => {
  const chart = renderVramChart(lab([h100()]));
  const { img, at, xOf, yOf, column } = image(chart);
  const plot = chart.plots[0]!;
  const colour = modelColors([HERMES, QWEN]);

  it('is a PNG of about 1000 × 360 for one GPU', () => {
    writeFileSync(join(tmpdir(), 'labops-vram-chart.png'), chart.png);
    expect([...chart.png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(chart.png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect([chart.png.readUInt32BE(16), chart.png.readUInt32BE(20)]).toEqual([chart.width, chart.height]);
    expect(chart.width).toBe(1000);
    expect(chart.height).toBeGreaterThan(300);
    expect(chart.height).toBeLessThan(400);
    expect([img.width, img.height]).toEqual([chart.width, chart.height]);
    expect(chart.svg).toContain('gpu-1 · GPU 0 · H100 80GB HBM3');
    expect(chart.svg).toContain('79,000 / 81,559 MiB (97 %)');
  });

  it('draws the VRAM-high line in red at 95 % of the total, and red nowhere else in the plot', () => {
    const red = rgb(COLORS.high);
    const redPerRow = new Map<number, number>();
    for (let y = plot.y; y < plot.y + plot.height; y++) {
      let n = 0;
      for (let x = plot.x + 1; x < plot.x + plot.width - 1; x++) if (near(at(x, y), red, 40)) n++;
      if (n) redPerRow.set(y, n);
    }
    const y95 = yOf(plot, 0.95 * TOTAL);
    const line = Math.max(...redPerRow.values());
    // dashed 8 on, 4 off: about two thirds of the width
    expect(line).toBeGreaterThan(plot.width / 2);
    const [rowOfLine] = [...redPerRow.entries()].find(([, n]) => n === line)!;
    expect(Math.abs(rowOfLine - y95)).toBeLessThanOrEqual(1.5);
    for (const [y, n] of redPerRow) if (n > 2) expect(Math.abs(y - y95), `red row ${y} (${n} px)`).toBeLessThanOrEqual(2);
  });

  it('draws the resolve level fainter, at 85 %', () => {
    const y85 = Math.round(yOf(plot, 0.85 * TOTAL));
    const row = [-1, 0, 1].map((d) => Array.from({ length: 200 }, (_, i) => at(plot.x + 20 + i, y85 + d)));
    expect(row.some((r) => has(r, COLORS.resolve, 40))).toBe(true);
    expect(row.some((r) => has(r, COLORS.high, 40))).toBe(false);
  });

  it('stacks both models over the unknown baseline after the second start', () => {
    for (const minutesAgo of [15, 10.5, 2]) {
      const col = column(plot, xOf(plot, minutesAgo));
      expect(has(col, colour.get(HERMES)!), `hermes at -${minutesAgo} min`).toBe(true);
      expect(has(col, colour.get(QWEN)!), `qwen at -${minutesAgo} min`).toBe(true);
      expect(hasHatch(col.slice(-4)), `unknown at -${minutesAgo} min`).toBe(true);
    }
    // bottom to top: unknown, Hermes (started first), Qwen
    const x = xOf(plot, 15);
    expect(near(at(x, yOf(plot, 10_000)), rgb(colour.get(HERMES)!), 6)).toBe(true);
    expect(near(at(x, yOf(plot, 50_000)), rgb(colour.get(QWEN)!), 6)).toBe(true);
    expect(near(at(x, yOf(plot, 76_000)), WHITE, 6) || near(at(x, yOf(plot, 76_000)), GRID, 6)).toBe(true);
  });

  it('shows only the baseline before the first start', () => {
    const x = xOf(plot, 55);
    const baseline = column(plot, x, 1_000, 0);
    expect(hasHatch(baseline)).toBe(true);
    const above = column(plot, x, TOTAL, 2_500);
    for (const model of [HERMES, QWEN]) expect(has(above, colour.get(model)!, 30)).toBe(false);
    expect(above.filter((c) => near(c, WHITE, 6) || near(c, GRID, 6)).length).toBeGreaterThan(above.length - 6);
  });

  it('leaves the hours the worker was offline empty', () => {
    for (const minutesAgo of [34, 31, 29]) {
      const x = xOf(plot, minutesAgo);
      const lower = column(plot, x, TOTAL / 2, 0);
      expect(hasHatch(lower), `unknown at -${minutesAgo} min`).toBe(false);
      for (const c of [colour.get(HERMES)!, colour.get(QWEN)!]) expect(has(lower, c, 30), `${c} at -${minutesAgo} min`).toBe(false);
      expect(near(at(x, yOf(plot, 10_000)), WHITE, 3)).toBe(true);
    }
  });

  it('gives each GPU its own panel, stacked vertically', () => {
    const rtx: GpuHistory = {
      index: 1,
      name: 'NVIDIA GeForce RTX 4090',
      totalMiB: 24_564,
      samples: samples(null).map((s) => ({ t: s.t, usedMiB: 12_000, byModel: { 'vision-qwen3-vl-4b-ollama': 11_500 } })),
      highPct: 90,
      resolvePct: 80,
    };
    const two = renderVramChart(lab([h100(), rtx]));
    writeFileSync(join(tmpdir(), 'labops-vram-chart-2gpu.png'), two.png);
    const { at: at2, yOf: yOf2, column: column2, xOf: xOf2 } = image(two);
    expect(two.plots.map((p) => p.gpu)).toEqual([0, 1]);
    const [first, second] = two.plots as [PlotBox, PlotBox];
    expect(second.y).toBeGreaterThan(first.y + first.height + 40);
    expect(two.height).toBeGreaterThan(1.8 * chart.height);
    expect(two.svg).toContain('gpu-1 · GPU 1 · GeForce RTX 4090');
    // each panel its own threshold line
    const y90 = Math.round(yOf2(second, 0.9 * 24_564, 24_564));
    const redAt = (y: number) => Array.from({ length: 120 }, (_, i) => at2(second.x + 10 + i, y)).filter((c) => near(c, rgb(COLORS.high), 40)).length;
    expect(Math.max(redAt(y90 - 1), redAt(y90), redAt(y90 + 1))).toBeGreaterThan(60);
    expect(has(column2(second, xOf2(second, 30), 24_564, 0, 24_564), modelColors(['vision-qwen3-vl-4b-ollama']).get('vision-qwen3-vl-4b-ollama')!)).toBe(true);
    expect(has(column2(first, xOf2(first, 30), TOTAL, 0), modelColors(['vision-qwen3-vl-4b-ollama']).get('vision-qwen3-vl-4b-ollama')!)).toBe(false);
  });

  it('keeps labels of crowded events apart and gives a crash its label first', () => {
    const x = (m: number) => NOW - m * MIN;
    const events: GpuHistory['events'] = [
      { t: x(50), model: 'vision-qwen3-vl-4b-ollama', kind: 'start', by: 'carol' },
      { t: x(35), model: 'embed-arctic', kind: 'start' },
      { t: x(34), model: 'embed-arctic', kind: 'crash' },
      { t: x(33), model: 'embed-arctic', kind: 'start', by: 'idle policy' },
      { t: x(20), model: 'vision-qwen3-vl-4b-ollama', kind: 'stop', by: 'idle unload' },
      { t: x(1), model: 'chat-mistral-7b-ollama', kind: 'stop' },
    ];
    const busy = renderVramChart(lab([h100({ events })]));
    writeFileSync(join(tmpdir(), 'labops-vram-chart-events.png'), busy.png);
    expect(busy.svg).toContain('embed-arctic crashed');
    expect(busy.svg).toContain('chat-mistral-7b-ollama stopped');
    expect(busy.svg).toContain('vision-qwen3-vl-4b-ollama stopped · idle unload');
  });

  it('escapes model names and who acted: <, & and quotes do not break the SVG', () => {
    const evil = `a<b>&"c'd\u0001</text><script>`;
    const gpu = h100({
      samples: samples(null).map((s) => ({ ...s, byModel: { ...s.byModel, [evil]: 0 < s.t - (NOW - 30 * MIN) ? 5_000 : 0 } })),
      events: [{ t: NOW - 30 * MIN, model: evil, kind: 'crash', by: '"Eve" <eve@lab>' }],
    });
    const escaped = renderVramChart(lab([gpu]));
    expect(escaped.svg).not.toContain('<script>');
    expect(escaped.svg).not.toContain('a<b>');
    expect(escaped.svg).toContain('a&lt;b&gt;&amp;&quot;c&#39;d&lt;/text&gt;&lt;script&gt;');
    expect(escaped.svg).not.toContain('\u0001');
    const { column: col, xOf: x } = image(escaped);
    expect(has(col(escaped.plots[0]!, x(escaped.plots[0]!, 10)), modelColors([evil, HERMES, QWEN]).get(evil)!)).toBe(true);
  });

  it('renders without any font (a GPU host may have none): same size, text left out', () => {
    const font = { loadSystemFonts: false, fontDirs: [mkdtempSync(join(tmpdir(), 'no-fonts-'))], defaultFontFamily: 'DejaVu Sans' };
    const bare = renderVramChart(lab([h100()]), { font });
    expect([bare.width, bare.height]).toEqual([chart.width, chart.height]);
    const titleInk = (pixels: Buffer) => {
      let n = 0;
      for (let y = 8; y < plot.y - 40; y++) for (let x = 0; x < chart.width; x++) if (pixels[(y * chart.width + x) * 4]! < 128) n++;
      return n;
    };
    const bareImage = image(bare, { font });
    expect(titleInk(img.pixels)).toBeGreaterThan(200);
    expect(titleInk(bareImage.img.pixels)).toBe(0);
    // the plot is all there
    const { column: bareColumn, xOf: bareX } = bareImage;
    expect(has(bareColumn(plot, bareX(plot, 15)), colour.get(QWEN)!)).toBe(true);
  });

  it('gives the age of the newest sample when the worker stopped sending them', () => {
    const stale = renderVramChart(lab([h100({ samples: samples().filter((x) => x.t <= NOW - 15 * MIN) })]));
    expect(stale.svg).toContain('71,000 / 81,559 MiB (87 %) at −15 min');
    expect(stale.svg).toContain('no data');
  });

  it('says so when there are no samples or no GPU', () => {
    const empty = renderVramChart(lab([h100({ samples: [], events: [] })]));
    expect(empty.svg).toContain('no samples in this window');
    expect(empty.svg).toContain('no data');
    const none = renderVramChart(lab([]));
    expect(none.svg).toContain('gpu-1: no GPU');
    expect(none.height).toBeGreaterThan(0);
  });

  it('renders one GPU with 3,600 samples quickly', () => {
    const t0 = START;
    const dense = h100({ samples: Array.from({ length: 3600 }, (_, i) => ({ t: t0 + i * 1000, usedMiB: 21_000 + (i % 600) * 50, byModel: { [HERMES]: 20_000, [QWEN]: (i % 600) * 50 } })) });
    renderVramChart(lab([dense]));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const begin = performance.now();
      renderVramChart(lab([dense]));
      times.push(performance.now() - begin);
    }
    const median = times.sort((a, b) => a - b)[2]!;
    // tens of ms; the bound is loose so a busy machine passes, and catches only something gone badly wrong
    expect(median).toBeLessThan(1_000);
  });
});

describe('the sparkline', () => {
  const lines = vramSparklines(lab([h100()]));
  const spark = (line: string) => /^GPU 0 H100 80GB HBM3 (.{60}) /u.exec(line)?.[1] ?? '';

  it('is one line per GPU with the newest numbers, and the models below it', () => {
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^GPU 0 H100 80GB HBM3 .{60} 79,000 \/ 81,559 MiB \(97 %\) · high at 95 %$/u);
    expect(lines[1]).toBe(`  ${QWEN} 58,000 MiB · ${HERMES} 20,000 MiB · unknown 1,000 MiB`);
  });

  it('has 60 buckets from ▁ (nearly empty) to █ (the newest, over 95 %), blank while the worker was offline', () => {
    const s = spark(lines[0]!);
    expect([...s]).toHaveLength(60);
    expect([...s].every((c) => BLOCKS.includes(c) || c === NO_DATA)).toBe(true);
    expect(s.slice(0, 10)).toBe('▁'.repeat(10));
    expect(s.at(-1)).toBe('█');
    // the last sample before the hole is at -36 min (bucket 24), the first after at -27 min (bucket 33)
    expect(s.slice(25, 33)).toBe(NO_DATA.repeat(8));
    expect(s.slice(0, 25)).not.toContain(NO_DATA);
    expect(s.slice(33)).not.toContain(NO_DATA);
    // Hermes alone: 21,000 of 81,559 MiB is a quarter, ▂ or ▃
    expect(s.slice(12, 24)).toMatch(/^[▂▃]+$/u);
  });

  it('gives the age of the newest sample when the worker stopped sending them', () => {
    const [line] = vramSparklines(lab([h100({ samples: samples().filter((x) => x.t <= NOW - 15 * MIN) })]));
    expect(line).toMatch(/ 71,000 \/ 81,559 MiB \(87 %\) at −15 min · high at 95 %$/u);
    expect(spark(line!).slice(-14)).toBe(NO_DATA.repeat(14));
  });

  it('reads every GPU of the host, and says when one has no samples', () => {
    const two = vramSparklines(lab([h100(), h100({ index: 1, samples: [] })]));
    expect(two).toHaveLength(3);
    expect(two[2]).toMatch(/^GPU 1 H100 80GB HBM3 {62}no samples · 81,559 MiB · high at 95 %$/u);
  });
});

describe('the chart of a history stored in Redis', () => {
  const prefix = uniqueName('vc');
  const host = configSchema.parse({ hosts: { 'gpu-1': { alerts: { vramHigh: { percent: 90, resolvePercent: 80 } } } } }).hosts['gpu-1']!;
  const now = Date.UTC(2026, 0, 3, 9, 0, 0);
  const GPUS = [
    { index: 0, uuid: 'GPU-a', name: 'NVIDIA H100 80GB HBM3', totalMiB: TOTAL },
    { index: 1, uuid: 'GPU-b', name: 'NVIDIA H100 80GB HBM3', totalMiB: TOTAL },
  ];
  let redis: Redis;
  let chart: VramChart;
  let input: VramHistory;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // as the worker writes it: Hermes on GPU 0 from 40 min ago, 2,000 MiB unknown on both GPUs
    const d = new Downsampler();
    for (let t = now - 70 * MIN; t <= now; t += t < now - 10 * MIN ? 15_000 : 1_000) {
      const byModel: Record<string, number> = t >= now - 40 * MIN ? { [HERMES]: 40_000 } : {};
      const out = d.push(t, [
        { index: 0, sample: { usedMiB: 2_000 + (byModel[HERMES] ?? 0), byModel } },
        { index: 1, sample: { usedMiB: 2_000 } },
      ]);
      if (out.fine.size || out.coarse.size) await writeSamples(redis, prefix, 'gpu-1', { gpus: GPUS, ...out });
    }
    await recordModelEvent(redis, prefix, 'gpu-1', { t: now - 40 * MIN, model: HERMES, kind: 'start', by: 'olga' });
    input = chartInput(await readHistory(redis, prefix, 'gpu-1', { now, windowMs: 60 * MIN }), host, now);
    chart = renderVramChart(input);
    writeFileSync(join(tmpdir(), 'labops-vram-chart-stored.png'), chart.png);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('takes the thresholds from the host alert settings and puts an event on the GPU its model used', () => {
    expect(input.gpus.map((g) => [g.highPct, g.resolvePct])).toEqual([
      [90, 80],
      [90, 80],
    ]);
    expect(input.gpus[0]!.events).toEqual([{ t: now - 40 * MIN, model: HERMES, kind: 'start', by: 'olga' }]);
    expect(input.gpus[1]!.events).toEqual([]);
    expect(chart.svg).toContain(`${HERMES} started · olga`);
  });

  it('is 1000 px wide with a panel per GPU, and draws the 90 % line where 90 % of the total lies', () => {
    expect(chart.width).toBe(1000);
    expect(chart.plots).toHaveLength(2);
    expect(chart.height).toBeGreaterThan(600);
    const { at, yOf } = image(chart);
    for (const plot of chart.plots) {
      const y90 = yOf(plot, 0.9 * TOTAL);
      const red = (y: number) => Array.from({ length: plot.width - 2 }, (_, i) => at(plot.x + 1 + i, y)).filter((c) => near(c, rgb(COLORS.high), 40)).length;
      const rows = [-2, -1, 0, 1, 2].map((d) => red(Math.round(y90) + d));
      expect(Math.max(...rows), `GPU ${plot.gpu}`).toBeGreaterThan(plot.width / 2);
      // and not at 95 % (the default), where no red should be
      expect(red(Math.round(yOf(plot, 0.95 * TOTAL)))).toBeLessThan(5);
    }
  });

  it('fills the model and the unknown VRAM at the points where they were held', () => {
    const { at, xOf, yOf, column } = image(chart);
    const [gpu0, gpu1] = chart.plots as [PlotBox, PlotBox];
    const hermes = modelColors([HERMES]).get(HERMES)!;
    expect(near(at(xOf(gpu0, 20), yOf(gpu0, 20_000)), rgb(hermes), 6)).toBe(true);
    expect(near(at(xOf(gpu0, 50), yOf(gpu0, 20_000)), WHITE, 6) || near(at(xOf(gpu0, 50), yOf(gpu0, 20_000)), GRID, 6)).toBe(true);
    expect(hasHatch(column(gpu0, xOf(gpu0, 50), 1_500, 0))).toBe(true);
    expect(hasHatch(column(gpu1, xOf(gpu1, 5), 1_500, 0))).toBe(true);
    expect(has(column(gpu1, xOf(gpu1, 5)), hermes, 30)).toBe(false);
    // the start's mark: a line through the plot at −40 min
    const x40 = Math.round(xOf(gpu0, 40));
    const marks = [-1, 0, 1].map((d) => near(at(x40 + d, yOf(gpu0, 70_000)), rgb(COLORS.event), 60));
    expect(marks.some(Boolean)).toBe(true);
  });
});
