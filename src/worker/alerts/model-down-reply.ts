import { formatDuration } from '../../core/duration.js';
import { fields, text, type Block, type Reply } from '../../core/reply.js';
import type { ModelState } from '../../contracts/lab-data.js';
import type { Moment } from '../../alerts/tracker.js';
import { isFiring, shownStatus, TRANSITION_TONE } from '../../alerts/reply-parts.js';
import type { TransitionCause } from './inputs.js';

export interface ModelDownFacts {
  model: string;
  /** what it was before it went down */
  from: ModelState;
  /** what it is now */
  to: ModelState;
  cause: TransitionCause;
  pinned: boolean;
  /** when the last transition was seen */
  at: number;
  detail?: string;
  logLines: string[];
}

const MAX_LINE = 200;
/** what the log block may take, so that the alert stays one message */
const MAX_LOG = 2_500;

/** The last lines that fit, each clipped, with no code fence of their own. */
function logBlock(lines: string[]): string[] {
  const out: string[] = [];
  let size = 0;
  for (const raw of [...lines].reverse()) {
    const line = (raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE - 1)}…` : raw).replace(/```/g, "'''");
    if (size + line.length + 1 > MAX_LOG) break;
    out.unshift(line);
    size += line.length + 1;
  }
  return out;
}

/** The notice of a "model down" alert, e.g. `gpu-1 chat-hermes-3-llama-3.1-8b down for 30 s: was running, now stopped (not stopped by labops)`. */
export function modelDownReply(m: Moment<ModelDownFacts> & { host: string; forMs: number }): Reply {
  const { facts: f, state, transition, now, host } = m;
  const since = (t: number | null) => formatDuration(now - (t ?? now));
  const head = `${host} ${f.model}`;
  const was = f.pinned && f.from !== 'running' ? 'pinned' : `was ${f.from}`;
  const now_ = `now ${f.to}${f.detail ? ` (${f.detail})` : ''}`;
  const back = f.to === 'running' ? 'running again' : f.cause === 'labops-stop' || f.cause === 'idle-unload' ? `stopped by labops (${f.cause === 'idle-unload' ? 'idle unload' : '/stop'})` : f.to;
  const title: Record<typeof transition, string> = {
    pending: `${head} went down (${was}, ${now_}); firing in ${formatDuration(m.forMs)} unless it comes back`,
    firing: `${head} down for ${since(state.pendingSince)}: ${was}, ${now_}, and labops did not stop it`,
    repeat: `${head} still down, firing for ${since(state.firingSince)}: ${now_}`,
    resolved: `${head} ${back} after ${since(state.pendingSince)} down`,
    cancelled: `${head} ${back} before the alert fired`,
  };
  const blocks: Block[] = [
    fields([
      { name: 'Host', value: host, inline: true },
      { name: 'Model', value: f.model, inline: true },
      { name: 'State', value: `${f.to}${f.detail ? ` (${f.detail})` : ''}`, inline: true },
      { name: 'Before', value: f.pinned ? `${f.from} (pinned)` : f.from, inline: true },
      { name: 'Down since', value: new Date(state.pendingSince ?? f.at).toISOString(), inline: true },
      { name: 'Alert', value: shownStatus(transition, state), inline: true },
    ]),
  ];
  if (isFiring(transition) && f.logLines.length > 0) {
    const lines = logBlock(f.logLines);
    blocks.push(text(`Last ${lines.length} log line${lines.length === 1 ? '' : 's'}:\n\`\`\`\n${lines.join('\n')}\n\`\`\``));
  }
  return {
    outcome: 'ok',
    tone: TRANSITION_TONE[transition],
    title: title[transition],
    blocks,
    ...(isFiring(transition) ? { hint: `/start ${f.model} host:${host} starts it again; /status host:${host} shows the host.` } : {}),
    data: {
      key: m.keyString,
      host,
      subject: f.model,
      kind: 'model-down',
      transition,
      status: shownStatus(transition, state),
      model: f.model,
      from: f.from,
      to: f.to,
      cause: f.cause,
      pinned: f.pinned,
      since: state.pendingSince,
      logLines: isFiring(transition) ? f.logLines : [],
    },
  };
}
