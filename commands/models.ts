import { defineCommand } from '../src/chat/command.js';
import { info, table, text, type Reply } from '../src/core/reply.js';
import { requesterOf } from '../src/chat/requester.js';
import { formatDuration } from '../src/core/duration.js';
import { errorMessage } from '../src/core/errors.js';
import { FootprintStore, type Footprint } from '../src/db/footprints.js';
import { idlePolicy } from '../src/config/idle-policy.js';
import { collectHosts } from '../src/bot/status/collect.js';
import { mib } from '../src/core/format.js';
import { stateText } from '../src/bot/status/render.js';

export default defineCommand({
  name: 'models',
  description: 'The model inventory: names, aliases, type, engine, state, VRAM (expected, measured, now), idle unload.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, caller, options, progress }): Promise<Reply> {
    const hosts = ctx.inventory.selectHosts(options.host);
    const store = new FootprintStore(ctx.audit.database, ctx.audit.schema);
    let footprintProblem: string | null = null;
    const [reports, measured] = await Promise.all([
      collectHosts(ctx, hosts, { requestedBy: requesterOf(caller), onProgress: progress }),
      store.all(hosts).catch((err: unknown) => {
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
          idleTtlMs: m.idleTtl ?? null,
          pinned: m.pinned,
          idleUnload: { mode: idle.mode, note: idle.note },
        });
      }
    }
    const groups = Object.entries(ctx.config.litellm.groups).map(([name, g]) =>
      `${name}: ${[g.servedBy, ...g.fallbacks].filter(Boolean).join(' → ') || (g.cloud ? 'cloud' : '–')}`,
    );
    return info(
      `${rows.length} models on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
      [
        table(['model', 'aliases', 'type', 'engine', 'host', 'state', 'VRAM expected', 'VRAM measured', 'VRAM now', 'idle TTL', 'idle unload'], rows),
        ...(groups.length > 0 ? [text(`Proxy groups: ${groups.join(' · ')}`)] : []),
        ...(footprintProblem ? [text(`Measured footprints unavailable: ${footprintProblem}`)] : []),
      ],
      { data: { models: data, groups: ctx.config.litellm.groups } },
    );
  },
});
