import type { BotContext } from '../context.js';
import { errorMessage } from '../../core/errors.js';
import { isOnline, type Heartbeat } from '../../state/heartbeat.js';
import { ensureRedis } from '../../redis/connection.js';
import type { GpuSnapshot, HostFactsSnapshot, ModelStatus } from '../../contracts/lab-data.js';
import { readLiveStates, unknownMiBByGpu, type LiveHealth, type LiveHostState, type LiveProcess, type LiveTransition } from '../../state/live-state.js';

/** A model as /status and /models show it: its live record, with the time of each value. */
export interface LiveModelStatus extends ModelStatus {
  /** when the worker last confirmed the state (null: never observed) */
  at: number | null;
  since: number | null;
  vramAt: number | null;
  health: LiveHealth | null;
  transition: LiveTransition | null;
}

/** What the worker last wrote of its host; each part with its time. */
export interface LiveSnapshot {
  /** the last reconcile pass */
  collectedAt: number | null;
  worker: { version: string; pid: number; startedAt: number } | null;
  facts: HostFactsSnapshot | { error: string };
  factsAt: number | null;
  gpu: GpuSnapshot;
  gpuAt: number | null;
  /** compute processes with their model (null: unknown) */
  gpuProcesses: LiveProcess[];
  processesAt: number | null;
  /** MiB held by unknown processes, per GPU uuid */
  unknownMiB: Record<string, number>;
  models: LiveModelStatus[];
  /** how old each kind of value may be before it is shown as stale (ms): a few of its intervals */
  staleAfter: { models: number; gpu: number; processes: number; facts: number };
}

export interface HostReport {
  host: string;
  heartbeat: Heartbeat | null;
  online: boolean;
  queue: Record<string, number> | null;
  /** the last known state; when the host is offline it is stale (`stale: true`) */
  snapshot: LiveSnapshot | null;
  stale: boolean;
  /** why the host is not (fully) live: offline, stopped, never reported, no state written yet */
  problem: string | null;
}

const NO_FACTS = { error: 'not reported yet' };
const NO_GPU: GpuSnapshot = { available: false, reason: 'not reported yet' };

/**
 * Every host's live state, read from Redis (one pipelined round trip for all hosts), with each queue's
 * depth. No job, no engine call: an offline host answers with its last known state, marked stale.
 */
export async function collectHosts(ctx: Pick<BotContext, 'redis' | 'redisUrl' | 'prefix' | 'jobs' | 'inventory' | 'logger' | 'config'>, hosts: string[]): Promise<HostReport[]> {
  await ensureRedis(ctx.redis, ctx.redisUrl);
  const [states, queues] = await Promise.all([
    readLiveStates(ctx.redis, ctx.prefix, hosts),
    Promise.all(
      hosts.map((host) =>
        ctx.jobs.counts(host).catch((err: unknown) => {
          ctx.logger.warn({ host, err: errorMessage(err) }, 'could not read the queue depth');
          return null;
        }),
      ),
    ),
  ]);
  const now = Date.now();
  return states.map((state, i): HostReport => {
    const online = isOnline(state.heartbeat, now);
    const snapshot = liveSnapshot(state, ctx.inventory.models(state.host), staleAfter(ctx.config, state));
    const hb = state.heartbeat;
    const problem = online ? (snapshot ? null : 'the worker has not written its live state yet') : !hb ? 'no worker has reported yet' : hb.stoppedAt ? 'worker stopped' : 'worker offline';
    return { host: state.host, heartbeat: hb, online, queue: queues[i] ?? null, snapshot, stale: !online && snapshot !== null, problem };
  });
}

type Refs = ReturnType<BotContext['inventory']['models']>;

function staleAfter(config: BotContext['config'], state: LiveHostState): LiveSnapshot['staleAfter'] {
  const gpu = config.hosts[state.host]?.gpu;
  return {
    models: 3 * (state.refresh?.intervalMs ?? config.worker.stateInterval) + 2_000,
    gpu: Math.max(3 * (gpu?.sampleInterval ?? 1_000), 5_000),
    processes: 3 * (gpu?.appsInterval ?? 10_000) + 2_000,
    facts: 3 * config.worker.factsInterval,
  };
}

/** The live record in the inventory's order; a model the worker has not observed is `unknown`. */
function liveSnapshot(state: LiveHostState, refs: Refs, limits: LiveSnapshot['staleAfter']): LiveSnapshot | null {
  if (!state.refresh && state.models.size === 0 && !state.gpus && !state.facts) return null;
  const hb = state.heartbeat;
  const models = refs.map((ref): LiveModelStatus => {
    const m = state.models.get(ref.name);
    const base = { name: ref.name, aliases: ref.model.aliases, type: ref.model.type, engine: ref.model.engine.kind };
    if (!m) return { ...base, state: 'unknown', detail: 'not observed yet', pids: [], vramMiB: null, at: null, since: null, vramAt: null, health: null, transition: null };
    return { ...base, state: m.state, detail: m.detail, pids: m.pids, vramMiB: m.vramMiB, at: m.at, since: m.since, vramAt: m.vramAt, health: m.health, transition: m.transition };
  });
  return {
    collectedAt: state.refresh?.at ?? null,
    worker: hb ? { version: hb.version, pid: hb.pid, startedAt: hb.startedAt } : null,
    facts: state.facts ? ('facts' in state.facts ? state.facts.facts : { error: state.facts.error }) : NO_FACTS,
    factsAt: state.facts?.at ?? null,
    gpu: state.gpus?.snapshot ?? NO_GPU,
    gpuAt: state.gpus?.at ?? null,
    gpuProcesses: state.processes?.processes ?? [],
    processesAt: state.processes?.at ?? null,
    unknownMiB: Object.fromEntries(unknownMiBByGpu(state)),
    models,
    staleAfter: limits,
  };
}
