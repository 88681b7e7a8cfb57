import { defineCommand } from '../src/chat/command.js';
import { info, table, text, type Reply } from '../src/chat/reply.js';
import { requesterOf } from '../src/chat/requester.js';
import { formatDuration } from '../src/duration.js';
import { collectHosts } from '../src/status/collect.js';
import { mib } from '../src/status/format.js';
import { stateText } from '../src/status/render-status.js';

export default defineCommand({
  name: 'models',
  description: 'The model inventory: names, aliases, type, engine, state, VRAM and idle TTL.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, caller, options, progress }): Promise<Reply> {
    const hosts = ctx.inventory.selectHosts(options.host);
    const reports = await collectHosts(ctx, hosts, { requestedBy: requesterOf(caller), onProgress: progress });
    const rows: string[][] = [];
    const data = [];
    for (const report of reports) {
      const states = new Map((report.snapshot?.models ?? []).map((m) => [m.name, m]));
      for (const ref of ctx.inventory.models(report.host)) {
        const live = states.get(ref.name);
        const m = ref.model;
        const state = live ? stateText(live) : `? (${report.problem ?? 'no answer'})`;
        const ttl = m.pinned ? 'pinned' : m.idleTtl ? formatDuration(m.idleTtl) : '–';
        rows.push([
          ref.name,
          m.aliases.join(', ') || '–',
          m.type,
          m.engine.kind,
          report.host,
          state,
          m.vramMiB ? mib(m.vramMiB) : '–',
          live?.vramMiB ? mib(live.vramMiB) : '–',
          ttl,
        ]);
        data.push({ host: report.host, name: ref.name, aliases: m.aliases, type: m.type, engine: m.engine.kind, state: live?.state ?? null, detail: live?.detail ?? report.problem, vramExpectedMiB: m.vramMiB, vramMiB: live?.vramMiB ?? null, idleTtlMs: m.idleTtl ?? null, pinned: m.pinned });
      }
    }
    const groups = Object.entries(ctx.config.litellm.groups).map(([name, g]) =>
      `${name}: ${[g.servedBy, ...g.fallbacks].filter(Boolean).join(' → ') || (g.cloud ? 'cloud' : '–')}`,
    );
    return info(
      `${rows.length} models on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
      [
        table(['model', 'aliases', 'type', 'engine', 'host', 'state', 'VRAM expected', 'VRAM now', 'idle TTL'], rows),
        ...(groups.length > 0 ? [text(`Proxy groups: ${groups.join(' · ')}`)] : []),
      ],
      { data: { models: data, groups: ctx.config.litellm.groups } },
    );
  },
});
