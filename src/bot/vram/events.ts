import { COLORS } from './colors.js';
import type { ModelEvent } from './history.js';
import { FONT, LANE_ROW, LANE_ROWS, textWidth } from './layout.js';
import { crisp, el, line, text } from './svg.js';

const VERB = { start: 'started', stop: 'stopped', crash: 'crashed' } as const;
const GAP = 10;

export const eventLabel = (e: ModelEvent) => `${e.model} ${VERB[e.kind]}${e.by ? ` · ${e.by}` : ''}`;

/** ▲ start, ▼ stop, ✕ crash, drawn as shapes so they show without fonts */
function marker(e: ModelEvent, x: number, y: number): string {
  const c = e.kind === 'crash' ? COLORS.crash : COLORS.event;
  if (e.kind === 'start') return el('polygon', { points: `${x - 5},${y + 4} ${x + 5},${y + 4} ${x},${y - 5}`, fill: c });
  if (e.kind === 'stop') return el('polygon', { points: `${x - 5},${y - 4} ${x + 5},${y - 4} ${x},${y + 5}`, fill: c });
  return line(x - 4, y - 4, x + 4, y + 4, { stroke: c, 'stroke-width': 2 }) + line(x - 4, y + 4, x + 4, y - 4, { stroke: c, 'stroke-width': 2 });
}

interface Span {
  left: number;
  right: number;
}

interface Spot {
  row: number;
  /** where the text starts or, anchored at its end, ends */
  x: number;
  anchor: 'start' | 'end';
  text: string;
}

const overlaps = (a: Span, b: Span) => a.left < b.right + GAP && b.left < a.right + GAP;
const charWidth = textWidth('x', FONT.small);

/**
 * Where an event's label goes: beside its marker in the marker row (row 0, next to the plot), or
 * else above its marker in row 1; the first place where the whole label fits, else the roomiest
 * one with the label cut short, else nowhere.
 */
function spotFor(label: string, x: number, taken: readonly Span[][], own: Span, bounds: Span): Spot | null {
  const w = textWidth(label, FONT.small);
  const options: Spot[] = [
    { row: 0, x: x + 8, anchor: 'start', text: label },
    { row: 0, x: x - 8, anchor: 'end', text: label },
    { row: 1, x: x - 5, anchor: 'start', text: label },
    { row: 1, x: x + 5, anchor: 'end', text: label },
  ];
  const span = (o: Spot, width: number) => (o.anchor === 'start' ? { left: o.x, right: o.x + width } : { left: o.x - width, right: o.x });
  const free = (o: Spot, width: number) => {
    const sp = span(o, width);
    return sp.left >= bounds.left && sp.right <= bounds.right && taken[o.row]!.every((t) => t === own || !overlaps(sp, t));
  };
  const whole = options.find((o) => free(o, w));
  if (whole) return whole;
  let best: Spot | null = null;
  for (const o of options.filter((o) => o.anchor === 'start')) {
    let chars = label.length - 1;
    while (chars >= 6 && !free(o, (chars + 1) * charWidth)) chars--;
    if (chars >= 6 && (!best || chars + 1 > best.text.length)) best = { ...o, text: `${label.slice(0, chars)}…` };
  }
  return best;
}

/**
 * Start/stop/crash events: a thin vertical line through the plot and a marker in the row just
 * above it, with a label beside or above the marker where there is room.
 */
export function eventMarks(events: readonly ModelEvent[], x: (t: number) => number, area: { left: number; right: number; lane: number; plotBottom: number }): string {
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const xs = sorted.map((e) => crisp(x(e.t)));
  const taken: Span[][] = [xs.map((ex) => ({ left: ex - 6, right: ex + 6 })), []];
  const markerY = area.lane + LANE_ROW * (LANE_ROWS - 1) + LANE_ROW / 2;
  const rowY = (row: number) => markerY - row * LANE_ROW + 4;
  const marks: string[] = [];
  const labels: string[] = [];
  sorted.forEach((e, i) => {
    const ex = xs[i]!;
    const color = e.kind === 'crash' ? COLORS.crash : COLORS.event;
    marks.push(
      line(ex, markerY + 5, ex, area.plotBottom, {
        stroke: color,
        'stroke-width': e.kind === 'crash' ? 1.5 : 1,
        'stroke-dasharray': e.kind === 'start' ? undefined : '4 3',
        opacity: 0.85,
      }),
      marker(e, ex, markerY),
    );
  });
  // crashes get their labels first: they matter most when room is short
  const byPriority = sorted.map((e, i) => ({ e, i })).sort((a, b) => Number(b.e.kind === 'crash') - Number(a.e.kind === 'crash') || a.i - b.i);
  for (const { e, i } of byPriority) {
    const spot = spotFor(eventLabel(e), xs[i]!, taken, taken[0]![i]!, { left: area.left, right: area.right });
    if (!spot) continue;
    const w = textWidth(spot.text, FONT.small);
    taken[spot.row]!.push(spot.anchor === 'start' ? { left: spot.x, right: spot.x + w } : { left: spot.x - w, right: spot.x });
    labels.push(text(spot.x, rowY(spot.row), spot.text, { 'font-size': FONT.small, fill: e.kind === 'crash' ? COLORS.crash : COLORS.event, 'text-anchor': spot.anchor }));
  }
  return marks.join('') + labels.join('');
}
