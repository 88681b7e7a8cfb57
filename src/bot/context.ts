import type { Redis } from 'ioredis';
import { AuditLog } from '../audit/audit-log.js';
import { CommandRegistry } from '../chat/registry.js';
import { Inventory } from '../config/inventory.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { JobClient } from '../queue/job-client.js';
import { Notifier } from '../queue/notify.js';
import { commandClient } from '../redis/connection.js';
import { commands } from '../../commands/index.js';
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
  notify: Notifier;
}

export interface OwnedBotContext extends BotContext {
  close(): Promise<void>;
}

/** Connects what command handlers need. Redis or PostgreSQL being down does not stop it: commands say so. */
export async function createBotContext(config: Config, logger: Logger): Promise<OwnedBotContext> {
  const redisUrl = config.redis.url;
  const prefix = config.redis.prefix;
  const redis = commandClient(redisUrl);
  logRedisErrors(redis, redisUrl, logger);
  const audit = new AuditLog({ databaseUrl: config.database.url, schema: config.database.schema, redis, prefix, logger });
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
    notify,
    async close() {
      await audit.flush().catch(() => undefined);
      await Promise.allSettled([jobs.close(), notify.close(), audit.close()]);
      redis.disconnect();
    },
  };
}
