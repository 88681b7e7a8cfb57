import type { Config } from '../../config/schema.js';
import type { Admission, Candidate, StartResult, StopOutcome } from '../../contracts/model-start.js';
import type { StopResult } from '../../contracts/model-stop.js';
import { formatDuration } from '../../core/duration.js';
import type { UserError } from '../../core/errors.js';
import { mib } from '../../core/format.js';
import { redact } from '../../core/redact.js';
import { failed, fields, info, ok, table, text, type Action, type Block, type Field, type Reply } from '../../core/reply.js';

/** How the bot's /start and /stop replies look: clear titles, the numbers, and `data` for exec --json. */

/** `needs 9,500 MiB; 6,120 MiB free after the 2,048 MiB reserve` */
export function admissionNumbers(a: Admission): string {
  const need = `needs ${mib(a.needMiB)}${a.needSource === 'measured' ? ' (measured)' : ''}`;
  if (a.verdict === 'skipped') return need;
  return `${need}; ${mib(Math.max(0, a.availableMiB))} free after the ${mib(a.reserveMiB)} reserve`;
}

export function admissionLine(a: Admission): string {
  switch (a.verdict) {
    case 'admit':
      return `fits: ${admissionNumbers(a)}`;
    case 'forced':
      return `overridden with force: ${admissionNumbers(a)} (${mib(a.shortMiB)} short)`;
    case 'skipped':
      return `check skipped: ${a.reason}`;
    case 'refuse':
      return `does not fit: ${admissionNumbers(a)}`;
  }
}

function stoppedLine(stopped: StopOutcome[]): string {
  return stopped
    .map((s) => (s.alreadyStopped ? `${s.model} (was not running)` : `${s.model}${s.freedMiB ? ` (freed ${mib(s.freedMiB)})` : ''}`))
    .join(', ');
}

function joinedNote(r: { jobId: string; requestId: string | null; requestedBy: string | null }, requestId: string): Block[] {
  if (r.requestId === requestId) return [];
  return [text(`Another request was already starting it: this answer follows job ${r.jobId}${r.requestedBy ? ` (asked by ${r.requestedBy})` : ''}.`)];
}

export function startReply(r: StartResult, requestId: string): Reply {
  const joined = r.requestId !== requestId;
  const data = { ...r, joined };
  switch (r.status) {
    case 'already-running':
      return info(`${r.model} is already running on ${r.host}; nothing was touched.`, [
        fields([
          { name: 'Health', value: r.health, inline: true },
          ...(r.vramMiB ? [{ name: 'VRAM now', value: mib(r.vramMiB), inline: true }] : []),
        ]),
      ], { data });
    case 'ready': {
      const f: Field[] = [{ name: 'Health', value: r.health }];
      if (r.resumed) f.push({ name: 'Start', value: 'it was already starting (a start re-run after a worker stopped, or one begun outside labops); labops waited for it' });
      if (r.admission) f.push({ name: 'VRAM check', value: admissionLine(r.admission) });
      if (r.stopped.length > 0) f.push({ name: 'Stopped first', value: stoppedLine(r.stopped) });
      f.push({ name: 'VRAM', value: r.footprintMiB ? `settled at ${mib(r.footprintMiB)} (recorded for the next VRAM check)` : 'no VRAM attributed to its processes' });
      const reply = ok(`${r.model} is ready on ${r.host} (${formatDuration(r.elapsedMs)})`, [fields(f), ...joinedNote(r, requestId)], { data });
      if (r.admission?.verdict === 'forced' || r.admission?.verdict === 'skipped') reply.tone = 'warn';
      return reply;
    }
    case 'refused':
      return refusedReply(r, data);
  }
}

function refusedReply(r: Extract<StartResult, { status: 'refused' }>, data: unknown): Reply {
  const a = r.admission;
  const blocks: Block[] = [];
  const actions: Action[] = [];
  const action = (names: string[]): Action => ({
    label: `Stop ${names.join(' + ')} and start`,
    command: 'start',
    options: { model: r.model, host: r.host, stop_first: names.join(',') },
    style: 'primary',
  });
  const row = (c: Candidate) => [c.name, mib(c.vramMiB), lastRequest(c.lastRequestAt)];
  if (r.stopped.length > 0) blocks.push(text(`Stopped first: ${stoppedLine(r.stopped)}; still not enough room.`));
  if (a.verdict === 'refuse' && a.candidates.length > 0) {
    blocks.push(table(['idle model', 'frees', 'last request'], a.candidates.map(row), 'Stopping one of these idle, unpinned models makes room:'));
    actions.push(...a.candidates.slice(0, 3).map((c) => action([c.name])));
  } else if (a.verdict === 'refuse' && a.combination) {
    blocks.push(table(['idle model', 'frees', 'last request'], a.combination.map(row), 'No single idle model frees enough; stopping these together makes room:'));
    actions.push(action(a.combination.map((c) => c.name)));
  } else {
    blocks.push(text('No idle, unpinned running model frees enough VRAM.'));
  }
  if (a.verdict === 'refuse' && a.notOffered.length > 0) {
    blocks.push(text(`Not offered for a stop, because labops could not tell whether they are busy: ${a.notOffered.map((m) => `${m.name} (${m.reason})`).join('; ')}.`));
  }
  const short = a.verdict === 'refuse' ? ` (${mib(a.shortMiB)} short)` : '';
  return {
    ...failed(`Not starting ${r.model} on ${r.host}: ${admissionNumbers(a)}${short}.`, blocks, {
      hint: 'Nothing was started. An admin may start it anyway with force:true.',
      actions,
      data,
    }),
    tone: 'warn',
  };
}

function lastRequest(at: number | null | undefined): string {
  if (at === undefined) return 'not known (no request source)';
  if (at === null) return 'none in the last 5 min';
  return `${formatDuration(Date.now() - at)} ago`;
}

/** A start or stop that failed in the worker: the first line is the title, the log lines follow. */
export function failureReply(err: UserError): Reply {
  const [title, ...rest] = redact(err.message).split('\n');
  const logLines = rest[0]?.startsWith('Last log lines') ? rest.slice(1) : [];
  const reply = failed(title ?? 'Failed.', rest.length > 0 ? [text(rest.join('\n'))] : [], {
    ...(err.hint ? { hint: redact(err.hint) } : {}),
    data: { error: title ?? null, detail: rest.length > 0 ? rest.join('\n') : null, logLines },
  });
  if (err.kind === 'usage') reply.outcome = 'usage';
  if (err.kind === 'permission') reply.outcome = 'denied';
  return reply;
}

export function stopReply(r: StopResult, requestId: string): Reply {
  const data = { ...r, joined: r.requestId !== requestId };
  if (r.status === 'already-stopped') return info(`${r.model} is already stopped on ${r.host}; nothing was touched.`, [], { data });
  if (r.status === 'kept') return info(`${r.model} was kept running on ${r.host}: ${r.reason ?? 'not idle'}.`, [], { data });
  return ok(`${r.model} is stopped on ${r.host}${r.freedMiB ? `; freed ${mib(r.freedMiB)}` : ''}.`, [], { data, hint: `/start ${r.model} loads it again.` });
}

/** The proxy groups that a stop of this model sends to their fallbacks. */
export function fallbackLines(config: Config, names: readonly string[]): string[] {
  return Object.entries(config.litellm.groups)
    .filter(([, g]) => g.servedBy !== undefined && names.includes(g.servedBy))
    .map(([group, g]) => (g.fallbacks.length > 0 ? `${group} falls back to ${g.fallbacks.join(' → ')} meanwhile.` : `${group} has no fallback: its requests fail until it is started again.`));
}
