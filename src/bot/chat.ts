import type { Caller } from '../chat/command.js';
import { localCaller } from '../chat/shell/local-caller.js';
import { runShell } from '../chat/shell/shell.js';
import { renderText } from '../chat/render-text.js';
import type { Config } from '../config/schema.js';
import type { BotContext } from './context.js';
import type { Logger } from '../core/logger.js';
import { consumeNotices } from '../queue/notice-queue.js';
import { printLine } from '../core/console-lines.js';
import { startAlertWatch } from './alerts/watch.js';

export interface RunningChat {
  /** resolves with the exit code when the chat side ends by itself (/quit, or Discord giving up) */
  done: Promise<number>;
  close(): Promise<void>;
}

/** Discord when a token is configured, else the local shell; with either, the bot's alert watch (worker offline, ended silences). */
export async function startChat(ctx: BotContext, config: Config, logger: Logger, local: { user?: string; role?: string }): Promise<RunningChat> {
  let chat: RunningChat;
  if (config.discord.token) {
    const { startDiscord } = await import('../chat/discord/bot.js');
    chat = await startDiscord(ctx, logger);
  } else {
    chat = startShellChat(ctx, config, logger, localCaller(config, 'shell', local));
  }
  const watch = startAlertWatch({ config, redis: ctx.redis, prefix: ctx.prefix, sink: ctx.notify, logger });
  return {
    done: chat.done,
    async close() {
      await watch.stop();
      await chat.close();
    },
  };
}

function startShellChat(ctx: BotContext, config: Config, logger: Logger, caller: Caller): RunningChat {
  // alerts and the repair log come to the console while no Discord is configured
  const notices = consumeNotices(
    ctx.redisTarget,
    config.redis.prefix,
    async (notice) => {
      // above the prompt, never in the middle of what is being typed
      printLine(`[${notice.channel}] ${renderText(notice.reply).replace(/\n/g, '\n  ')}`);
    },
    logger,
    { keys: ctx.signing.keys },
  );
  const done = runShell(ctx, caller).then(() => 0);
  return {
    done,
    async close() {
      await notices.close();
    },
  };
}
