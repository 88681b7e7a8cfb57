import type { Config } from '../config/schema.js';
import { modelStop } from '../contracts/model-stop.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../core/version.js';
import { HostWorker } from '../queue/host-worker.js';
import { JobClient } from '../queue/job-client.js';
import { startHeartbeat } from '../state/heartbeat.js';
import { IDLE_UNLOAD_REQUESTER, stopDedupId } from '../state/model-keys.js';
import { startAlertRules } from './alerts/start-alerts.js';
import { createWorkerContext, type WorkerContext } from './context.js';
import type { AnyJob } from './define-job.js';
import { startIdleUnload } from './lifecycle/idle-unload.js';
import { workerMetrics } from './metrics.js';
import { serveMetrics } from '../core/metrics-server.js';
import { RedisAlertStore } from '../alerts/redis-store.js';
import { VramHistoryRecorder } from './vram/history-recorder.js';
import { liveAttribution } from './vram/live-attribution.js';
import { crashOf, noteModelEvent } from './vram/model-events.js';
import { LiveStateKeeper } from './live/keeper.js';

export interface RunningWorker {
  ctx: WorkerContext;
  /** where its /metrics is served; null when off or the port was taken */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** `labops worker --host <name>`: consumes the host's queue, samples its GPUs, keeps its live state, heartbeats. */
export async function startWorker(config: Config, hostName: string, logger: Logger, jobs: readonly AnyJob[]): Promise<RunningWorker> {
  const ctx = await createWorkerContext(config, hostName, logger);
  const log = ctx.logger;
  // the live state is the alert rules' source: they subscribe before its first pass
  const live = new LiveStateKeeper(ctx);
  const alertRules = startAlertRules(ctx, live);
  const history = new VramHistoryRecorder({
    ...{ redis: ctx.redis, prefix: ctx.prefix, host: hostName, monitor: ctx.gpu, logger: log },
    attribution: liveAttribution(ctx.redis, ctx.prefix, hostName, Math.min(ctx.host.gpu.appsInterval, 5_000)),
  });
  history.start();
  const unwatchCrashes = live.onModelTransition((t) => {
    const crash = crashOf(t);
    if (crash) void noteModelEvent(ctx, crash);
  });
  ctx.gpu.start();
  await live.start();
  void ctx.facts.prime().catch((err: unknown) => log.warn({ err }, 'could not read host facts'));
  const metrics = workerMetrics({ host: hostName, monitor: ctx.gpu, redis: ctx.redis, prefix: ctx.prefix, alerts: new RedisAlertStore(ctx.redis, ctx.prefix), processMetrics: Boolean(config.metrics.worker) });
  const metricsServer = config.metrics.worker ? await serveMetrics(metrics.registry, config.metrics.worker, log, 'worker') : null;
  const worker = new HostWorker({
    host: hostName,
    redis: ctx.redisTarget,
    prefix: config.redis.prefix,
    signing: ctx.signing,
    alerts: ctx.notify,
    jobs,
    ctx,
    audit: ctx.audit,
    logger: log,
    concurrency: config.worker.concurrency,
    shutdownTimeoutMs: config.worker.shutdownTimeout,
    lockDurationMs: config.worker.jobLockDuration,
    stalledIntervalMs: config.worker.stalledInterval ?? config.worker.jobLockDuration,
    onJobEnd: (kind, outcome, ms) => metrics.jobEnded(kind, outcome, ms),
    // a start or stop is in /status by the time its job settles
    afterJob: async (kind) => {
      if (kind.startsWith('model.')) await live.afterAction();
    },
  });
  worker.start();
  // idle models are stopped through the same serialised, audited path as /stop: a model.stop job
  // …signed like the bot's jobs, as "labops (idle unload)"
  const selfQueue = new JobClient({ redis: ctx.redisTarget, prefix: config.redis.prefix, connection: ctx.redis, logger: log, keys: ctx.signing.keys });
  const idleUnload = startIdleUnload(ctx, {
    intervalMs: config.worker.idleCheckInterval,
    async submit(ref, ttlMs) {
      await selfQueue.submit(modelStop, hostName, { model: ref.name, ifIdle: { ttlMs } }, { requestedBy: { ...IDLE_UNLOAD_REQUESTER }, deduplicationId: stopDedupId(hostName, ref.name) });
    },
  });
  const heartbeat = startHeartbeat(
    ctx.redis,
    config.redis.prefix,
    { host: hostName, version: VERSION, pid: process.pid, startedAt: ctx.startedAt, intervalMs: config.worker.heartbeatInterval, jobSigning: ctx.signing.keys ? 'on' : 'off', ...(ctx.signing.keys ? { jobKeys: ctx.signing.keys.description } : {}) },
    () => undefined, // Redis outages are logged once by logRedisErrors
  );
  if (!ctx.signing.keys) log.warn('jobs are not signed (one host, no LABOPS_JOB_KEY): this worker runs any job queued in its Redis');
  log.info({ version: VERSION, queue: `host.${hostName}`, jobSigning: ctx.signing.keys ? `key ${ctx.signing.keys.kid}` : 'off' }, 'worker started');

  return {
    ctx,
    metricsUrl: metricsServer?.url ?? null,
    async close() {
      await metricsServer?.close();
      metrics.stop();
      await idleUnload.stop();
      unwatchCrashes();
      await live.stop();
      await alertRules.stop();
      await history.stop();
      await heartbeat.stop();
      await worker.close();
      await selfQueue.close();
      await ctx.close();
      log.info('worker stopped');
    },
  };
}
