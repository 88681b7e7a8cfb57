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
import { commandClient, redisTarget, type Redis, type RedisTarget } from '../redis/connection.js';
import { jobSigning, type JobSigning } from '../config/security.js';
import { logRedisErrors } from '../redis/log-errors.js';
import { botMetrics, type BotMetrics } from './metrics.js';

/** What a command handler reaches the core through (the bot side). */
export interface BotContext {
  config: Config;
  inventory: Inventory;
  commands: CommandRegistry;
  logger: Logger;
  redis: Redis;
  /** for messages (no password); connect with `redisTarget` */
  redisUrl: string;
  /** URL, credentials and TLS: what every Redis client of this process connects with */
  redisTarget: RedisTarget;
  prefix: string;
  /** the lab's keys (jobs and notices are signed with them) and the job age bound */
  signing: JobSigning;
  jobs: JobClient;
  audit: AuditLog;
  footprints: FootprintStore;
  notify: Notifier;
  /** Prometheus metrics of this process (served by `labops bot` and `labops all`) */
  metrics: BotMetrics;
}

export interface OwnedBotContext extends BotContext {
  close(): Promise<void>;
}

/** Connects what command handlers need. Redis or PostgreSQL being down does not stop it: commands say so. */
export async function createBotContext(config: Config, logger: Logger, commands: readonly AnyCommand[]): Promise<OwnedBotContext> {
  const redisUrl = config.redis.url;
  const target = redisTarget(config.redis);
  const signing = jobSigning(config);
  const prefix = config.redis.prefix;
  const redis = commandClient(target);
  logRedisErrors(redis, redisUrl, logger);
  const db = new LabDatabase(config.database.url, config.database.schema, config.database.ssl);
  const audit = new AuditLog({ db, redis, redisUrl, prefix, logger });
  await audit.start();
  const jobs = new JobClient({ redis: target, prefix, connection: redis, logger, keys: signing.keys });
  const notify = new Notifier(redis, prefix, logger, signing.keys);
  return {
    config,
    inventory: new Inventory(config),
    commands: new CommandRegistry(commands),
    logger,
    redis,
    redisUrl,
    redisTarget: target,
    prefix,
    signing,
    jobs,
    audit,
    footprints: new FootprintStore(db),
    notify,
    metrics: botMetrics({ notifyDepth: () => notify.depth(), processMetrics: Boolean(config.metrics.bot) }),
    async close() {
      await audit.flush().catch(() => undefined);
      await Promise.allSettled([jobs.close(), notify.close(), audit.close()]);
      await db.close();
      redis.disconnect();
    },
  };
}
