import { formatDuration } from '../../core/duration.js';
import { fields, table, text, type Block, type Reply } from '../../core/reply.js';
import type { Moment } from '../../alerts/tracker.js';
import { grouped, isFiring, shownStatus, TRANSITION_TONE } from '../../alerts/reply-parts.js';
import type { StopIdleOffer } from './idle-models.js';
import type { GhostVram } from './inputs.js';

/** The notice of a "ghost VRAM" alert, e.g. `gpu-1 GPU 0: 3,000 MiB held by processes no model owns, for 5 min`. */
export function ghostVramReply(m: Moment<GhostVram> & { minMiB: number; forMs: number; offer?: StopIdleOffer | null }): Reply {
  const { facts: g, state, transition, now } = m;
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const head = `${g.host} GPU ${g.gpuIndex}`;
  const held = `${grouped(g.unknownMiB)} MiB held by ${g.processes.length === 1 ? 'a process' : `${g.processes.length} processes`} no model owns`;
  const title: Record<typeof transition, string> = {
    pending: `${head}: ${held}; firing in ${formatDuration(m.forMs)} if it stays over ${grouped(m.minMiB)} MiB`,
    firing: `${head}: ${held}, for ${since(state.pendingSince)}`,
    repeat: `${head}: still ${held}, firing for ${since(state.firingSince)}`,
    resolved: `${head}: unknown VRAM back to ${grouped(g.unknownMiB)} MiB after ${since(state.firingSince)} firing`,
    cancelled: `${head}: unknown VRAM back to ${grouped(g.unknownMiB)} MiB before it fired`,
  };
  const blocks: Block[] = [
    fields([
      { name: 'Host', value: g.host, inline: true },
      { name: 'GPU', value: `${g.gpuIndex} · ${g.gpuUuid}`, inline: true },
      { name: 'Alert', value: shownStatus(transition, state), inline: true },
      { name: 'Unknown VRAM', value: `${grouped(g.unknownMiB)} MiB`, inline: true },
      { name: 'Threshold', value: `> ${grouped(m.minMiB)} MiB for ${formatDuration(m.forMs)}`, inline: true },
      { name: 'Since', value: new Date(state.pendingSince ?? g.at).toISOString(), inline: true },
    ]),
  ];
  if (g.processes.length > 0 && transition !== 'resolved' && transition !== 'cancelled') {
    blocks.push(table(['pid', 'process', 'user', 'VRAM'], g.processes.map((p) => [String(p.pid), p.name, p.user, `${grouped(p.usedMiB)} MiB`])));
  }
  if (m.offer) blocks.push(text(m.offer.line));
  return {
    outcome: 'ok',
    tone: TRANSITION_TONE[transition],
    title: title[transition],
    blocks,
    ...(isFiring(transition) ? { hint: 'Find who runs it (pid and user above): end it, or add it to the inventory so labops knows it.' } : {}),
    data: {
      key: m.keyString,
      host: g.host,
      subject: `gpu${g.gpuIndex}`,
      kind: 'ghost-vram',
      transition,
      status: shownStatus(transition, state),
      gpuIndex: g.gpuIndex,
      gpuUuid: g.gpuUuid,
      unknownMiB: g.unknownMiB,
      processes: g.processes,
      since: state.pendingSince,
      idleModels: m.offer?.models.map((x) => x.name) ?? [],
    },
  };
}
