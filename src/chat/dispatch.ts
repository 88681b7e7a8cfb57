import { randomUUID } from 'node:crypto';
import { closest } from '../config/inventory.js';
import type { BotContext } from '../bot/context.js';
import { errorMessage, isUserError, type UserError } from '../core/errors.js';
import { redact, redactDeep } from '../core/redact.js';
import type { AnyCommand, Caller, ConfirmRequest } from './command.js';
import { parseOptions } from './options.js';
import { may } from './permissions.js';
import type { Outcome, Reply } from '../core/reply.js';

/**
 * Thrown by an adapter's `confirm` when the answer will come later as a button press (Discord):
 * the command stops here and is run again, confirmed, when the button is pressed.
 */
export class ConfirmationPending extends Error {
  override readonly name = 'ConfirmationPending';
  constructor(readonly pendingId: string) {
    super('waiting for a confirmation button');
  }
}

export interface DispatchRequest {
  caller: Caller;
  command: string;
  raw: Record<string, unknown>;
  progress(text: string): void;
  confirm(request: ConfirmRequest): Promise<boolean>;
  signal?: AbortSignal;
}

/**
 * The one path every adapter takes to run a command: look it up, check the caller's capability
 * and channel, check the options, run it, and audit the outcome. It always answers with a Reply;
 * only `ConfirmationPending` escapes.
 */
export async function dispatch(ctx: BotContext, req: DispatchRequest): Promise<Reply> {
  const startedAt = new Date();
  const command = ctx.commands.get(req.command);
  const audit = (outcome: Outcome, error?: string, options: Record<string, unknown> = req.raw) =>
    ctx.audit.record({
      kind: 'command',
      actorId: req.caller.id,
      actorName: req.caller.name,
      role: req.caller.role,
      adapter: req.caller.adapter,
      channel: req.caller.channelId,
      command: req.command,
      args: redactDeep(options),
      host: typeof options.host === 'string' ? options.host : null,
      jobId: null,
      startedAt,
      finishedAt: new Date(),
      outcome,
      error: error ? redact(error) : null,
    });

  if (!command) {
    const mine = ctx.commands.list.filter((c) => may(req.caller.role, c.capability)).map((c) => c.name);
    const reply = usageReply(`Unknown command /${req.command}.`, `Commands you may run: ${closest(req.command, mine).map((n) => `/${n}`).join(' ')}`);
    await audit('usage', reply.title);
    return reply;
  }

  const denial = deny(ctx, command, req.caller);
  if (denial) {
    await audit('denied', denial.title);
    ctx.logger.info({ command: command.name, caller: req.caller.id, role: req.caller.role }, 'denied');
    return denial;
  }

  let options: Record<string, unknown>;
  try {
    options = parseOptions(command, req.raw, ctx.inventory);
  } catch (err) {
    if (!isUserError(err)) throw err;
    const reply = fromUserError(err);
    await audit(reply.outcome, err.message);
    return reply;
  }

  let reply: Reply;
  try {
    reply = await command.execute({
      ctx,
      caller: req.caller,
      options,
      progress: req.progress,
      confirm: req.confirm,
      signal: req.signal ?? new AbortController().signal,
    });
  } catch (err) {
    if (err instanceof ConfirmationPending) throw err;
    reply = isUserError(err) ? fromUserError(err) : apologise(ctx, command.name, err);
  }
  await audit(reply.outcome, reply.outcome === 'ok' ? undefined : reply.title, options);
  return reply;
}

/**
 * The capability and channel check of `dispatch`, for an adapter that must decide before running
 * (Discord: whether to acknowledge publicly or privately). `dispatch` applies it again.
 */
export function checkAccess(ctx: Pick<BotContext, 'config'>, command: AnyCommand, caller: Caller): Reply | null {
  return deny(ctx, command, caller);
}

function deny(ctx: Pick<BotContext, 'config'>, command: AnyCommand, caller: Caller): Reply | null {
  if (!may(caller.role, command.capability)) {
    const who = caller.role ? `Your role (${caller.role})` : 'You have no labops role, and';
    return {
      outcome: 'denied',
      tone: 'error',
      title: `${who} may not run /${command.name}: it needs ${command.capability}.`,
      blocks: [],
      hint: caller.role ? 'Ask an admin of the lab for the role, or run /help for what you may run.' : 'Ask an admin of the lab for a role; /help shows what you may run.',
    };
  }
  if (command.mutating && caller.adapter === 'discord') {
    if (caller.inDM) {
      return { outcome: 'denied', tone: 'error', title: `/${command.name} changes the lab and is not run in direct messages.`, blocks: [], hint: 'Run it in the lab channel, where the team can see it.' };
    }
    const allowed = ctx.config.discord.commandChannelIds;
    if (allowed.length > 0 && !allowed.includes(caller.channelId)) {
      return {
        outcome: 'denied',
        tone: 'error',
        title: `/${command.name} changes the lab and runs only in the lab's command channels.`,
        blocks: [],
        hint: `Use ${allowed.map((id) => `<#${id}>`).join(' or ')}.`,
      };
    }
  }
  return null;
}

function usageReply(title: string, hint?: string): Reply {
  return { outcome: 'usage', tone: 'error', title, blocks: [], ...(hint ? { hint } : {}) };
}

export function fromUserError(err: UserError): Reply {
  const outcome: Outcome = err.kind === 'usage' ? 'usage' : err.kind === 'permission' ? 'denied' : 'failed';
  return { outcome, tone: 'error', title: redact(err.message), blocks: [], ...(err.hint ? { hint: redact(err.hint) } : {}) };
}

/** An error we did not expect: logged with an id, and the user gets the id rather than the details. */
export function apologise(ctx: Pick<BotContext, 'logger'>, what: string, err: unknown): Reply {
  const errorId = randomUUID().slice(0, 8);
  ctx.logger.error({ err, errorId, what }, `unexpected error in ${what}: ${errorMessage(err)}`);
  return {
    outcome: 'error',
    tone: 'error',
    title: `Something went wrong on our side while running /${what}.`,
    blocks: [],
    hint: `It is logged as error ${errorId}; the lab's admin can find it in the bot's log.`,
  };
}
