import type { SmokeResult, SmokeRow } from '../../contracts/smoke.js';
import { formatDuration } from '../../core/duration.js';
import { failed, heading, ok, table, text, type Block, type Reply } from '../../core/reply.js';

/** A model `start:true` started (or tried to) before the smoke. */
export interface StartedFirst {
  model: string;
  host: string;
  /** the start's status: already-running, ready, refused, failed */
  status: string;
  ok: boolean;
  detail: string;
}

/**
 * /smoke's answer: a table of every model and group (result, HTTP status, latency, which deployment
 * answered, fallback), then each failure's error text. Any failure makes it a failure (exit 1).
 */
export function smokeReply(r: SmokeResult, started: readonly StartedFirst[] = []): Reply {
  const failures = r.results.filter((row) => row.ok === false);
  const answered = r.results.filter((row) => row.ok === true);
  const stopped = r.results.filter((row) => row.ok === null);
  const blocks: Block[] = [];
  if (started.length > 0) {
    blocks.push(text(`Started first: ${started.map((s) => `${s.model} (${s.ok ? s.status : `${s.status}: ${s.detail}`})`).join('; ')}`));
  }
  blocks.push(
    table(
      ['model', 'type', 'result', 'HTTP', 'latency', 'answered by', 'note'],
      r.results.map((row) => [row.model, row.type, resultText(row), row.status === null ? '–' : String(row.status), row.latencyMs === null ? '–' : `${Math.round(row.latencyMs)} ms`, servedText(row), row.note ?? '']),
    ),
  );
  if (failures.length > 0) {
    blocks.push(heading(`Failures (${failures.length})`));
    blocks.push(text(failures.map((row) => `✖ ${row.model}${row.requested !== row.model ? ` (as ${row.requested})` : ''}: ${row.error ?? 'no answer'}`).join('\n')));
  }
  if (r.skipped.length > 0) blocks.push(text(`Not tested, not served by the proxy: ${r.skipped.map((s) => `${s.model} (${s.reason})`).join('; ')}`));
  const asked = r.results.length - stopped.length;
  const took = r.elapsedMs < 1_000 ? `${Math.round(r.elapsedMs)} ms` : formatDuration(r.elapsedMs);
  blocks.push(text(`${asked} request${asked === 1 ? '' : 's'} through ${r.proxy} in ${took}, at most ${r.maxInFlight} at once (limit ${r.concurrency}).`));

  const data = { ...r, started };
  const stoppedNote = stopped.length > 0 ? `; ${stopped.length} stopped, not tested` : '';
  if (r.proxyProblem) return failed(`Smoke: the proxy could not be asked — ${r.proxyProblem}`, blocks, { data, hint: '/doctor checks the proxy, its database and config.yaml.' });
  if (failures.length > 0) {
    return failed(`Smoke: ${failures.length} of ${r.results.length - stopped.length} failed${stoppedNote}`, blocks, {
      data,
      hint: '/doctor shows why a model fails; each failure raised an alert, resolved by the next good smoke.',
    });
  }
  const reply = ok(`Smoke: ${answered.length} of ${answered.length} answered${stoppedNote}`, blocks, { data });
  if (stopped.length > 0 || answered.some((row) => row.fallback)) reply.tone = 'warn';
  return reply;
}

function resultText(row: SmokeRow): string {
  if (row.ok === null) return '– stopped';
  return row.ok ? '✔ ok' : '✖ failed';
}

function servedText(row: SmokeRow): string {
  if (!row.servedBy) return '–';
  return row.fallback ? `${row.servedBy} (fallback)` : row.servedBy;
}
