import type { BringupResult, BringupStart, ProxyStep } from '../../contracts/bringup.js';
import { formatDuration } from '../../core/duration.js';
import { failed, heading, ok, table, text, type Block, type Reply } from '../../core/reply.js';
import { findingLine, repairActions } from './doctor-reply.js';
import { smokeReply } from './smoke-reply.js';

/**
 * /bringup's one report: what came up (the proxy and each listed model), what /doctor found, the
 * smoke, and the repairs to run (bringup never runs one). It fails when the proxy is not ready, a
 * model did not start, the doctor found errors or the smoke failed.
 */
export function bringupReply(r: BringupResult): Reply {
  const findings = r.doctor?.findings ?? [];
  const errors = findings.filter((f) => f.severity === 'error' || !f.checked);
  const smokeFailed = r.smoke ? r.smoke.results.filter((row) => row.ok === false).length : 0;
  const startsFailed = r.starts.filter((s) => !s.ok);
  const blocks: Block[] = [heading('Came up'), table(['what', 'host', 'state', 'took', 'note'], [proxyRow(r.host, r.proxy), ...r.starts.map(startRow)])];

  blocks.push(heading(findings.length > 0 ? `Found (${findings.length})` : 'Found'));
  if (r.doctor) blocks.push(text(findings.length > 0 ? findings.map((f) => findingLine(f, !f.checked ? '?' : f.severity === 'error' ? '✖' : '⚠', false)).join('\n') : 'Doctor: nothing wrong found.'));
  if (r.smoke) blocks.push(heading('Smoke'), ...smokeReply(r.smoke).blocks);
  if (r.problems.length > 0) blocks.push(heading('Could not run'), text(r.problems.map((p) => `? ${p}`).join('\n')));
  const repairs = [...new Set(findings.map((f) => f.repair).filter((l): l is string => l !== null))];
  if (repairs.length > 0) blocks.push(heading('To repair'), text(`${repairs.join('\n')}\n/bringup repairs nothing itself: each /repair shows its dry run first.`));
  blocks.push(text(`Bringup took ${formatDuration(r.elapsedMs)}.`));

  const summary = [
    proxySummary(r.proxy),
    r.starts.length > 0 ? `${r.starts.length - startsFailed.length} of ${r.starts.length} model${r.starts.length === 1 ? '' : 's'} up` : '',
    r.doctor ? (findings.length === 0 ? 'doctor: nothing wrong' : `doctor: ${findings.length} finding${findings.length === 1 ? '' : 's'}`) : '',
    r.smoke ? (smokeFailed > 0 ? `smoke: ${smokeFailed} failed` : 'smoke: all answered') : '',
  ].filter(Boolean);
  const title = `Bringup on ${r.host}: ${summary.join('; ')}`;
  const actions = repairActions(findings);
  const extra = { data: r, ...(actions.length > 0 ? { actions } : {}), hint: repairs.length > 0 ? 'Run the repairs listed (each a dry run first), then /bringup or /smoke again.' : '/status shows the lab as it is now.' };
  if (!r.proxy.ready || startsFailed.length > 0 || errors.length > 0 || smokeFailed > 0 || r.problems.length > 0) return failed(title, blocks, extra);
  const reply = ok(title, blocks, extra);
  if (findings.length > 0 || r.smoke?.results.some((row) => row.fallback || row.ok === null)) reply.tone = 'warn';
  return reply;
}

function proxySummary(p: ProxyStep): string {
  if (p.ready) return p.started ? 'proxy started and ready' : 'proxy ready';
  return `proxy not ready${p.started ? ' (started)' : ''}`;
}

function proxyRow(host: string, p: ProxyStep): string[] {
  const now = p.ready ? 'ready' : p.live ? `alive, db ${p.db ?? 'unknown'}` : 'down';
  const state = p.before === null ? now : `${p.before} → ${now}`;
  return [p.model ?? 'proxy', host, state, formatDuration(p.elapsedMs), p.problem ?? (p.started ? 'started by bringup' : p.model ? 'was running' : 'not in the inventory: waited for only')];
}

function startRow(s: BringupStart): string[] {
  return [s.model, s.host, s.ok ? s.status : `✖ ${s.status}`, s.elapsedMs === null ? '–' : formatDuration(s.elapsedMs), s.detail];
}
