import { formatDuration } from '../../core/duration.js';
import { userIdOf } from './caller.js';
import type { Caller } from '../command.js';
import { checkAccess } from '../dispatch.js';
import { may, type Capability } from '../permissions.js';
import type { PendingConfirmation } from './confirm-store.js';
import { parseButtonId, type ButtonAction } from './custom-id.js';
import type { ButtonInfo } from './interaction.js';
import { renderConfirmClosed, renderNote } from './render.js';
import type { Responder } from './responder.js';
import { confirmView, runInteractionCommand, type RunEnv } from './run-command.js';

export interface ButtonDeps {
  env: RunEnv;
  /** the presser as a Caller (roles looked up when the interaction carries none) */
  callerOf(info: ButtonInfo): Promise<Caller>;
  /** a responder for this press; `onMessage`: later edits replace the button's message */
  responder(info: ButtonInfo, label: string, onMessage: boolean): Responder;
  signal: AbortSignal;
}

/** One press of a labops button, routed by its custom id: `<command>:confirm|cancel|run:<id>`. */
export async function handleButton(deps: ButtonDeps, info: ButtonInfo): Promise<void> {
  const parsed = parseButtonId(info.customId);
  if (!parsed) {
    const responder = deps.responder(info, `button ${info.customId}`, false);
    await responder.deferReply(true);
    await responder.finish(renderNote('This button is not one labops knows (any more).', 'warn'), true);
    return;
  }
  if (parsed.action === 'run') await runAction(deps, info, parsed.command, parsed.id);
  else await answerConfirmation(deps, info, parsed.command, parsed.action, parsed.id);
}

/**
 * Who may press a confirmation's buttons: the invoker, or, for a two-person command, a second
 * member with the command's capability (the invoker may still cancel). null: allowed.
 */
export function pressRefusal(pending: PendingConfirmation, presser: Caller, action: Exclude<ButtonAction, 'run'>, capability: Capability): string | null {
  const isInvoker = presser.id === pending.caller.id;
  const invoker = `<@${userIdOf(pending.caller)}>`;
  if (pending.twoPerson) {
    if (isInvoker) return action === 'cancel' ? null : `/${pending.command} needs a second person: someone else with the ${capability} role must confirm it.`;
    if (!may(presser.role, capability)) return `Only a member with the ${capability} role can ${action} /${pending.command}.`;
    return null;
  }
  return isInvoker ? null : `Only ${invoker}, who asked for /${pending.command}, can ${action} it.`;
}

async function answerConfirmation(deps: ButtonDeps, info: ButtonInfo, commandName: string, action: 'confirm' | 'cancel', id: string): Promise<void> {
  const { ctx, confirms, logger } = deps.env;
  const responder = deps.responder(info, `/${commandName} (${action})`, true);
  await responder.deferUpdate();
  const presser = await deps.callerOf(info);

  let pending: PendingConfirmation | null;
  try {
    pending = await confirms.get(id);
  } catch (err) {
    logger.warn({ err, id }, 'could not read a confirmation');
    await responder.whisper(renderNote('Could not read this confirmation: Redis is unreachable. Try again in a moment.', 'error'));
    return;
  }
  if (!pending || pending.command !== commandName) {
    await responder.whisper(renderNote('This confirmation is no longer pending: it expired or was already answered.', 'warn'));
    return;
  }
  const command = ctx.commands.get(pending.command);
  const capability: Capability = command?.capability ?? 'admin';
  const refusal = pressRefusal(pending, presser, action, capability);
  if (refusal) {
    logger.info({ id, command: pending.command, presser: presser.id, action }, 'confirmation button refused');
    auditPress(ctx, presser, pending, action, 'denied', refusal);
    await responder.whisper(renderNote(refusal, 'error'));
    return;
  }

  let claimed: PendingConfirmation | null;
  try {
    claimed = await confirms.claim(id);
  } catch (err) {
    logger.warn({ err, id }, 'could not claim a confirmation');
    await responder.whisper(renderNote('Could not take this confirmation: Redis is unreachable. Nothing was run; try again in a moment.', 'error'));
    return;
  }
  if (!claimed) {
    await responder.whisper(renderNote('Someone answered this confirmation first.', 'warn'));
    return;
  }
  if (Date.now() > claimed.expiresAt) {
    await responder.show(renderConfirmClosed(claimed.request, confirmView(claimed, capability), expiredText(ctx.config.discord.confirmTimeout))).catch(() => null);
    responder.settle();
    await responder.whisper(renderNote('This confirmation expired; run the command again.', 'warn'));
    return;
  }

  const confirmed = action === 'confirm';
  auditPress(ctx, presser, claimed, action, confirmed ? 'ok' : 'declined', null);
  responder.progress(confirmed ? `${claimed.request.confirmLabel}: confirmed by ${presser.name}; running /${claimed.command}…` : `Cancelled by ${presser.name}.`);
  // The invoker runs it: with their roles of now when they pressed themselves, else as they were when they asked.
  const runAs: Caller = presser.id === claimed.caller.id ? { ...presser, channelId: claimed.channelId } : claimed.caller;
  await runInteractionCommand(deps.env, {
    caller: runAs,
    userId: userIdOf(runAs),
    guildId: claimed.guildId,
    channelId: claimed.channelId,
    command: claimed.command,
    raw: claimed.raw,
    responder,
    signal: deps.signal,
    answered: { title: claimed.request.title, value: confirmed },
  });
}

async function runAction(deps: ButtonDeps, info: ButtonInfo, commandName: string, id: string): Promise<void> {
  const { ctx, actions, logger } = deps.env;
  const presser = await deps.callerOf(info);
  const command = ctx.commands.get(commandName);
  const responder = deps.responder(info, `/${commandName} (button)`, false);
  await responder.deferReply(!command || checkAccess(ctx, command, presser) !== null);

  let action;
  try {
    action = await actions.get(id);
  } catch (err) {
    logger.warn({ err, id }, 'could not read a button action');
    await responder.finish(renderNote('Could not read this button: Redis is unreachable. Try again in a moment.', 'error'), true);
    return;
  }
  if (!action || action.command !== commandName) {
    await responder.finish(renderNote('This button has expired; run the command instead.', 'warn'), true);
    return;
  }
  await runInteractionCommand(deps.env, {
    caller: presser,
    userId: info.user.userId,
    guildId: info.user.guildId,
    channelId: info.user.channelId,
    command: action.command,
    raw: action.options,
    responder,
    signal: deps.signal,
  });
}

/** Every press of a confirmation button is audited: who, for whose command, and whether it counted. */
function auditPress(ctx: ButtonDeps['env']['ctx'], presser: Caller, pending: PendingConfirmation, action: 'confirm' | 'cancel', outcome: string, error: string | null): void {
  void ctx.audit.record({
    kind: 'button',
    actorId: presser.id,
    actorName: presser.name,
    role: presser.role,
    adapter: 'discord',
    channel: presser.channelId,
    command: pending.command,
    args: { action, confirmation: pending.id, invoker: pending.caller.id },
    host: typeof pending.raw.host === 'string' ? pending.raw.host : null,
    jobId: null,
    startedAt: new Date(),
    finishedAt: new Date(),
    outcome,
    error,
  });
}

export function expiredText(timeoutMs: number): string {
  return `Expired: not confirmed within ${formatDuration(timeoutMs)}. Nothing was done; run the command again.`;
}
