import type { BotContext } from '../context.js';
import { ago, bar } from '../../core/format.js';
import { fields, heading, image, info, table, text, type Attachment, type Block, type Field, type Reply } from '../../core/reply.js';
import { readLiveStates, type LiveHostState, type LiveProcess } from '../../state/live-state.js';
import { readHistory, type StoredHistory } from '../../state/vram-history.js';
import { renderVramChart } from './chart.js';
import { HOUR_MS, STALE_MS } from './history.js';
import { vramSparklines } from './sparkline.js';
import { chartInput, thresholdsOf } from './stored.js';
import { unknownOf } from './stack.js';
import { grouped, percentOf, shortGpuName, usage } from './usage.js';

/** Discord takes 10 files a message; one is kept for the .txt of a reply too long to show */
const MAX_CHARTS = 9;

/** One GPU as /vram reports it now. */
export interface GpuNow {
  index: number;
  name: string;
  usedMiB: number;
  totalMiB: number;
  utilPct: number | null;
  /** MiB that no model owns */
  unknownMiB: number;
  /** epoch ms of the reading */
  at: number;
}

/** What holds VRAM: a model (by its processes) or an unknown process. */
export interface Holder {
  gpu: number;
  model: string | null;
  pid: number | null;
  process: string | null;
  user: string | null;
  usedMiB: number;
}

export interface HostVram {
  host: string;
  highPct: number;
  gpus: GpuNow[];
  holders: Holder[];
  /** samples in the chart's window, over all GPUs */
  samples: number;
  events: number;
  chart: string | null;
}

/** `/vram [host]`: per GPU and per model/process now, the last hour as a chart (Discord) or sparklines (text). */
export async function vramReply(ctx: BotContext, hosts: readonly string[], now = Date.now()): Promise<Reply> {
  const [live, histories] = await Promise.all([
    readLiveStates(ctx.redis, ctx.prefix, hosts),
    Promise.all(hosts.map((h) => readHistory(ctx.redis, ctx.prefix, h, { now, windowMs: HOUR_MS }))),
  ]);
  const blocks: Block[] = [];
  const attachments: Attachment[] = [];
  const data: HostVram[] = [];
  let high = false;
  hosts.forEach((host, i) => {
    const { highPct } = thresholdsOf(ctx.inventory.host(host));
    const stored = histories[i]!;
    const gpus = gpusNow(live[i]!, stored);
    const holders = holdersNow(live[i]!, stored, gpus);
    high ||= gpus.some((g) => percentOf(g.usedMiB, g.totalMiB) >= highPct);
    const entry: HostVram = { host, highPct, gpus, holders, samples: stored.gpus.reduce((n, g) => n + g.samples.filter((s) => s.t >= now - HOUR_MS).length, 0), events: stored.events.length, chart: null };
    data.push(entry);
    if (hosts.length > 1) blocks.push(heading(host));
    if (!gpus.length && !stored.gpus.length) {
      blocks.push(text(`No VRAM data from ${host} yet: its worker writes it while it samples the GPUs (is the worker running, and does the host have an NVIDIA GPU?).`));
      return;
    }
    blocks.push(fields(gpus.map((g) => gpuField(g, highPct, now))));
    blocks.push(holderTable(holders));
    if (stored.gpus.length && attachments.length >= MAX_CHARTS) {
      blocks.push(text(`(no chart: at most ${MAX_CHARTS} per reply; /vram host:${host} draws it)`));
    } else if (stored.gpus.length) {
      const input = chartInput(stored, ctx.inventory.host(host), now);
      const file = `vram-${host}.png`;
      attachments.push({ name: file, contentType: 'image/png', data: renderVramChart(input).png });
      entry.chart = file;
      blocks.push(image(file, ['Last hour (▁ empty … █ full):', ...vramSparklines(input)]));
    }
  });
  const title = hosts.length === 1 ? `VRAM of ${hosts[0]}` : `VRAM of ${hosts.length} hosts`;
  return info(title, blocks, {
    data: { hosts: data },
    ...(attachments.length ? { attachments } : {}),
    ...(high ? { tone: 'warn' as const } : {}),
    hint: 'Red dashed line: the VRAM-high alert level. ▲ start · ▼ stop · ✕ crash.',
  });
}

/** The newest reading per GPU: the live state's, else the history's newest sample. */
function gpusNow(live: LiveHostState, stored: StoredHistory): GpuNow[] {
  const unknown = new Map<string, number>();
  for (const p of live.processes?.processes ?? []) if (p.model === null) unknown.set(p.gpuUuid, (unknown.get(p.gpuUuid) ?? 0) + p.usedMiB);
  const snap = live.gpus?.snapshot;
  if (snap?.available) {
    const at = live.gpus!.at;
    return snap.gpus.map((g) => {
      const newest = stored.gpus.find((s) => s.uuid === g.uuid)?.samples.at(-1);
      return { index: g.index, name: g.name, usedMiB: g.usedMiB, totalMiB: g.totalMiB, utilPct: g.utilPct, unknownMiB: live.processes ? (unknown.get(g.uuid) ?? 0) : newest ? unknownOf(newest) : 0, at };
    });
  }
  return stored.gpus.flatMap((g) => {
    const newest = g.samples.at(-1);
    return newest ? [{ index: g.index, name: g.name, usedMiB: newest.usedMiB, totalMiB: g.totalMiB, utilPct: null, unknownMiB: unknownOf(newest), at: newest.t }] : [];
  });
}

/** Models and unknown processes holding VRAM, per GPU, largest first: from the live state's processes, else the newest sample. */
function holdersNow(live: LiveHostState, stored: StoredHistory, gpus: readonly GpuNow[]): Holder[] {
  const snap = live.gpus?.snapshot;
  const indexOf = new Map<string, number>((snap?.available ? snap.gpus : stored.gpus).map((g) => [g.uuid, g.index]));
  let holders: Holder[];
  if (live.processes) {
    holders = live.processes.processes.map((p: LiveProcess) => ({ gpu: indexOf.get(p.gpuUuid) ?? -1, model: p.model, pid: p.pid, process: p.name, user: p.user, usedMiB: p.usedMiB }));
  } else {
    holders = stored.gpus.flatMap((g) => {
      const newest = g.samples.at(-1);
      return Object.entries(newest?.byModel ?? {}).map(([model, miB]) => ({ gpu: g.index, model, pid: null, process: null, user: null, usedMiB: miB }));
    });
    for (const g of gpus) if (g.unknownMiB > 0) holders.push({ gpu: g.index, model: null, pid: null, process: null, user: null, usedMiB: g.unknownMiB });
  }
  return holders.sort((a, b) => a.gpu - b.gpu || b.usedMiB - a.usedMiB);
}

function gpuField(g: GpuNow, highPct: number, now: number): Field {
  const over = percentOf(g.usedMiB, g.totalMiB) >= highPct ? ' ⚠' : '';
  const util = g.utilPct === null ? '' : ` · util ${g.utilPct} %`;
  const stale = now - g.at > STALE_MS ? `\nas of ${ago(g.at, now)} (no newer sample: is the worker running?)` : '';
  return {
    name: `GPU ${g.index} · ${shortGpuName(g.name)}`,
    value: `${bar(g.usedMiB, g.totalMiB)} ${usage(g.usedMiB, g.totalMiB)}${over}${util}\nunknown ${grouped(g.unknownMiB)} MiB · alert at ${highPct} %${stale}`,
    inline: true,
  };
}

function holderTable(holders: readonly Holder[]): Block {
  return table(
    ['GPU', 'held by', 'pid', 'user', 'MiB'],
    holders.map((h) => [String(h.gpu), h.model ?? `unknown${h.process ? ` (${h.process})` : ''}`, h.pid === null ? '' : String(h.pid), h.user ?? '', grouped(h.usedMiB)]),
    'Processes',
  );
}
