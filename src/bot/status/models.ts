import { idlePolicy } from '../../config/idle-policy.js';
import { formatDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import { info, table, text, type Reply } from '../../core/reply.js';
import type { Footprint } from '../../db/footprints.js';
import type { BotContext } from '../context.js';
import { collectHosts } from './collect.js';
import { ageText, stateText } from './render.js';
import { withLastSmoke } from './last-smoke.js';

/** /models: the inventory with each model's live state (with its age), VRAM (expected, measured, now) and how it is unloaded. */
export async function modelsReply(ctx: BotContext, hosts: string[]): Promise<Reply> {
  let footprintProblem: string | null = null;
  const [reports, measured] = await Promise.all([
    collectHosts(ctx, hosts),
    ctx.footprints.all(hosts).catch((err: unknown) => {
      footprintProblem = errorMessage(err);
      return new Map<string, Footprint>();
    }),
  ]);
  const rows: string[][] = [];
  const data = [];
  for (const report of reports) {
    const states = new Map((report.snapshot?.models ?? []).map((m) => [m.name, m]));
    for (const ref of ctx.inventory.models(report.host)) {
      const live = states.get(ref.name);
      const m = ref.model;
      const state = live ? stateText(live) : `? (${report.problem ?? 'no answer'})`;
      const staleAfter = report.stale ? 0 : (report.snapshot?.staleAfter.models ?? 0);
      const ttl = m.pinned ? 'pinned' : m.idleTtl ? formatDuration(m.idleTtl) : '–';
      const footprint = measured.get(`${report.host}/${ref.name}`);
      const idle = idlePolicy(ctx.config, ref);
      rows.push([
        ref.name,
        m.aliases.join(', ') || '–',
        m.type,
        m.engine.kind,
        report.host,
        state,
        m.vramMiB ? mib(m.vramMiB) : '–',
        footprint ? mib(footprint.vramMiB) : '–',
        live?.vramMiB ? mib(live.vramMiB) : '–',
        ttl,
        idle.note,
        live ? ageText(live.at, staleAfter) : '–',
      ]);
      data.push({
        host: report.host,
        name: ref.name,
        aliases: m.aliases,
        type: m.type,
        engine: m.engine.kind,
        state: live?.state ?? null,
        detail: live?.detail ?? report.problem,
        vramExpectedMiB: m.vramMiB,
        vramMeasuredMiB: footprint?.vramMiB ?? null,
        vramMeasuredAt: footprint?.measuredAt ?? null,
        vramMiB: live?.vramMiB ?? null,
        health: live?.health ?? null,
        seenAt: live?.at ?? null,
        stale: report.stale,
        idleTtlMs: m.idleTtl ?? null,
        pinned: m.pinned,
        idleUnload: { mode: idle.mode, note: idle.note },
      });
    }
  }
  const groups = Object.entries(ctx.config.litellm.groups).map(([name, g]) =>
    `${name}: ${[g.servedBy, ...g.fallbacks].filter(Boolean).join(' → ') || (g.cloud ? 'cloud' : '–')}`,
  );
  const reply = info(
    `${rows.length} models on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
    [
      table(['model', 'aliases', 'type', 'engine', 'host', 'state', 'VRAM expected', 'VRAM measured', 'VRAM now', 'idle TTL', 'idle unload', 'seen'], rows),
      ...(groups.length > 0 ? [text(`Proxy groups: ${groups.join(' · ')}`)] : []),
      ...(footprintProblem ? [text(`Measured footprints unavailable: ${footprintProblem}`)] : []),
    ],
    { data: { models: data, groups: ctx.config.litellm.groups } },
  );
  return await withLastSmoke(ctx, hosts, reply);
}
