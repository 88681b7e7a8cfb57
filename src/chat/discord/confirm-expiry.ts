import type { BotContext } from '../../bot/context.js';
import type { Logger } from '../../core/logger.js';
import type { Capability } from '../permissions.js';
import { expiredText } from './buttons.js';
import type { ConfirmStore } from './confirm-store.js';
import { describeError, type DiscordRest } from './discord-rest.js';
import { renderConfirmClosed } from './render.js';
import { confirmView } from './run-command.js';

/**
 * Closes confirmations whose time is up: claims each (so a press at the same moment cannot also
 * run it), disables its buttons and says it expired, and audits it as declined. Reads the expiry
 * set in Redis, so prompts left by a previous run of the bot are closed too.
 */
export function startConfirmExpiry(deps: { ctx: BotContext; confirms: ConfirmStore; rest: DiscordRest; logger: Logger }, intervalMs: number): { stop(): void; sweep(): Promise<void> } {
  const { ctx, confirms, rest, logger } = deps;
  let running: Promise<void> | null = null;

  const sweepOnce = async () => {
    let due: string[];
    try {
      due = await confirms.due();
    } catch {
      return; // Redis down: the next sweep tries again
    }
    for (const id of due) {
      const pending = await confirms.claim(id).catch(() => null);
      if (!pending) {
        await confirms.drop(id).catch(() => undefined);
        continue;
      }
      const capability: Capability = ctx.commands.get(pending.command)?.capability ?? 'admin';
      if (pending.message) {
        try {
          await rest.edit(pending.message, renderConfirmClosed(pending.request, confirmView(pending, capability), expiredText(ctx.config.discord.confirmTimeout)));
        } catch (err) {
          logger.warn({ err: describeError(err), id, command: pending.command }, 'could not mark an expired confirmation');
        }
      }
      logger.info({ id, command: pending.command, caller: pending.caller.id }, 'confirmation expired');
      void ctx.audit.record({
        kind: 'button',
        actorId: pending.caller.id,
        actorName: pending.caller.name,
        role: pending.caller.role,
        adapter: 'discord',
        channel: pending.channelId,
        command: pending.command,
        args: { action: 'expire', confirmation: id },
        host: typeof pending.raw.host === 'string' ? pending.raw.host : null,
        jobId: null,
        startedAt: new Date(pending.createdAt),
        finishedAt: new Date(),
        outcome: 'declined',
        error: 'confirmation expired',
      });
    }
  };

  const sweep = () => (running ??= sweepOnce().finally(() => (running = null)));
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    sweep,
  };
}
