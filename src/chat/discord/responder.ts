import { setTimeout as sleep } from 'node:timers/promises';
import { InteractionResponseType, MessageFlags } from 'discord.js';
import type { Logger } from '../../core/logger.js';
import { throttleLatest } from '../throttle.js';
import type { AckGate } from './ack-gate.js';
import { Code, describeError, errorCode, retryDelay, tokenGone, type DiscordRest, type MessageRef } from './discord-rest.js';
import { renderNote, renderProgress, withContent, type OutgoingMessage } from './render.js';

export interface ResponderTarget {
  applicationId: string;
  interactionId: string;
  token: string;
  guildId: string | null;
  channelId: string;
  /** when Discord created the interaction, and when the bot received it (ms) */
  createdAt: number;
  receivedAt: number;
  /** for a button: the message it is on */
  componentMessageId?: string;
  /** what this is, for logs: "/status" */
  label: string;
  /** the line above a result that lands in a channel message instead: "/status asked by <@id>" */
  header: string;
}

export interface ResponderOptions {
  /** after this long the interaction token is not trusted any more (Discord: 15 min) and the reply moves to a channel message */
  tokenSafeMs: number;
  /** at most one progress edit per this long */
  progressIntervalMs: number;
}

export const RESPONDER_DEFAULTS: ResponderOptions = { tokenSafeMs: 14 * 60_000, progressIntervalMs: 1_500 };

/** The final answer is tried this many times when Discord refuses it for now (429, 5xx, no answer), */
const RESULT_ATTEMPTS = 5;
/** the first retry after this long, doubling (discord.js has already retried a 5xx 3 times at once). */
const RESULT_RETRY_MS = 1_000;

/**
 * One interaction's answer: the acknowledgement (a deferred reply, or a deferred update of the
 * button's message), throttled progress edits of one message, then the final edit. When the
 * acknowledgement comes too late (10062) or the token runs out (15 minutes, 50027), the answer goes
 * on in a normal channel message, posted once and then edited, so nothing is lost.
 */
export class Responder {
  private ack: 'none' | 'reply' | 'update' | 'lost' = 'none';
  private ephemeral = false;
  private mode: 'interaction' | 'channel' = 'interaction';
  private channelMessage: MessageRef | null = null;
  private lastShown: OutgoingMessage | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly throttle;
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  /** channel messages posted so far (part of each post's nonce) */
  private posts = 0;

  constructor(
    private readonly rest: DiscordRest,
    private readonly target: ResponderTarget,
    private readonly logger: Logger,
    private readonly opts: ResponderOptions = RESPONDER_DEFAULTS,
    /** shared by the interactions of one bot: acknowledgements before work */
    private readonly gate?: AckGate,
  ) {
    this.throttle = throttleLatest<string>(opts.progressIntervalMs, async (text) => {
      if (this.done) return;
      await this.show(renderProgress(text)).catch((err: unknown) => this.logger.warn({ err: describeError(err), interaction: target.interactionId }, 'progress edit failed'));
    });
  }

  /** Acknowledges with a deferred reply ("… is thinking"), public or ephemeral. */
  async deferReply(ephemeral: boolean): Promise<void> {
    this.ephemeral = ephemeral;
    try {
      await this.acknowledge(() => this.rest.callback(this.target.interactionId, this.target.token, InteractionResponseType.DeferredChannelMessageWithSource, ephemeral ? { flags: MessageFlags.Ephemeral } : undefined));
      this.ack = 'reply';
      this.armSwitch();
    } catch (err) {
      if (this.ackedBefore(err, 'reply')) return;
      this.lost(err);
    }
  }

  /** Acknowledges a button press by deferring an update of its message (which later edits replace). */
  async deferUpdate(): Promise<void> {
    try {
      await this.acknowledge(() => this.rest.callback(this.target.interactionId, this.target.token, InteractionResponseType.DeferredMessageUpdate));
      this.ack = 'update';
      this.armSwitch();
    } catch (err) {
      if (this.ackedBefore(err, 'update')) return;
      this.ack = 'update';
      this.lost(err);
    }
  }

  /** Resolves when no other interaction of this bot is waiting for its acknowledgement (at most ~100 ms). */
  async othersAcknowledged(): Promise<void> {
    await this.gate?.idle();
  }

  /** A progress line; edits are throttled, the newest line wins. */
  progress(text: string): void {
    if (!this.done) this.throttle.push(text);
  }

  /** Shows `msg` in place of what is shown now; says where it is. */
  show(msg: OutgoingMessage): Promise<MessageRef | null> {
    return this.enqueue(() => this.write(msg));
  }

  /** Stops progress and shows a message that stays (a confirmation prompt); says where it is. */
  async prompt(msg: OutgoingMessage): Promise<MessageRef | null> {
    this.done = true;
    await this.throttle.flush();
    const ref = await this.show(msg);
    this.stopTimer();
    return ref;
  }

  /**
   * The final answer. `privately`: errors and denials, which go only to the caller when the
   * interaction allows it (a public deferred reply is replaced by an ephemeral follow-up).
   */
  async finish(msg: OutgoingMessage, privately = false): Promise<void> {
    this.done = true;
    await this.throttle.flush();
    this.stopTimer();
    await this.enqueue(async () => {
      // (a DM is private already)
      if (privately && this.mode === 'interaction' && this.ack === 'reply' && !this.ephemeral && this.target.guildId !== null) {
        try {
          await this.rest.deleteOriginal(this.target.applicationId, this.target.token);
          await this.rest.followUp(this.target.applicationId, this.target.token, msg, true);
          return;
        } catch (err) {
          if (!tokenGone(err)) this.logger.warn({ err: describeError(err), interaction: this.target.interactionId }, 'could not answer privately; answering in place');
        }
      }
      try {
        await this.writeResult(msg);
      } catch (err) {
        this.logger.error({ err: describeError(err), interaction: this.target.interactionId, what: this.target.label }, 'could not post the result');
        await this.write(renderNote(`The result of ${this.target.label} could not be shown (${describeError(err)}); it is in the bot's log.`, 'error')).catch(() => undefined);
      }
    });
  }

  /** An ephemeral note to the person who pressed or typed (after a deferred update or reply). */
  async whisper(msg: OutgoingMessage): Promise<void> {
    await this.enqueue(async () => {
      if (this.ack === 'lost' || this.mode === 'channel') {
        this.logger.info({ interaction: this.target.interactionId, note: msg.body.embeds[0]?.description ?? msg.body.content }, 'a private note could not be delivered: the interaction is gone');
        return;
      }
      try {
        await this.rest.followUp(this.target.applicationId, this.target.token, msg, true);
      } catch (err) {
        this.logger.warn({ err: describeError(err), interaction: this.target.interactionId }, 'could not send a private note');
      }
    });
  }

  /** Nothing more will be shown (the command waits for a button); stops the timers. */
  settle(): void {
    this.done = true;
    this.throttle.cancel();
    this.stopTimer();
  }

  // ---- internals ----

  private acknowledge(fn: () => Promise<void>): Promise<void> {
    return this.gate ? this.gate.ack(fn) : fn();
  }

  /**
   * 40060 (already acknowledged) on the bot's only acknowledgement: an earlier try of this very
   * callback was taken by Discord and only its answer was lost (a 5xx, and discord.js tried again).
   * The interaction is acknowledged; the answer goes on in it.
   */
  private ackedBefore(err: unknown, ack: 'reply' | 'update'): boolean {
    if (errorCode(err) !== Code.AlreadyAcknowledged) return false;
    this.logger.info({ interaction: this.target.interactionId, what: this.target.label }, 'the acknowledgement was taken by an earlier try (40060); answering in the interaction');
    this.ack = ack;
    this.armSwitch();
    return true;
  }

  /** The final answer is worth waiting for: a write Discord refuses for now is tried again, with backoff. */
  private async writeResult(msg: OutgoingMessage): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.write(msg);
        return;
      } catch (err) {
        const delayMs = retryDelay(err, RESULT_RETRY_MS * 2 ** (attempt - 1));
        if (delayMs === null || attempt >= RESULT_ATTEMPTS) throw err;
        this.logger.warn({ err: describeError(err), interaction: this.target.interactionId, what: this.target.label, attempt, delayMs }, 'could not show the result yet; trying again');
        await sleep(delayMs);
      }
    }
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private tokenAge(): number {
    return Date.now() - Math.min(this.target.createdAt, this.target.receivedAt);
  }

  private armSwitch(): void {
    const wait = this.opts.tokenSafeMs - this.tokenAge();
    this.timer = setTimeout(() => void this.enqueue(() => this.moveToChannel()).catch(() => undefined), Math.max(0, wait));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private lost(err: unknown): void {
    const code = errorCode(err);
    this.ack = 'lost';
    this.mode = 'channel';
    if (this.target.componentMessageId) this.channelMessage = { channelId: this.target.channelId, messageId: this.target.componentMessageId };
    const fields = { interaction: this.target.interactionId, what: this.target.label, code, ageMs: Date.now() - this.target.createdAt, err: describeError(err) };
    if (code === Code.UnknownInteraction) this.logger.warn(fields, 'interaction expired before the bot acknowledged it (10062); its result goes to the channel instead');
    else this.logger.warn(fields, 'could not acknowledge the interaction; its result goes to the channel instead');
  }

  /**
   * Before the token runs out: the answer continues in a channel message (the button's own message
   * for a press), and the interaction's reply says where.
   */
  private async moveToChannel(fromWrite = false): Promise<void> {
    if (this.mode === 'channel' || this.ephemeral || (this.done && !fromWrite)) return;
    this.logger.info({ interaction: this.target.interactionId, what: this.target.label }, 'interaction token about to expire; continuing in a channel message');
    this.mode = 'channel';
    if (this.ack === 'update' && this.target.componentMessageId) {
      this.channelMessage = { channelId: this.target.channelId, messageId: this.target.componentMessageId };
      return;
    }
    const ref = await this.writeChannel(this.lastShown ?? renderProgress('still working…'));
    const link = `https://discord.com/channels/${this.target.guildId ?? '@me'}/${ref.channelId}/${ref.messageId}`;
    await this.rest
      .editOriginal(this.target.applicationId, this.target.token, renderNote(`Continued in ${link}`))
      .catch((err: unknown) => this.logger.info({ err: describeError(err) }, 'could not point the expiring reply at its continuation'));
  }

  private async write(msg: OutgoingMessage): Promise<MessageRef | null> {
    this.lastShown = msg;
    if (this.mode === 'interaction' && this.tokenAge() > this.opts.tokenSafeMs) await this.moveToChannel(true);
    if (this.mode === 'interaction') {
      try {
        const m = await this.rest.editOriginal(this.target.applicationId, this.target.token, msg);
        return { channelId: m.channel_id, messageId: m.id };
      } catch (err) {
        if (!tokenGone(err) && errorCode(err) !== Code.UnknownMessage) throw err;
        this.logger.warn({ interaction: this.target.interactionId, what: this.target.label, err: describeError(err) }, 'the interaction token no longer works; continuing in a channel message');
        this.mode = 'channel';
        if (this.ack === 'update' && this.target.componentMessageId) this.channelMessage = { channelId: this.target.channelId, messageId: this.target.componentMessageId };
      }
    }
    return await this.writeChannel(msg);
  }

  private async writeChannel(msg: OutgoingMessage): Promise<MessageRef> {
    const content = [this.target.header, msg.body.content].filter(Boolean).join('\n');
    const out = withContent(msg, content);
    if (this.channelMessage) {
      try {
        await this.rest.edit(this.channelMessage, out);
        return this.channelMessage;
      } catch (err) {
        if (errorCode(err) !== Code.UnknownMessage) throw err;
      }
    }
    // a nonce per post: a retry of a post whose answer was lost (a 5xx after Discord stored it) gets the same message
    const nonce = `i${this.target.interactionId}-${this.posts}`;
    const m = await this.rest.post(this.target.channelId, { ...out, body: { ...out.body, nonce, enforce_nonce: true } });
    this.posts++;
    this.channelMessage = { channelId: m.channel_id, messageId: m.id };
    return this.channelMessage;
  }
}
