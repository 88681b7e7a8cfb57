import { createHash } from 'node:crypto';
import { DiscordAPIError } from 'discord.js';
import type { Redis } from '../../redis/connection.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { RetryLater, type Notice, type NoticeChannel } from '../../notify/notice.js';
import type { ActionStore } from './actions-store.js';
import { buttonId } from './custom-id.js';
import { Code, describeError, errorCode, retryDelay, type DiscordRest, type MessageRef } from './discord-rest.js';
import { renderReply, type Button } from './render.js';

/** How long the message of a notice (per job id) and of an alert (per key) are remembered. */
const JOB_TTL_S = 7 * 24 * 3600;
const KEY_TTL_S = 30 * 24 * 3600;
/** Retry delay after a Discord 5xx or no answer at all. */
const RETRY_MS = 2_000;

/**
 * Discord's nonce for a notice: the same for every try of one notice job (so with
 * `enforce_nonce` Discord answers a repeated post with the first message), at most 25 characters.
 */
export function noticeNonce(prefix: string, jobId: string): string {
  return `lo${createHash('sha256').update(`${prefix}:${jobId}`).digest('base64url').slice(0, 23)}`;
}

/**
 * Posts the durable notify queue's notices (alerts, the repair log) to their channels. A notice
 * that Discord refuses for now (429, 5xx, no answer) is retried later (`RetryLater`), never
 * dropped; a notice is never posted twice (a nonce per job id, and its message id remembered in
 * Redis); a later notice with the same alert key edits the same message.
 */
export class NoticePoster {
  private readonly warned = new Set<NoticeChannel>();

  constructor(
    private readonly deps: { config: Config; redis: Redis; prefix: string; rest: DiscordRest; actions: ActionStore; logger: Logger },
  ) {}

  channelFor(channel: NoticeChannel): string | undefined {
    const d = this.deps.config.discord;
    return channel === 'alert' ? (d.alertChannelId ?? d.logChannelId) : (d.logChannelId ?? d.alertChannelId);
  }

  async deliver(notice: Notice, jobId: string): Promise<void> {
    const { redis, prefix, rest, logger } = this.deps;
    const channelId = this.channelFor(notice.channel);
    if (!channelId) {
      if (!this.warned.has(notice.channel)) logger.warn({ channel: notice.channel }, `no Discord channel is configured for ${notice.channel} notices (discord.alertChannelId / discord.logChannelId); they are only logged`);
      this.warned.add(notice.channel);
      logger.info({ channel: notice.channel, title: notice.reply.title, key: notice.key }, 'notice');
      return;
    }
    const jobKey = `${prefix}:discord:notice:job:${jobId}`;
    if (await redis.exists(jobKey)) return; // delivered by an earlier try whose completion was lost

    const msg = renderReply(notice.reply, { fileName: notice.channel, buttons: await this.buttons(notice) });
    const keyKey = notice.key ? `${prefix}:discord:notice:key:${notice.key}` : null;
    try {
      let ref: MessageRef | null = null;
      if (keyKey) {
        const known = parseRef(await redis.get(keyKey));
        if (known && known.channelId === channelId) {
          try {
            await rest.edit(known, msg);
            ref = known;
          } catch (err) {
            if (errorCode(err) !== Code.UnknownMessage) throw err; // deleted by someone: post a new one
          }
        }
      }
      if (!ref) {
        const posted = await rest.post(channelId, { body: { ...msg.body, nonce: noticeNonce(prefix, jobId), enforce_nonce: true }, files: msg.files });
        ref = { channelId: posted.channel_id, messageId: posted.id };
      }
      const remember = redis.multi().set(jobKey, JSON.stringify(ref), 'EX', JOB_TTL_S);
      if (keyKey) remember.set(keyKey, JSON.stringify(ref), 'EX', KEY_TTL_S);
      await remember.exec();
      logger.info({ channel: notice.channel, key: notice.key, jobId, messageId: ref.messageId }, 'notice posted');
    } catch (err) {
      const delay = retryDelay(err, RETRY_MS);
      if (delay !== null) throw new RetryLater(delay, `Discord: ${describeError(err)}`);
      // missing access or an unknown channel is fixed by an admin, not by the code: keep trying, slowly
      if (err instanceof DiscordAPIError && (err.status === 403 || err.status === 404)) throw new RetryLater(60_000, `Discord: ${describeError(err)}`);
      throw err;
    }
  }

  private async buttons(notice: Notice): Promise<Button[]> {
    const actions = notice.reply.actions ?? [];
    if (actions.length === 0) return [];
    return await Promise.all(actions.slice(0, 25).map(async (a) => ({ customId: buttonId(a.command, 'run', await this.deps.actions.save(a)), label: a.label, ...(a.style ? { style: a.style } : {}) })));
  }
}

function parseRef(raw: string | null): MessageRef | null {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as MessageRef;
  } catch {
    return null;
  }
}
