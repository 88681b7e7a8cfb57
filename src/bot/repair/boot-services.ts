import type { CommandCall } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import { repairApply, repairPlan, type RepairPlan, type RepairResult } from '../../contracts/repair-boot-services.js';
import { errorMessage, isUserError } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import { declined, failed, ok, table, text, type Block, type Reply } from '../../core/reply.js';
import type { BotContext } from '../context.js';
import { assertWorkerOnline } from '../lifecycle/worker-online.js';

const WHAT = 'GPU-heavy model units enabled at boot (the lab loads models just in time)';

/**
 * /repair kind:boot-services: a dry run on every host's worker, the confirmation with the plan, then
 * the apply, host by host. A host that could not be checked makes the answer a failure.
 */
export async function repairBootServices(ctx: BotContext, hosts: string[], call: Pick<CommandCall<unknown>, 'caller' | 'progress' | 'confirm'>): Promise<Reply> {
  const { caller, progress, confirm } = call;
  const kind = 'boot-services' as const;
  const requestedBy = requesterOf(caller);

  // the dry run, on every host's worker
  const plans = await Promise.all(
    hosts.map(async (host) => {
      try {
        await assertWorkerOnline(ctx, host);
        progress(`dry run on ${host}`);
        return { host, plan: bootOnly(await ctx.jobs.run(repairPlan, host, { kind }, { requestedBy, waitMs: 30_000, dropIfUnanswered: true })) };
      } catch (err) {
        if (!isUserError(err)) throw err;
        return { host, plan: null, problem: errorMessage(err) };
      }
    }),
  );
  const changes = plans.flatMap((p) => (p.plan?.changes ?? []).map((c) => ({ host: p.host, ...c })));
  const problems = plans.flatMap((p) => [...(p.problem ? [`${p.host}: ${p.problem}`] : []), ...(p.plan?.problems ?? []).map((x) => `${p.host}: ${x}`)]);
  const planBlocks: Block[] = [
    table(['host', 'unit', 'model', 'VRAM', 'at boot'], changes.map((c) => [c.host, c.unit, c.model, mib(c.vramMiB), `${c.before} → ${c.after}`])),
    ...(problems.length > 0 ? [text(`Not checked: ${problems.join('; ')}`)] : []),
  ];
  const where = hosts.length === 1 ? hosts[0]! : `${hosts.length} hosts`;
  const data = { kind, plans: plans.map((p) => ({ host: p.host, plan: p.plan as RepairPlan | null, problem: p.problem ?? null })) };

  if (changes.length === 0) {
    // a host that could not be checked is not a host without problems
    if (problems.length > 0) return failed(`Could not check ${where} for ${WHAT}; nothing was changed.`, [text(`Not checked: ${problems.join('; ')}`)], { data, hint: 'Start the worker(s) named above and run the dry run again.' });
    return ok(`Nothing to repair on ${where}: no ${WHAT}.`, [], { data });
  }

  const n = changes.length;
  const units = `${n} GPU-heavy unit${n === 1 ? '' : 's'}`;
  const confirmed = await confirm({
    title: `Disable ${units} at boot on ${where}?`,
    detail: [
      ...changes.map((c) => `${c.host}: ${c.unit} (${c.model}, ${mib(c.vramMiB)}) — enabled → disabled at boot`),
      'Running models keep running; they only stop starting at boot. /start loads them when needed.',
    ].join('\n'),
    confirmLabel: 'Apply',
  });
  if (!confirmed) {
    return { ...declined(`Dry run: ${units} would be disabled at boot on ${where}; nothing was changed.`, { data, hint: 'Confirm to apply it (exec: --yes).' }), blocks: planBlocks };
  }

  const results: { host: string; result: RepairResult | null; problem?: string }[] = [];
  for (const plan of plans) {
    const planned = plan.plan?.changes.map((c) => c.unit) ?? [];
    if (planned.length === 0) continue;
    try {
      progress(`applying on ${plan.host}`);
      results.push({ host: plan.host, result: bootOnly(await ctx.jobs.run(repairApply, plan.host, { kind, units: planned }, { requestedBy, waitMs: 120_000, onProgress: (t) => progress(t) })) });
    } catch (err) {
      if (!isUserError(err)) throw err;
      results.push({ host: plan.host, result: null, problem: errorMessage(err) });
    }
  }
  const applied = results.flatMap((r) => (r.result?.changes ?? []).map((c) => ({ host: r.host, ...c })));
  const failures = [...applied.filter((c) => c.error).map((c) => `${c.host}: ${c.unit}: ${c.error}`), ...results.filter((r) => r.problem).map((r) => `${r.host}: ${r.problem}`)];
  const done = applied.filter((c) => !c.error).length;
  const blocks: Block[] = [
    table(['host', 'unit', 'model', 'VRAM', 'at boot'], applied.map((c) => [c.host, c.unit, c.model, mib(c.vramMiB), `${c.before} → ${c.after}`])),
    ...(failures.length > 0 ? [text(`Failed: ${failures.join('; ')}`)] : []),
    text('The before/after is in the audit log (/log) and the repair was posted to the log channel.'),
  ];
  const resultData = { ...data, results };
  const title = `Repair ${kind} applied on ${where}: ${done} unit${done === 1 ? '' : 's'} no longer start${done === 1 ? 's' : ''} at boot`;
  return failures.length > 0 ? failed(`${title}; ${failures.length} failed`, blocks, { data: resultData }) : ok(title, blocks, { data: resultData });
}

/** The boot-services member of a repair job's result (the worker answers in the kind it was sent). */
function bootOnly<T extends { kind: string }>(result: T): Extract<T, { kind: 'boot-services' }> {
  if (result.kind !== 'boot-services') throw new Error(`a boot-services repair job answered as ${result.kind}`);
  return result as Extract<T, { kind: 'boot-services' }>;
}
