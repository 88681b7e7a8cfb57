import type { BotContext } from '../../bot/context.js';
import { unavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { userIdOf } from './caller.js';
import type { Caller, ConfirmRequest } from '../command.js';
import { apologise, ConfirmationPending, dispatch, prepare, type Prepared } from '../dispatch.js';
import type { Outcome, Reply } from '../../core/reply.js';
import type { ActionStore } from './actions-store.js';
import type { ConfirmStore, PendingConfirmation } from './confirm-store.js';
import { buttonId, newStateId } from './custom-id.js';
import { renderConfirm, renderReply, type Button } from './render.js';
import type { Responder } from './responder.js';

export interface RunEnv {
  ctx: BotContext;
  confirms: ConfirmStore;
  actions: ActionStore;
  logger: Logger;
}

export interface RunRequest {
  caller: Caller;
  /** the Discord user behind `caller` */
  userId: string;
  guildId: string | null;
  channelId: string;
  command: string;
  raw: Record<string, unknown>;
  responder: Responder;
  signal: AbortSignal;
  /** the command as the router already prepared it (looked up, access and options checked) */
  prepared?: Prepared;
  /** a confirmation already answered with a button: the same request (same title) gets this answer */
  answered?: { title: string; value: boolean };
}

/** Outcomes told only to the caller where the interaction allows it. */
export const PRIVATE_OUTCOMES: ReadonlySet<Outcome> = new Set(['usage', 'denied', 'error']);

/**
 * Runs one command through `dispatch` and answers with the responder: progress edits, a
 * confirmation prompt with buttons (the command stops and is run again when one is pressed), the
 * result with its follow-up actions as buttons. Resolves with the reply, or null while a
 * confirmation is pending.
 */
export async function runInteractionCommand(env: RunEnv, req: RunRequest): Promise<Reply | null> {
  let answerUsed = false;
  const confirm = async (request: ConfirmRequest): Promise<boolean> => {
    if (req.answered && !answerUsed && request.title === req.answered.title) {
      answerUsed = true;
      return req.answered.value;
    }
    return await askWithButtons(env, req, request);
  };

  // the slow part waits while other interactions of a burst are still being acknowledged
  await req.responder.othersAcknowledged();
  let reply: Reply;
  try {
    reply = await dispatch(
      env.ctx,
      { caller: req.caller, command: req.command, raw: req.raw, progress: (text) => req.responder.progress(text), confirm, signal: req.signal },
      req.prepared ?? prepare(env.ctx, req.caller, req.command, req.raw),
    );
  } catch (err) {
    if (err instanceof ConfirmationPending) {
      req.responder.settle();
      return null;
    }
    reply = apologise(env.ctx, req.command, err);
  }
  const buttons = await actionButtons(env, reply);
  await req.responder.finish(renderReply(reply, { fileName: req.command, buttons }), PRIVATE_OUTCOMES.has(reply.outcome));
  return reply;
}

/** Stores the pending confirmation, shows the prompt with its buttons, and stops the command. */
async function askWithButtons(env: RunEnv, req: RunRequest, request: ConfirmRequest): Promise<never> {
  const { config } = env.ctx;
  const command = env.ctx.commands.get(req.command);
  const now = Date.now();
  const pending: PendingConfirmation = {
    id: newStateId(),
    command: req.command,
    raw: req.raw,
    caller: req.caller,
    request,
    guildId: req.guildId,
    channelId: req.channelId,
    createdAt: now,
    expiresAt: now + config.discord.confirmTimeout,
    twoPerson: [req.command, request.rule].some((name) => name !== undefined && config.discord.twoPersonConfirm.includes(name)),
  };
  try {
    await env.confirms.create(pending);
  } catch (err) {
    env.logger.warn({ err, command: req.command }, 'could not store a confirmation');
    throw unavailableError('Could not ask for the confirmation: Redis is unreachable.', 'Try again in a moment.');
  }
  const view = confirmView(pending, command?.capability ?? 'operator');
  const ref = await req.responder.prompt(renderConfirm(request, view));
  if (ref) await env.confirms.setMessage(pending.id, ref).catch((err: unknown) => env.logger.warn({ err, id: pending.id }, 'could not record where a confirmation was shown'));
  throw new ConfirmationPending(pending.id);
}

export function confirmView(pending: PendingConfirmation, capability: string) {
  return {
    confirmId: buttonId(pending.command, 'confirm', pending.id),
    cancelId: buttonId(pending.command, 'cancel', pending.id),
    expiresAt: pending.expiresAt,
    invokerUserId: userIdOf(pending.caller),
    twoPerson: pending.twoPerson,
    capability,
  };
}

/** One `<command>:run:<id>` button per follow-up action, its action stored in Redis. */
async function actionButtons(env: RunEnv, reply: Reply): Promise<Button[]> {
  const actions = (reply.actions ?? []).slice(0, 25);
  if (actions.length === 0) return [];
  try {
    return await Promise.all(actions.map(async (a) => ({ customId: buttonId(a.command, 'run', await env.actions.save(a)), label: a.label, ...(a.style ? { style: a.style } : {}) })));
  } catch (err) {
    env.logger.warn({ err }, 'could not store the actions of a reply; it is shown without its buttons');
    return [];
  }
}
