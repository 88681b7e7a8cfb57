import { fields, text, type Reply, type Tone } from '../../core/reply.js';
import { formatDuration } from '../../core/duration.js';
import type { GpuInfo } from '../../gpu/monitor.js';
import type { AlertState, Transition } from '../../alerts/state-machine.js';
import type { StopIdleOffer } from './idle-models.js';

export interface VramAlertFacts {
  key: string;
  host: string;
  gpu: GpuInfo;
  pct: number;
  highPct: number;
  resolvePct: number;
  forMs: number;
  state: AlertState;
  transition: Transition;
  now: number;
  /** idle models whose stop brings the GPU under the threshold (firing and repeats) */
  offer?: StopIdleOffer | null;
}

const TONE: Record<Transition, Tone> = { pending: 'warn', firing: 'error', repeat: 'error', resolved: 'ok', cancelled: 'ok' };

/** 78100 → "78,100", as /status writes it */
const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** The notice for one transition of a "VRAM high" alert, e.g. `gpu-1 GPU 0 VRAM 96 % (78,100 / 81,559 MiB) for 1 min`. */
export function vramAlertReply(f: VramAlertFacts): Reply {
  const { gpu, state, now } = f;
  const pct = Math.round(f.pct);
  const usage = `(${grouped(gpu.usedMiB)} / ${grouped(gpu.totalMiB)} MiB)`;
  const head = `${f.host} GPU ${gpu.index} VRAM`;
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const title: Record<Transition, string> = {
    pending: `${head} ${pct} % ${usage}, firing in ${formatDuration(f.forMs)} if it stays ≥ ${f.highPct} %`,
    firing: `${head} ${pct} % ${usage} for ${since(state.pendingSince)}`,
    repeat: `${head} still ${pct} % ${usage}, firing for ${since(state.firingSince)}`,
    resolved: `${head} back to ${pct} % ${usage} after ${since(state.firingSince)} firing`,
    cancelled: `${head} back to ${pct} % ${usage} before it fired`,
  };
  const status = f.transition === 'cancelled' ? 'ok' : state.status;
  return {
    outcome: 'ok',
    tone: TONE[f.transition],
    title: title[f.transition],
    blocks: [
      fields([
        { name: 'Host', value: f.host, inline: true },
        { name: 'GPU', value: `${gpu.index} · ${gpu.name}`, inline: true },
        { name: 'State', value: status, inline: true },
        { name: 'Used', value: `${grouped(gpu.usedMiB)} MiB (${pct} %)`, inline: true },
        { name: 'Free', value: `${grouped(gpu.freeMiB)} MiB`, inline: true },
        { name: 'Threshold', value: `≥ ${f.highPct} % for ${formatDuration(f.forMs)}; resolves under ${f.resolvePct} %`, inline: true },
        { name: 'Since', value: new Date(state.pendingSince ?? now).toISOString(), inline: true },
      ]),
      ...(f.offer ? [text(f.offer.line)] : []),
    ],
    ...(f.transition === 'pending' || f.transition === 'firing' || f.transition === 'repeat'
      ? { hint: `/status host:${f.host} shows which models hold it; /stop an idle model to free VRAM.` }
      : {}),
    data: {
      key: f.key,
      host: f.host,
      subject: `gpu${gpu.index}`,
      kind: 'vram-high',
      transition: f.transition,
      status,
      pct: Math.round(f.pct * 10) / 10,
      usedMiB: gpu.usedMiB,
      totalMiB: gpu.totalMiB,
      gpuUuid: gpu.uuid,
      since: state.pendingSince,
      idleModels: f.offer?.models.map((m) => m.name) ?? [],
    },
  };
}
