import { RedisAlertStore } from '../../alerts/redis-store.js';
import { RedisAlertMarks } from '../../alerts/marks.js';
import { errorMessage } from '../../core/errors.js';
import { LiteLLMClient } from '../../litellm/client.js';
import { readStopIntent } from '../../state/stop-intent.js';
import type { WorkerContext } from '../context.js';
import { checkBootServices, heavyUnits } from '../lifecycle/boot-services.js';
import { BootServiceAlerts } from './boot-services.js';
import { GhostVramAlerts } from './ghost-vram.js';
import { offerFor } from './idle-models.js';
import type { AlertInputs } from './inputs.js';
import { ModelDownAlerts } from './model-down.js';
import { ProxyDownAlerts, type ProxyCheck } from './proxy-down.js';
import { VramAlerts } from './vram-alerts.js';

export interface AlertRules {
  stop(): Promise<void>;
}

/** How often `for` and repeats are checked between events: often enough for a short `for`. */
const tickFor = (forMs: number) => Math.min(1_000, Math.max(200, Math.round(forMs / 4)));

/**
 * Every alert rule of the worker's host, on the host's `alerts.*` settings: VRAM high (GPU samples),
 * model down and ghost VRAM (model transitions and unowned GPU processes, from the live state's
 * events: `inputs`), proxy down (on the worker of
 * `litellm.host`) and boot services. Worker offline is raised by the bot.
 */
export function startAlertRules(ctx: WorkerContext, inputs: AlertInputs): AlertRules {
  const { host, hostName, config, logger } = ctx;
  const a = host.alerts;
  const store = new RedisAlertStore(ctx.redis, ctx.prefix);
  const marks = new RedisAlertMarks(ctx.redis, ctx.prefix);
  const common = { host: hostName, sink: ctx.notify, store, marks, logger };

  const vram = new VramAlerts({
    ...common,
    settings: a.vramHigh,
    monitor: ctx.gpu,
    stopIdle: (gpu, needMiB) => offerFor(ctx, gpu, needMiB, `brings GPU ${gpu.index} under ${a.vramHigh.percent} %`),
  });

  const modelDown = new ModelDownAlerts({
    ...common,
    settings: a.modelDown,
    inputs,
    tickMs: tickFor(a.modelDown.for),
    logs: async (model, lines) => {
      const ref = ctx.inventory.models(hostName).find((r) => r.name === model);
      return ref ? await ctx.engineFor(ref).logs(lines, AbortSignal.timeout(10_000)) : [];
    },
    stopIntent: (model) => readStopIntent(ctx.redis, ctx.prefix, hostName, model),
  });

  const ghost = new GhostVramAlerts({
    ...common,
    settings: a.ghostVram,
    inputs,
    tickMs: tickFor(a.ghostVram.for),
    stopIdle: async (g) => {
      const snapshot = await ctx.gpu.snapshot();
      const gpu = snapshot.available ? snapshot.gpus.find((x) => x.uuid === g.gpuUuid) : undefined;
      if (!gpu) return null;
      const overBy = gpu.usedMiB - Math.ceil((a.vramHigh.percent / 100) * gpu.totalMiB) + 1;
      return overBy > 0
        ? await offerFor(ctx, gpu, overBy, `brings GPU ${gpu.index} under ${a.vramHigh.percent} %`)
        : await offerFor(ctx, gpu, g.unknownMiB, `gives back as much VRAM as the unknown processes hold`);
    },
  });

  const proxy = proxyRule(ctx, common);
  const boot =
    a.bootServices.enabled && heavyUnits(ctx).length > 0
      ? new BootServiceAlerts({ ...common, settings: a.bootServices, check: (signal) => checkBootServices(ctx, signal) })
      : null;

  vram.start();
  modelDown.start();
  ghost.start();
  proxy?.start();
  boot?.start();
  if (config.litellm.host === hostName && !config.litellm.url && a.proxyDown.enabled) logger.info('no proxy-down alert: litellm.url is not set');

  return {
    async stop() {
      await Promise.all([vram.stop(), modelDown.stop(), ghost.stop(), proxy?.stop(), boot?.stop()]);
    },
  };
}

function proxyRule(ctx: WorkerContext, common: Omit<ConstructorParameters<typeof ProxyDownAlerts>[0], 'settings' | 'url' | 'check'>): ProxyDownAlerts | null {
  const { config, hostName } = ctx;
  const settings = ctx.host.alerts.proxyDown;
  if (!settings.enabled || config.litellm.host !== hostName || !config.litellm.url) return null;
  const client = new LiteLLMClient({ baseUrl: config.litellm.url, masterKey: config.litellm.masterKey ?? '', timeoutMs: 5_000 });
  const proxyModel = ctx.inventory.models(hostName).find((r) => r.model.type === 'proxy')?.name;
  return new ProxyDownAlerts({
    ...common,
    settings,
    url: config.litellm.url,
    ...(proxyModel ? { proxyModel } : {}),
    async check(signal): Promise<ProxyCheck> {
      try {
        const r = await client.liveliness({ signal });
        if (r.ok) return { ok: true, latencyMs: r.latencyMs };
        const detail = 'detail' in r ? r.detail : `HTTP ${r.status}: ${r.message}`;
        return { ok: false, kind: r.kind, detail, latencyMs: r.latencyMs };
      } catch (err) {
        return { ok: false, kind: 'down', detail: errorMessage(err), latencyMs: 0 };
      }
    },
  });
}
