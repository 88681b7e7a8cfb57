import { InteractionResponseType } from 'discord.js';
import type { Caller } from '../command.js';
import { prepare } from '../dispatch.js';
import { AckGate } from './ack-gate.js';
import { choicesFor } from './autocomplete.js';
import { handleButton } from './buttons.js';
import { callerFrom, type MemberRoles } from './caller.js';
import { describeError, type DiscordRest } from './discord-rest.js';
import type { AutocompleteInfo, CommandInfo, InteractionInfo } from './interaction.js';
import { Responder, type ResponderOptions } from './responder.js';
import { runInteractionCommand, type RunEnv } from './run-command.js';

export interface RouterDeps extends RunEnv {
  rest: DiscordRest;
  members: MemberRoles;
  responder: ResponderOptions;
}

/**
 * The one `interactionCreate` handler: slash commands, autocomplete, and buttons by the prefix of
 * their custom id. Every handler is short; the work is in runInteractionCommand, choicesFor and handleButton.
 */
export class Router {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly acks = new AckGate();

  constructor(private readonly deps: RouterDeps) {}

  /** Handles one interaction; never rejects. */
  route(info: InteractionInfo): Promise<void> {
    const task = this.handle(info).catch((err: unknown) => this.deps.logger.error({ err, interaction: info.id, kind: info.kind }, 'interaction handler failed'));
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
    return task;
  }

  /** Waits (at most `ms`) for the interactions being answered, then aborts what is left. */
  async drain(ms: number): Promise<void> {
    const all = Promise.allSettled([...this.inFlight]);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    await Promise.race([all, timeout]);
    this.abort.abort();
  }

  private async handle(info: InteractionInfo): Promise<void> {
    switch (info.kind) {
      case 'command':
        return await this.slash(info);
      case 'autocomplete':
        return await this.autocomplete(info);
      case 'button':
        return await handleButton(
          {
            env: this.deps,
            callerOf: (i) => this.callerOf(i),
            responder: (i, label, onMessage) => this.responder(i, label, `${label} pressed by <@${i.user.userId}>`, onMessage ? i.messageId : undefined),
            signal: this.abort.signal,
          },
          info,
        );
    }
  }

  /** Acknowledged before anything slow: privately when it will be refused, else publicly. */
  private async slash(info: CommandInfo): Promise<void> {
    const { ctx } = this.deps;
    // In a DM the interaction carries no roles: they are looked up after the acknowledgement.
    const known = info.user.roleIds !== null ? callerFrom(ctx.config, info.user) : null;
    const prepared = known ? prepare(ctx, known, info.name, info.options) : null;
    const privately = prepared ? !prepared.ok : !ctx.commands.get(info.name);
    const responder = this.responder(info, `/${info.name}`, `/${info.name} asked by <@${info.user.userId}>`);
    await responder.deferReply(privately);
    ctx.metrics.acknowledged(Date.now() - info.receivedAt);
    const caller = known ?? (await this.callerOf(info));
    await runInteractionCommand(this.deps, {
      ...(prepared ? { prepared } : {}),
      caller,
      userId: info.user.userId,
      guildId: info.user.guildId,
      channelId: info.user.channelId,
      command: info.name,
      raw: info.options,
      responder,
      signal: this.abort.signal,
    });
  }

  private async autocomplete(info: AutocompleteInfo): Promise<void> {
    const { ctx, rest, members, logger } = this.deps;
    const roles = info.user.roleIds ?? members.cached(info.user.userId);
    const caller = callerFrom(ctx.config, info.user, roles);
    const choices = await choicesFor(ctx, caller, info.name, info.focused, info.options);
    try {
      await rest.callback(info.id, info.token, InteractionResponseType.ApplicationCommandAutocompleteResult, { choices });
    } catch (err) {
      logger.warn({ err: describeError(err), interaction: info.id, command: info.name }, 'autocomplete answer failed');
    }
    // warm the DM role cache for the command that follows
    if (info.user.roleIds === null && roles === null) void members.lookup(info.user.userId);
  }

  private async callerOf(info: InteractionInfo): Promise<Caller> {
    if (info.user.roleIds !== null) return callerFrom(this.deps.ctx.config, info.user);
    return callerFrom(this.deps.ctx.config, info.user, await this.deps.members.lookup(info.user.userId));
  }

  private responder(info: InteractionInfo, label: string, header: string, componentMessageId?: string): Responder {
    return new Responder(
      this.deps.rest,
      {
        applicationId: info.applicationId,
        interactionId: info.id,
        token: info.token,
        guildId: info.user.guildId,
        channelId: info.user.channelId,
        createdAt: info.createdAt,
        receivedAt: info.receivedAt,
        label,
        header,
        ...(componentMessageId ? { componentMessageId } : {}),
      },
      this.deps.logger,
      this.deps.responder,
      this.acks,
    );
  }
}
