import { defineCommand } from '../src/bot/define-command.js';
import { info, table, type Reply } from '../src/core/reply.js';
import { formatDuration } from '../src/core/duration.js';

export default defineCommand({
  name: 'jobs',
  description: 'Queue state per host: running, waiting and recent jobs.',
  capability: 'operator',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }): Promise<Reply> {
    const hosts = ctx.inventory.selectHosts(options.host);
    const lists = await Promise.all(hosts.map(async (host) => ({ host, counts: await ctx.jobs.counts(host), jobs: await ctx.jobs.list(host) })));
    const now = Date.now();
    const rows = lists.flatMap(({ jobs }) =>
      jobs.map((j) => [j.id.slice(0, 8), j.host, j.kind, j.state, j.requestedBy ?? '–', `${formatDuration(now - j.createdAt.getTime())} ago`, j.failedReason ?? j.progress ?? '']),
    );
    const summary = lists.map(({ host, counts }) => `${host}: ${counts.active ?? 0} running, ${(counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)} waiting, ${counts.failed ?? 0} failed`).join(' · ');
    return info(summary, [table(['job', 'host', 'kind', 'state', 'by', 'queued', 'note'], rows)], { data: { hosts: lists } });
  },
});
