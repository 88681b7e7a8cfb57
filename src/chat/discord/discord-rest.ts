import { DiscordAPIError, HTTPError, InteractionResponseType, MessageFlags, RateLimitError, Routes, type APIMessage, type REST, type RawFile } from 'discord.js';
import type { OutgoingMessage } from './render.js';

/** Discord's JSON error codes the adapter acts on. */
export const Code = {
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownWebhook: 10015,
  UnknownInteraction: 10062,
  AlreadyAcknowledged: 40060,
  InvalidWebhookToken: 50027,
} as const;

export interface MessageRef {
  channelId: string;
  messageId: string;
}

/**
 * The few REST calls the adapter makes, on Discord's JSON (discord.js's REST does rate limits,
 * retries and multipart). Interaction callbacks and webhooks authenticate with the interaction
 * token and go through `interactions`, a client without the bot's global limit of 50 requests a
 * second (Discord does not count interaction endpoints against it; their per-route limits still
 * apply); channel messages use the bot token and `rest`.
 */
export class DiscordRest {
  constructor(
    readonly rest: REST,
    readonly interactions: REST = rest,
  ) {}

  async callback(interactionId: string, token: string, type: InteractionResponseType, data?: unknown, files: OutgoingMessage['files'] = []): Promise<void> {
    await this.interactions.post(Routes.interactionCallback(interactionId, token), { body: { type, ...(data === undefined ? {} : { data }) }, auth: false, ...filesOf(files) });
  }

  /** Callback 4 with an ephemeral message. */
  async replyEphemeral(interactionId: string, token: string, msg: OutgoingMessage): Promise<void> {
    await this.callback(interactionId, token, InteractionResponseType.ChannelMessageWithSource, { ...msg.body, flags: MessageFlags.Ephemeral }, msg.files);
  }

  async editOriginal(applicationId: string, token: string, msg: OutgoingMessage): Promise<APIMessage> {
    return (await this.interactions.patch(Routes.webhookMessage(applicationId, token, '@original'), { body: msg.body, auth: false, ...filesOf(msg.files) })) as APIMessage;
  }

  async deleteOriginal(applicationId: string, token: string): Promise<void> {
    await this.interactions.delete(Routes.webhookMessage(applicationId, token, '@original'), { auth: false });
  }

  async followUp(applicationId: string, token: string, msg: OutgoingMessage, ephemeral: boolean): Promise<APIMessage> {
    const body = { ...msg.body, ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) };
    return (await this.interactions.post(Routes.webhook(applicationId, token), { body, auth: false, query: new URLSearchParams({ wait: 'true' }), ...filesOf(msg.files) })) as APIMessage;
  }

  async post(channelId: string, msg: OutgoingMessage): Promise<APIMessage> {
    return (await this.rest.post(Routes.channelMessages(channelId), { body: msg.body, ...filesOf(msg.files) })) as APIMessage;
  }

  async edit(ref: MessageRef, msg: OutgoingMessage): Promise<APIMessage> {
    return (await this.rest.patch(Routes.channelMessage(ref.channelId, ref.messageId), { body: msg.body, ...filesOf(msg.files) })) as APIMessage;
  }
}

function filesOf(files: OutgoingMessage['files']): { files?: RawFile[] } {
  if (files.length === 0) return {};
  return { files: files.map((f) => ({ name: f.name, data: f.data, ...(f.contentType ? { contentType: f.contentType } : {}) })) };
}

/** Discord's JSON error code of a failed call, if it has one. */
export function errorCode(err: unknown): number | undefined {
  return err instanceof DiscordAPIError && typeof err.code === 'number' ? err.code : undefined;
}

/** The interaction token no longer works on the webhook routes (15 minutes passed, or it is unknown). */
export function tokenGone(err: unknown): boolean {
  const code = errorCode(err);
  return code === Code.InvalidWebhookToken || code === Code.UnknownWebhook || (err instanceof DiscordAPIError && err.status === 401);
}

/** How long to wait before trying again, for errors worth retrying (429, 5xx, the network); null otherwise. */
export function retryDelay(err: unknown, fallbackMs: number): number | null {
  if (err instanceof RateLimitError) return Math.max(err.retryAfter, err.timeToReset, 250);
  if (err instanceof HTTPError) return err.status >= 500 ? fallbackMs : null;
  if (err instanceof DiscordAPIError) return err.status >= 500 || err.status === 429 ? fallbackMs : null;
  // no answer at all: connection refused or reset, timeout
  return fallbackMs;
}

export function describeError(err: unknown): string {
  if (err instanceof DiscordAPIError) return `${err.status} code ${String(err.code)}: ${err.message}`;
  if (err instanceof HTTPError) return `${err.status} ${err.message}`;
  if (err instanceof RateLimitError) return `rate limited for ${err.retryAfter} ms`;
  return err instanceof Error ? err.message : String(err);
}
