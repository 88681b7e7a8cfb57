import type { Caller } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import type { ModelRef } from '../../config/inventory.js';
import { notConfigured } from '../../config/not-configured.js';
import { bringup, type BringupStart } from '../../contracts/bringup.js';
import { errorMessage, isUserError, unavailableError, usageError } from '../../core/errors.js';
import type { Reply } from '../../core/reply.js';
import type { BotContext } from '../context.js';
import { runStart } from '../lifecycle/start.js';
import { assertWorkerOnline } from '../lifecycle/worker-online.js';
import { bringupReply } from './bringup-reply.js';

/** On top of the job's own timeout: the queue ahead of it. */
const WAIT_MARGIN_MS = 60_000;

/**
 * The models of a /bringup, from a comma- or space-separated list of names, aliases or prefixes.
 * An unknown one is a usage error that lists every model it could start; the proxy is not one
 * (/bringup starts it itself).
 */
export function bringupModels(ctx: Pick<BotContext, 'inventory'>, list: string | undefined): ModelRef[] {
  const startable = ctx.inventory.models().filter((m) => m.model.type !== 'proxy');
  const refs = (list ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((name) => {
      let ref: ModelRef;
      try {
        ref = ctx.inventory.resolveModel(name);
      } catch (err) {
        if (!isUserError(err) || !err.message.startsWith('Unknown model')) throw err;
        throw usageError(`Unknown model "${name}": /bringup starts models of the inventory.`, `Choices: ${startable.map(choice).join(', ') || 'none (labops.yaml has no models)'}.`);
      }
      if (ref.model.type === 'proxy') throw usageError(`${ref.name} is the proxy: /bringup starts it itself when it is down.`, `List only the models to start: ${startable.map(choice).join(', ')}.`);
      return ref;
    });
  return [...new Map(refs.map((r) => [`${r.host}/${r.name}`, r])).values()];
}

/**
 * /bringup: models of other hosts are started first by their own workers (model.start, as /start
 * does: they do not need the proxy, and so the smoke sees them); then one `bringup` job on the
 * proxy's host brings the proxy up, runs the doctor, starts that host's listed models and smokes.
 * Progress of both goes to this one reply.
 */
export async function runBringupCommand(ctx: BotContext, caller: Caller, list: string | undefined, progress: (text: string) => void): Promise<Reply> {
  const proxyHost = ctx.config.litellm.host;
  if (!proxyHost) throw unavailableError(`/bringup runs on the worker of the proxy's host, and ${notConfigured(ctx.config, 'litellm.host')}.`, 'Set litellm.host to the host whose inventory holds the proxy.');
  const refs = bringupModels(ctx, list);
  await assertWorkerOnline(ctx, proxyHost);
  const remote = await Promise.all(refs.filter((r) => r.host !== proxyHost).map((ref) => startElsewhere(ctx, caller, ref, progress)));
  progress(`queued: bringup on ${proxyHost}`);
  const result = await ctx.jobs.run(
    bringup,
    proxyHost,
    { models: refs.filter((r) => r.host === proxyHost).map((r) => r.name) },
    { requestedBy: requesterOf(caller), waitMs: bringup.timeoutMs + WAIT_MARGIN_MS, onProgress: (text) => progress(text) },
  );
  return bringupReply({ ...result, starts: [...remote, ...result.starts] });
}

async function startElsewhere(ctx: BotContext, caller: Caller, ref: ModelRef, progress: (text: string) => void): Promise<BringupStart> {
  const base = { model: ref.name, host: ref.host };
  try {
    const reply = await runStart(ctx, caller, { ref, force: false, stopFirst: [] }, (text) => progress(`${ref.name} on ${ref.host}: ${text}`));
    const data = (reply.data ?? {}) as { status?: unknown; elapsedMs?: unknown };
    return { ...base, status: typeof data.status === 'string' ? data.status : reply.outcome, ok: reply.outcome === 'ok', detail: reply.title, elapsedMs: typeof data.elapsedMs === 'number' ? data.elapsedMs : null };
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { ...base, status: 'failed', ok: false, detail: errorMessage(err), elapsedMs: null };
  }
}

function choice(ref: ModelRef): string {
  return ref.model.aliases.length > 0 ? `${ref.name} (${ref.model.aliases.join(', ')})` : ref.name;
}
