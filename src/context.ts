import type { Redis } from 'ioredis';
import type { AuditLog } from './audit/audit-log.js';
import type { CommandRegistry } from './chat/registry.js';
import type { Inventory, ModelRef } from './config/inventory.js';
import type { Config, HostConfig } from './config/schema.js';
import type { Engine } from './engines/engine.js';
import type { GpuMonitor } from './gpu/monitor.js';
import type { HostFacts } from './host/facts.js';
import type { Logger } from './logger.js';
import type { JobClient } from './queue/job-client.js';
import type { Notifier } from './queue/notify.js';

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

/** What a job processor reaches the core through (the worker side, on one host). */
export interface WorkerContext {
  config: Config;
  inventory: Inventory;
  hostName: string;
  host: HostConfig;
  logger: Logger;
  redis: Redis;
  prefix: string;
  audit: AuditLog;
  notify: Notifier;
  gpu: GpuMonitor;
  facts: HostFacts;
  engineFor(model: ModelRef): Engine;
  startedAt: number;
}
