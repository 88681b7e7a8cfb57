import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobs } from '../jobs/index.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { startWorker } from '../src/worker/start.js';
import { benchLab } from './status-latency.js';

export interface WorkerCpu {
  models: number;
  windowS: number;
  passesOff: boolean;
  /** the worker's own CPU (process.cpuUsage), % of one core */
  ownPct: number;
  /** the processes it ran and reaped in the window (the stand-in systemctl and nvidia-smi, Node scripts), % of one core */
  childrenPct: number;
  budgetPct: number;
}

/** utime + stime of the reaped children of this process (/proc/self/stat cutime, cstime), in ms. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state(0) … cutime is field 16 of stat, index 13 here; cstime index 14 (clock ticks, 100 Hz)
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/**
 * The cost of keeping a host's state live: a real worker with 30 models (a third systemd units behind
 * the stand-in systemctl, the rest scripts) and 8 GPUs behind the fake nvidia-smi, in this process;
 * after a warm-up, its CPU over a window with nothing else happening.
 */
export async function measureWorkerCpu(opts: { windowS?: number; warmupS?: number; passesOff?: boolean } = {}): Promise<WorkerCpu> {
  const windowS = opts.windowS ?? 30;
  // passesOff: the same worker with the live state's passes (reconcile, attribution, facts) pushed out of the window, for comparison
  // the default heartbeat (5 s), not the 1 s the latency benches use to see workers sooner
  const worker5s = { heartbeatInterval: '5s' };
  const lab = benchLab(1, 30, opts.passesOff ? { worker: { ...worker5s, stateInterval: '10m', factsInterval: '1h' }, gpu: { appsInterval: '1h' } } : { worker: worker5s });
  const saved = { ...process.env };
  Object.assign(process.env, lab.env);
  const worker = await startWorker(loadConfig(lab.configFile, {}).config, 'gpu-1', silentLogger(), jobs);
  try {
    await sleep((opts.warmupS ?? 10) * 1000);
    const children0 = childrenCpuMs();
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const own = process.cpuUsage(own0);
    const elapsed = performance.now() - t0;
    const children = childrenCpuMs() - children0;
    return { models: 30, windowS, passesOff: opts.passesOff ?? false, ownPct: ((own.user + own.system) / 1000 / elapsed) * 100, childrenPct: (children / elapsed) * 100, budgetPct: 1 };
  } finally {
    await worker.close();
    process.env = saved;
    await lab.cleanup();
  }
}

export function formatWorkerCpu(r: WorkerCpu): string {
  return [
    r.passesOff
      ? `the same worker without the live state's passes (GPU samples and heartbeat only): ${r.ownPct.toFixed(2)} % of a core`
      : `worker with ${r.models} models on 8 GPUs, ${r.windowS} s window: ${r.ownPct.toFixed(2)} % of a core (budget ≤ ${r.budgetPct} %: ${r.ownPct <= r.budgetPct ? 'within' : 'OVER'})`,
    `  plus ${r.childrenPct.toFixed(2)} % in the processes it ran (the stand-in systemctl and nvidia-smi are Node scripts: their start-up, not the real tools', is measured)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatWorkerCpu(await measureWorkerCpu({ windowS: Number(process.argv[2] ?? 30) })));
}
