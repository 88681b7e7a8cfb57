import { defineCommand } from '../src/bot/define-command.js';
import { undoActions, undoLine } from '../src/bot/repair/undo-actions.js';
import { info, table, type Action, type Reply } from '../src/core/reply.js';

export default defineCommand({
  name: 'log',
  description: 'The audit log: who ran what, where, and how it ended (newest first).',
  capability: 'viewer',
  options: {
    n: { type: 'integer', description: 'how many entries (default 20)', min: 1, max: 200 },
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }): Promise<Reply> {
    const rows = await ctx.audit.recent(options.n ?? 20, options.host ? { host: options.host } : {});
    return info(
      `Last ${rows.length} audit entr${rows.length === 1 ? 'y' : 'ies'}`,
      [
        table(
          ['when', 'who', 'role', 'what', 'host', 'job', 'outcome'],
          rows.map((r) => [
            r.startedAt.toISOString().replace('T', ' ').slice(0, 19),
            r.actorName,
            r.role ?? '–',
            describe(r.command, r.args, r.kind) + undoOf(r.detail, r.outcome),
            r.host ?? '–',
            r.jobId ?? '–',
            r.error ? `${r.outcome}: ${r.error}` : r.outcome,
          ]),
        ),
      ],
      { data: { entries: rows }, ...withActions(undoActions(rows)) },
    );
  },
});

function describe(command: string, args: Record<string, unknown>, kind: string): string {
  const repair = args?.repair;
  if (kind === 'job' && repair && typeof repair === 'object') return `${command} ${String((repair as { kind?: unknown }).kind)}`;
  const opts = Object.entries(args ?? {}).map(([k, v]) => `${k}:${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  return [kind === 'command' ? `/${command}` : command, ...opts].join(' ');
}

/** A LiteLLM repair that applied keeps its before-image: the line that undoes it. */
function undoOf(detail: unknown, outcome: string): string {
  const undo = undoLine(detail);
  return outcome === 'ok' && undo ? ` — undo: ${undo}` : '';
}

function withActions(actions: Action[]): { actions?: Action[] } {
  return actions.length > 0 ? { actions } : {};
}
