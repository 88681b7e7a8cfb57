import type { LiteLLMPlan, LiteLLMResult, RepairChange } from '../contracts/repair-litellm.js';
import { ok, table, text, type Block, type Reply } from '../core/reply.js';

/** The changes of a LiteLLM repair as a table (values already masked by the worker). */
export function changesTable(changes: readonly RepairChange[]): Block {
  return table(
    ['where', 'subject', 'field', 'before → after', 'rule'],
    changes.map((c) => [c.table ?? c.file ?? '', c.subject, c.field, `${c.before ?? '(none)'} → ${c.after ?? '(none)'}`, c.rule ?? '']),
  );
}

export function skippedBlocks(plan: Pick<LiteLLMPlan, 'skipped'>): Block[] {
  return plan.skipped.length > 0 ? [text(`Left alone: ${plan.skipped.map((s) => `${s.subject}: ${s.reason}`).join('; ')}`)] : [];
}

/**
 * A LiteLLM repair (or undo) as applied: who, what changed (masked), what the /doctor checks and
 * the smoke say now, and the undo line. The reply of /repair and the log channel's post.
 */
export function litellmRepairReply(result: LiteLLMResult, who: string): Reply {
  const v = result.verification;
  const smokeFailed = (v.smoke ?? []).filter((s) => !s.ok);
  // a finding about a row the repair listed as left alone is expected, not a failed verification
  const leftAlone = (subject: string) => result.skipped.some((k) => k.subject === subject || k.subject.startsWith(`${subject} (`));
  const verified = v.doctor.every((f) => leftAlone(f.subject)) && smokeFailed.length === 0;
  const verdict = !verified ? 'verification found problems' : v.smoke === null ? 'verified by /doctor (smoke not run)' : 'verified';
  const n = result.changes.length;
  const what = result.kind === 'undo' ? 'Undo' : `Repair ${result.kind}`;
  const title = `${what} applied on ${result.host} by ${who}: ${n} change${n === 1 ? '' : 's'}, ${verdict}`;
  const lines = [
    v.doctor.length === 0 ? `/doctor (${v.checks.join(', ') || 'none'}): nothing found` : `/doctor still finds: ${v.doctor.map((f) => `${f.check} ${f.subject}${leftAlone(f.subject) ? ' (left alone)' : `: ${f.message}`}`).join('; ')}`,
    v.smoke === null ? `smoke: not run (${v.smokeSkipped ?? 'proxy not reachable'})` : v.smoke.length === 0 ? 'smoke: no model to ask' : `smoke: ${v.smoke.map((s) => `${s.model} ${s.ok ? `ok (${s.detail})` : `FAILED (${s.detail})`}`).join('; ')}`,
    `Audit ${result.auditId}; undo with ${result.undo}`,
  ];
  const blocks = [changesTable(result.changes), ...skippedBlocks(result), text(lines.join('\n'))];
  const extra = { data: { notice: 'repair', ...result }, hint: result.changes.some((c) => c.file) ? 'config.yaml changes take effect when the proxy restarts (or reloads its config).' : `Undo: ${result.undo}` };
  return verified ? ok(title, blocks, extra) : { ...ok(title, blocks, extra), tone: 'warn' };
}
