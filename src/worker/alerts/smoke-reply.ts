import type { AlertState, Transition } from '../../alerts/state-machine.js';
import type { SmokeRow } from '../../contracts/smoke.js';
import { formatDuration } from '../../core/duration.js';
import { excerpt } from '../../core/http.js';
import { fields, type Reply, type Tone } from '../../core/reply.js';

export type SmokeAlertSubject = { kind: 'row'; row: SmokeRow } | { kind: 'proxy'; problem: string | null };

export interface SmokeAlertFacts {
  key: string;
  host: string;
  subject: SmokeAlertSubject;
  state: AlertState;
  transition: Transition;
  now: number;
}

const TONE: Record<Transition, Tone> = { pending: 'warn', firing: 'error', repeat: 'error', resolved: 'ok', cancelled: 'ok' };

/** The notice of a smoke alert: `Smoke of chat-mistral-7b-ollama failed on gpu-1: 500 …`, later `… answers again`. */
export function smokeAlertReply(f: SmokeAlertFacts): Reply {
  const failing = f.transition === 'firing' || f.transition === 'repeat' || f.transition === 'pending';
  const since = formatDuration(f.now - (f.state.firingSince ?? f.now));
  const { subject } = f;
  let title: string;
  const details = [];
  if (subject.kind === 'proxy') {
    title = failing ? `Smoke on ${f.host}: the LiteLLM proxy could not be asked: ${excerpt(subject.problem ?? 'no answer', 160)}` : `Smoke on ${f.host}: the LiteLLM proxy answers again (after ${since})`;
  } else {
    const r = subject.row;
    title = failing
      ? `Smoke of ${r.model} failed on ${f.host}${r.status ? ` (${r.status})` : ''}: ${excerpt(r.error ?? 'no answer', 160)}`
      : `Smoke of ${r.model} on ${f.host} answers again in ${Math.round(r.latencyMs ?? 0)} ms (after ${since} failing)`;
    details.push(
      { name: 'Model', value: `${r.model}${r.requested !== r.model ? ` (as ${r.requested})` : ''} · ${r.type}`, inline: true },
      { name: 'State', value: f.transition === 'resolved' ? 'resolved' : 'firing', inline: true },
      ...(r.servedBy ? [{ name: 'Answered by', value: `${r.servedBy}${r.fallback ? ' (fallback)' : ''}`, inline: true }] : []),
      ...(r.error ? [{ name: 'Error', value: excerpt(r.error, 900) }] : []),
    );
  }
  const model = subject.kind === 'row' ? subject.row.model : 'proxy';
  return {
    outcome: 'ok',
    tone: TONE[f.transition],
    title,
    blocks: details.length > 0 ? [fields(details)] : [],
    ...(failing ? { hint: subject.kind === 'row' ? `/doctor shows what is broken; /smoke model:${model} tests it again.` : `/doctor shows what is wrong with the proxy; /smoke tests again.` } : {}),
    data: {
      key: f.key,
      host: f.host,
      subject: model,
      kind: 'smoke',
      transition: f.transition,
      status: f.transition === 'resolved' ? 'resolved' : f.state.status,
      ...(subject.kind === 'row' ? { row: subject.row } : { problem: subject.problem }),
    },
  };
}
