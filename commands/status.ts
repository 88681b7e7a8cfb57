import { defineCommand } from '../src/bot/define-command.js';
import { info, text, type Reply } from '../src/core/reply.js';
import { collectHosts } from '../src/bot/status/collect.js';
import { auditLine, hostBlocks } from '../src/bot/status/render.js';
import { withLastSmoke } from '../src/bot/status/last-smoke.js';
import { securityLines, securityStatus } from '../src/bot/status/security.js';

export default defineCommand({
  name: 'status',
  description: 'Workers, GPUs and the state of every model, per host, from the live state. Never wakes a model.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }): Promise<Reply> {
    const hosts = ctx.inventory.selectHosts(options.host);
    // the live state straight from Redis: no job, nothing asked of the hosts
    const [reports, audit] = await Promise.all([collectHosts(ctx, hosts), ctx.audit.health()]);
    const security = await securityStatus(ctx, reports);
    const online = reports.filter((r) => r.online).length;
    const title = hosts.length === 1 ? `Status of ${hosts[0]}` : `Status of ${online}/${hosts.length} hosts`;
    const reply = info(title, [...reports.flatMap((r) => hostBlocks(r)), text(''), ...securityLines(security, ctx.signing).map((l) => text(l)), text(auditLine(audit))], {
      data: { hosts: reports, audit, security },
    });
    if (online < reports.length) reply.tone = 'warn';
    return await withLastSmoke(ctx, hosts, reply);
  },
});
