import { AuditLog } from '../audit/audit-log.js';
import type { AnyCommand } from '../chat/command.js';
import { CommandRegistry } from '../chat/registry.js';
import { Inventory } from '../config/inventory.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { LabDatabase } from '../db/database.js';
import { FootprintStore } from '../db/footprints.js';
import { JobClient } from '../queue/job-client.js';
import { Notifier } from '../queue/notice-queue.js';
import { commandClient, type Redis } from '../redis/connection.js';
import { logRedisErrors } from '../redis/log-errors.js';

/** What a command handler reaches the core through (the bot side). */
export interface BotContext {
  config: Config;
  inventory: Inventory;
  commands: CommandRegistry;
  logger: Logger;
  redis: Redis;
  redisUrl: string;
  prefix: string;
  jobs: JobClient;
  audit: AuditLog;
  footprints: FootprintStore;
  notify: Notifier;
}

export interface OwnedBotContext extends BotContext {
  close(): Promise<void>;
}

/** Connects what command handlers need. Redis or PostgreSQL being down does not stop it: commands say so. */
export async function createBotContext(config: Config, logger: Logger, commands: readonly AnyCommand[]): Promise<OwnedBotContext> {
  const redisUrl = config.redis.url;
  const prefix = config.redis.prefix;
  const redis = commandClient(redisUrl);
  logRedisErrors(redis, redisUrl, logger);
  const db = new LabDatabase(config.database.url, config.database.schema);
  const audit = new AuditLog({ db, redis, redisUrl, prefix, logger });
  await audit.start();
  const jobs = new JobClient({ redisUrl, prefix, connection: redis, logger });
  const notify = new Notifier(redis, prefix, logger);
  return {
    config,
    inventory: new Inventory(config),
    commands: new CommandRegistry(commands),
    logger,
    redis,
    redisUrl,
    prefix,
    jobs,
    audit,
    footprints: new FootprintStore(db),
    notify,
    async close() {
      await audit.flush().catch(() => undefined);
      await Promise.allSettled([jobs.close(), notify.close(), audit.close()]);
      await db.close();
      redis.disconnect();
    },
  };
}
