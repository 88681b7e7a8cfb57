import { parseRepairLine, type DoctorResult, type Finding } from '../../contracts/doctor.js';
import { REPAIR_KINDS } from '../../contracts/repair-boot-services.js';
import { formatDuration } from '../../core/duration.js';
import { failed, heading, ok, text, type Action, type Block, type Reply } from '../../core/reply.js';

export interface HostDoctor {
  host: string;
  result: DoctorResult | null;
  problem: string | null;
}

const MAX_ACTIONS = 10;

/**
 * /doctor's answer: findings grouped by severity (errors, warnings, checks that could not run),
 * each with the repair that fixes it; a button per repair `/repair` accepts today. Errors and
 * checks that could not run make it a failure (exit 1); warnings alone do not.
 */
export function doctorReply(findings: readonly Finding[], reports: readonly HostDoctor[], hosts: readonly string[]): Reply {
  const errors = findings.filter((f) => f.checked && f.severity === 'error');
  const warnings = findings.filter((f) => f.checked && f.severity === 'warning');
  const unchecked = findings.filter((f) => !f.checked);
  const blocks: Block[] = [];
  const group = (title: string, list: readonly Finding[], icon: string) => {
    if (list.length === 0) return;
    blocks.push(heading(`${title} (${list.length})`));
    blocks.push(text(list.map((f) => findingLine(f, icon, hosts.length > 1)).join('\n')));
  };
  group('Errors', errors, '✖');
  group('Warnings', warnings, '⚠');
  group('Could not check', unchecked, '?');
  const ran = new Set(reports.flatMap((r) => r.result?.ran ?? []));
  const where = hosts.length === 1 ? hosts[0]! : `${hosts.length} hosts`;
  const elapsed = Math.max(0, ...reports.map((r) => r.result?.stats.elapsedMs ?? 0));
  blocks.push(text(`Checks run on ${where}: ${[...ran].join(', ') || 'none'} (${formatDuration(elapsed)}).`));

  const data = {
    findings,
    hosts: reports.map((r) => ({ host: r.host, litellm: r.result?.litellm ?? null, ran: r.result?.ran ?? [], stats: r.result?.stats ?? null, problem: r.problem })),
  };
  const actions = repairActions(findings);
  const counts = [plural(errors.length, 'error'), plural(warnings.length, 'warning'), unchecked.length > 0 ? `${unchecked.length} check${unchecked.length === 1 ? '' : 's'} could not run` : ''].filter(Boolean);
  if (findings.length === 0) return ok(`Doctor: nothing wrong found on ${where}`, blocks, { data });
  const title = `Doctor on ${where}: ${counts.join(', ')}`;
  const extra = { data, ...(actions.length > 0 ? { actions } : {}), hint: unchecked.length > 0 ? 'A check that could not run says what to configure; run /doctor again after.' : 'Each finding names the /repair that fixes it (a dry run first).' };
  if (errors.length > 0 || unchecked.length > 0) return failed(title, blocks, extra);
  return { ...ok(title, blocks, extra), tone: 'warn' };
}

/** `✖ provider-unreadable · chat-mistral-7b-ollama — … → /repair kind:encrypted-providers` */
export function findingLine(f: Finding, icon: string, withHost: boolean): string {
  const where = withHost && f.host !== '-' ? ` [${f.host}]` : '';
  return `${icon} ${f.check} · ${f.subject}${where} — ${f.message}${f.repair ? ` → ${f.repair}` : ''}`;
}

/** One button per distinct repair whose kind `/repair` accepts today (its dry run comes first). */
export function repairActions(findings: readonly Finding[]): Action[] {
  const lines = [...new Set(findings.map((f) => f.repair).filter((l): l is string => l !== null))];
  const actions: Action[] = [];
  for (const line of lines) {
    const options = parseRepairLine(line);
    if (!options || !(REPAIR_KINDS as readonly string[]).includes(options.kind!)) continue;
    const label = options.kind === 'rename' ? `Rename ${options.model} to ${options.to}` : `Repair ${options.kind}${options.host ? ` on ${options.host}` : ''}`;
    actions.push({ label, command: 'repair', options, style: 'primary' });
  }
  return actions.slice(0, MAX_ACTIONS);
}

function plural(n: number, word: string): string {
  return n === 0 ? '' : `${n} ${word}${n === 1 ? '' : 's'}`;
}
