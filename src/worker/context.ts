import { AuditLog } from '../audit/audit-log.js';
import { Inventory, type ModelRef } from '../config/inventory.js';
import type { Config, HostConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Engine } from '../engines/engine.js';
import { createEngine } from '../engines/index.js';
import type { GpuMonitor } from '../gpu/monitor.js';
import { NvidiaSmiMonitor } from '../gpu/sampler.js';
import { HostFacts } from '../host/facts.js';
import { LabDatabase } from '../db/database.js';
import { FootprintStore } from '../db/footprints.js';
import { Notifier } from '../queue/notice-queue.js';
import { commandClient, redisTarget, type Redis, type RedisTarget } from '../redis/connection.js';
import { jobSigning, type JobSigning } from '../config/security.js';
import { logRedisErrors } from '../redis/log-errors.js';
import { spendLogActivity, type SpendLogActivity } from './lifecycle/activity.js';

/** What a job processor reaches the core through (the worker side, on one host). */
export interface WorkerContext {
  config: Config;
  inventory: Inventory;
  hostName: string;
  host: HostConfig;
  logger: Logger;
  redis: Redis;
  /** URL, credentials and TLS: what every Redis client of this process connects with */
  redisTarget: RedisTarget;
  prefix: string;
  /** the lab's keys (jobs and notices are signed and checked with them) and the job age bound */
  signing: JobSigning;
  audit: AuditLog;
  footprints: FootprintStore;
  /** when models last served a request (LiteLLM's spend logs); null without `litellm.databaseUrl` */
  activity: SpendLogActivity | null;
  notify: Notifier;
  gpu: GpuMonitor;
  facts: HostFacts;
  engineFor(model: ModelRef): Engine;
  startedAt: number;
}

export interface OwnedWorkerContext extends WorkerContext {
  close(): Promise<void>;
}

/** What processors of one host need: Redis, the audit log, the GPU monitor (not started), host facts, engines. */
export async function createWorkerContext(config: Config, hostName: string, logger: Logger): Promise<OwnedWorkerContext> {
  const inventory = new Inventory(config);
  const host = inventory.host(hostName);
  const log = logger.child({ host: hostName });
  const redisUrl = config.redis.url;
  const target = redisTarget(config.redis);
  const signing = jobSigning(config);
  const prefix = config.redis.prefix;
  const redis = commandClient(target);
  logRedisErrors(redis, redisUrl, log);
  const db = new LabDatabase(config.database.url, config.database.schema, config.database.ssl);
  const audit = new AuditLog({ db, redis, redisUrl, prefix, logger: log });
  const activity = spendLogActivity(config);
  await audit.start();
  const notify = new Notifier(redis, prefix, log, signing.keys);
  const gpu = new NvidiaSmiMonitor(hostName, host.gpu, log);
  const engines = new Map<string, Engine>();
  return {
    config,
    inventory,
    hostName,
    host,
    logger: log,
    redis,
    redisTarget: target,
    prefix,
    signing,
    audit,
    footprints: new FootprintStore(db),
    activity,
    notify,
    gpu,
    facts: new HostFacts(host.modelDir),
    startedAt: Date.now(),
    engineFor(ref: ModelRef) {
      let engine = engines.get(ref.name);
      if (!engine) {
        engine = createEngine(ref, { logger: log });
        engines.set(ref.name, engine);
      }
      return engine;
    },
    async close() {
      await gpu.stop();
      await audit.flush().catch(() => undefined);
      await Promise.allSettled([audit.close(), notify.close(), activity?.close()]);
      await db.close();
      redis.disconnect();
    },
  };
}

