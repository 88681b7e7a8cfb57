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

/** A command looked up and checked, ready to run; or the reply that refuses it. */
export type Prepared =
  | { ok: true; command: AnyCommand; options: Record<string, unknown> }
  | { ok: false; reply: Reply; command: AnyCommand | null };

/**
 * Looks the command up, checks the caller's capability and channel, and checks the options. No I/O,
 * so an adapter can decide how to acknowledge (publicly or privately) before anything slow; the same
 * result is then run by `execute`, so nothing is checked twice.
 */
export function prepare(ctx: Pick<BotContext, 'config' | 'commands' | 'inventory'>, caller: Caller, name: string, raw: Record<string, unknown>): Prepared {
  const command = ctx.commands.get(name);
  if (!command) {
    const mine = ctx.commands.list.filter((c) => may(caller.role, c.capability)).map((c) => c.name);
    return { ok: false, command: null, reply: usageReply(`Unknown command /${name.length > 40 ? `${name.slice(0, 40)}…` : name}.`, `Commands you may run: ${closest(name, mine).map((n) => `/${n}`).join(' ')}`) };
  }
  const denial = deny(ctx, command, caller);
  if (denial) return { ok: false, command, reply: denial };
  try {
    return { ok: true, command, options: parseOptions(command, raw, ctx.inventory) };
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { ok: false, command, reply: fromUserError(err) };
  }
}

/**
 * The one path every adapter takes to run a command: prepare it (unless the adapter did), run it,
 * and audit the outcome — refusals included. It always answers with a Reply; only
 * `ConfirmationPending` escapes.
 */
export async function dispatch(ctx: BotContext, req: DispatchRequest, prepared: Prepared = prepare(ctx, req.caller, req.command, req.raw)): Promise<Reply> {
  const startedAt = new Date();
  const audit = (outcome: Outcome, error?: string, options: Record<string, unknown> = req.raw) => {
    // a name no command has is counted as "unknown": labels stay a bounded set
    ctx.metrics.commandEnded(ctx.commands.get(req.command) ? req.command : 'unknown', outcome, req.caller.adapter, Date.now() - startedAt.getTime());
    return ctx.audit.record({
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
  };

  if (!prepared.ok) {
    if (prepared.reply.outcome === 'denied') ctx.logger.info({ command: req.command, caller: req.caller.id, role: req.caller.role }, 'denied');
    await audit(prepared.reply.outcome, prepared.reply.title);
    return prepared.reply;
  }

  let reply: Reply;
  try {
    reply = await prepared.command.execute({
      ctx,
      caller: req.caller,
      options: prepared.options,
      progress: req.progress,
      confirm: req.confirm,
      signal: req.signal ?? new AbortController().signal,
    });
  } catch (err) {
    if (err instanceof ConfirmationPending) throw err;
    reply = isUserError(err) ? fromUserError(err) : apologise(ctx, prepared.command.name, err);
  }
  await audit(reply.outcome, reply.outcome === 'ok' ? undefined : reply.title, prepared.options);
  return reply;
}

/** Whether the caller may run the command here (capability, DM, channel): the refusal, or null. */
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
    // the alert channel too: its alerts carry buttons (Acknowledge, Silence, Stop idle models) that run commands there
    const { commandChannelIds, alertChannelId } = ctx.config.discord;
    const allowed = commandChannelIds.length > 0 && alertChannelId ? [...commandChannelIds, alertChannelId] : commandChannelIds;
    if (allowed.length > 0 && !allowed.includes(caller.channelId)) {
      return {
        outcome: 'denied',
        tone: 'error',
        title: `/${command.name} changes the lab and runs only in the lab's command channels.`,
        blocks: [],
        hint: `Use ${commandChannelIds.map((id) => `<#${id}>`).join(' or ')}.`,
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
