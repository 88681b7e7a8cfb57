import { AuditLog } from '../audit/audit-log.js';
import { Inventory, type ModelRef } from '../config/inventory.js';
import type { Config } from '../config/schema.js';
import type { WorkerContext } from '../context.js';
import type { Engine } from '../engines/engine.js';
import { createEngine } from '../engines/index.js';
import { NvidiaSmiMonitor } from '../gpu/sampler.js';
import { RedisAlertStore } from '../alerts/redis-store.js';
import { VramAlerts } from '../alerts/vram-alerts.js';
import { HostFacts } from '../host/facts.js';
import type { Logger } from '../logger.js';
import { startHeartbeat } from '../queue/heartbeat.js';
import { Notifier } from '../queue/notify.js';
import { commandClient } from '../queue/redis.js';
import { HostWorker } from '../queue/worker.js';
import { JobClient } from '../queue/job-client.js';
import { VERSION } from '../version.js';
import { closeActivitySources } from '../lifecycle/activity.js';
import { startIdleUnload } from '../lifecycle/idle-unload.js';
import { IDLE_UNLOAD_REQUESTER, stopDedupId } from '../lifecycle/keys.js';
import { jobs, modelStop } from '../../jobs/index.js';
import { logRedisErrors } from './redis-log.js';

export interface RunningWorker {
  ctx: WorkerContext;
  close(): Promise<void>;
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
  const prefix = config.redis.prefix;
  const redis = commandClient(redisUrl);
  logRedisErrors(redis, redisUrl, log);
  const audit = new AuditLog({ databaseUrl: config.database.url, schema: config.database.schema, redis, prefix, logger: log });
  await audit.start();
  const notify = new Notifier(redis, prefix, log);
  const gpu = new NvidiaSmiMonitor(hostName, host.gpu, log);
  const engines = new Map<string, Engine>();
  return {
    config,
    inventory,
    hostName,
    host,
    logger: log,
    redis,
    prefix,
    audit,
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
      await Promise.allSettled([audit.close(), notify.close()]);
      redis.disconnect();
    },
  };
}

/** `labops worker --host <name>`: consumes the host's queue, samples its GPUs, heartbeats. */
export async function startWorker(config: Config, hostName: string, logger: Logger): Promise<RunningWorker> {
  const ctx = await createWorkerContext(config, hostName, logger);
  const log = ctx.logger;
  const vramAlerts = new VramAlerts({
    host: hostName,
    alerts: ctx.host.alerts,
    monitor: ctx.gpu,
    sink: ctx.notify,
    store: new RedisAlertStore(ctx.redis, config.redis.prefix),
    logger: log,
  });
  vramAlerts.start();
  ctx.gpu.start();
  void ctx.facts.prime().catch((err: unknown) => log.warn({ err }, 'could not read host facts'));
  const worker = new HostWorker({
    host: hostName,
    redisUrl: config.redis.url,
    prefix: config.redis.prefix,
    jobs,
    ctx,
    concurrency: config.worker.concurrency,
    shutdownTimeoutMs: config.worker.shutdownTimeout,
    lockDurationMs: config.worker.jobLockDuration,
    stalledIntervalMs: config.worker.stalledInterval ?? config.worker.jobLockDuration,
  });
  worker.start();
  // idle models are stopped through the same serialised, audited path as /stop: a model.stop job
  const selfQueue = new JobClient({ redisUrl: config.redis.url, prefix: config.redis.prefix, connection: ctx.redis, logger: log });
  const idleUnload = startIdleUnload(ctx, {
    intervalMs: config.worker.idleCheckInterval,
    async submit(ref, ttlMs) {
      await selfQueue.submit(modelStop, hostName, { model: ref.name, ifIdle: { ttlMs } }, { requestedBy: { ...IDLE_UNLOAD_REQUESTER }, deduplicationId: stopDedupId(hostName, ref.name) });
    },
  });
  const heartbeat = startHeartbeat(
    ctx.redis,
    config.redis.prefix,
    { host: hostName, version: VERSION, pid: process.pid, startedAt: ctx.startedAt, intervalMs: config.worker.heartbeatInterval },
    () => undefined, // Redis outages are logged once by logRedisErrors
  );
  log.info({ version: VERSION, queue: `host.${hostName}` }, 'worker started');

  return {
    ctx,
    async close() {
      await idleUnload.stop();
      await vramAlerts.stop();
      await heartbeat.stop();
      await worker.close();
      await selfQueue.close();
      await closeActivitySources();
      await ctx.close();
      log.info('worker stopped');
    },
  };
}
