/**
 * CPU cost of the VRAM sampler (this process + its nvidia-smi child) against polling
 * systeminformation's graphics() at the same interval, each over `seconds` of steady state.
 *
 *   node dist/bench/gpu-sampler.js [seconds=30] [--interval=1000] [--warmup=10] [--fake]
 *
 * --fake puts test/support/fake-nvidia-smi on PATH (for a machine without a GPU; the child is then
 * a node process, so its cost says nothing about the real nvidia-smi's).
 */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import si from 'systeminformation';
import type { GpuSnapshot } from '../src/gpu/monitor.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { silentLogger } from '../src/core/logger.js';

export const BUDGET = { samplerPctOfCore: 0.5, timesCheaper: 50 };

export interface CpuCost {
  cpuMs: number;
  wallMs: number;
  pctOfCore: number;
}

export interface GpuSamplerBench {
  intervalMs: number;
  gpu: string;
  sampler: CpuCost & { samples: number; childCpuMs: number };
  siGraphics: CpuCost & { calls: number; meanCallMs: number; maxCallMs: number };
  /** how many times cheaper the sampler is */
  ratio: number;
  withinBudget: boolean;
}

/** Linux's USER_HZ: /proc times are in 1/100 s */
const TICK_MS = 10;

/** utime+stime and cutime+cstime of a process, in ms (10 ms steps), from /proc/<pid>/stat */
function procCpu(pid: number | 'self'): { own: number; reaped: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields 14–17 of stat(5), counted from field 3 (state) here
    return { own: (f[11]! + f[12]!) * TICK_MS, reaped: (f[13]! + f[14]!) * TICK_MS };
  } catch {
    return { own: 0, reaped: 0 };
  }
}

/** CPU of a live process in ms: its threads' run time in ns from schedstat, else /proc/<pid>/stat's ticks. */
function liveCpuMs(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6, 0);
  } catch {
    return procCpu(pid).own;
  }
}

/** CPU of this process (precise) plus its children that ended (reaped) since `start()`. */
function cpuMeter() {
  const self0 = process.cpuUsage();
  const reaped0 = procCpu('self').reaped;
  const t0 = performance.now();
  return (extraMs = 0): CpuCost => {
    const self = process.cpuUsage(self0);
    const cpuMs = (self.user + self.system) / 1000 + (procCpu('self').reaped - reaped0) + extraMs;
    const wallMs = performance.now() - t0;
    return { cpuMs: round(cpuMs), wallMs: Math.round(wallMs), pctOfCore: round((cpuMs / wallMs) * 100, 3) };
  };
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Node keeps collecting garbage for some seconds after start-up and after loading code
 * (V8's memory reducer); measured before that settles, it outweighs the sampler itself.
 */
const settle = (warmupMs: number) => sleep(warmupMs);

async function measureSampler(seconds: number, intervalMs: number, nvidiaSmi: string, warmupMs: number) {
  const monitor = new NvidiaSmiMonitor('bench', { enabled: true, sampleInterval: intervalMs, appsInterval: 10_000 }, silentLogger(), nvidiaSmi);
  let samples = 0;
  const first = new Promise<GpuSnapshot>((resolve) => monitor.onSample(resolve));
  monitor.onSample(() => samples++);
  monitor.start();
  const gpu = await Promise.race([first, sleep(10_000).then(() => monitor.snapshot())]);
  // steady state: the one-off query and the child's start-up are not counted
  await settle(warmupMs);
  const pid = monitor.samplerPid;
  const child0 = pid ? liveCpuMs(pid) : 0;
  samples = 0;
  const meter = cpuMeter();
  await sleep(seconds * 1000);
  const child = pid && monitor.samplerPid === pid ? round(liveCpuMs(pid) - child0, 2) : 0;
  const cost = meter(child);
  await monitor.stop();
  const what = gpu.available ? gpu.gpus.map((g) => g.name).join(', ') : `${gpu.reason}${gpu.detail ? ` (${gpu.detail})` : ''}`;
  return { cost: { ...cost, samples, childCpuMs: child }, gpu: what };
}

async function measureSiGraphics(seconds: number, intervalMs: number, warmupMs: number) {
  await si.graphics();
  await settle(warmupMs);
  const meter = cpuMeter();
  const end = performance.now() + seconds * 1000;
  const calls: number[] = [];
  for (let next = performance.now(); next < end; next += intervalMs) {
    await sleep(Math.max(0, next - performance.now()));
    const t = performance.now();
    await si.graphics();
    calls.push(performance.now() - t);
  }
  await sleep(Math.max(0, end - performance.now()));
  const mean = calls.reduce((a, b) => a + b, 0) / Math.max(1, calls.length);
  return { ...meter(), calls: calls.length, meanCallMs: round(mean), maxCallMs: round(Math.max(0, ...calls)) };
}

/** Each side runs `warmupMs` (default 10 s) before its `seconds` are measured. */
export async function benchGpuSampler(opts: { seconds: number; intervalMs?: number; nvidiaSmi?: string; warmupMs?: number }): Promise<GpuSamplerBench> {
  const intervalMs = opts.intervalMs ?? 1_000;
  const warmupMs = opts.warmupMs ?? 10_000;
  const sampler = await measureSampler(opts.seconds, intervalMs, opts.nvidiaSmi ?? 'nvidia-smi', warmupMs);
  const siGraphics = await measureSiGraphics(opts.seconds, intervalMs, warmupMs);
  const ratio = round(siGraphics.cpuMs / Math.max(sampler.cost.cpuMs, 0.1));
  return {
    intervalMs,
    gpu: sampler.gpu,
    sampler: sampler.cost,
    siGraphics,
    ratio,
    withinBudget: sampler.cost.pctOfCore <= BUDGET.samplerPctOfCore && ratio >= BUDGET.timesCheaper,
  };
}

export function formatGpuSamplerBench(r: GpuSamplerBench): string {
  return [
    `GPU: ${r.gpu}; interval ${r.intervalMs} ms, ${Math.round(r.sampler.wallMs / 1000)} s each`,
    `sampler (node + nvidia-smi -lms): ${r.sampler.pctOfCore} % of a core (${r.sampler.cpuMs} ms CPU, of which nvidia-smi ${r.sampler.childCpuMs} ms; ${r.sampler.samples} samples)`,
    `si.graphics() polling:            ${r.siGraphics.pctOfCore} % of a core (${r.siGraphics.cpuMs} ms CPU, ${r.siGraphics.calls} calls, ${r.siGraphics.meanCallMs} ms mean, ${r.siGraphics.maxCallMs} ms max blocking)`,
    `sampler is ${r.ratio}× cheaper; budget ≤ ${BUDGET.samplerPctOfCore} % and ≥ ${BUDGET.timesCheaper}×: ${r.withinBudget ? 'within budget' : 'OVER BUDGET'}`,
  ].join('\n');
}

/** A folder holding `nvidia-smi` → the repo's fake, put first on PATH; returns the undo. */
export function useFakeNvidiaSmi(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'labops-bench-smi-'));
  symlinkSync(fileURLToPath(new URL('../../test/support/fake-nvidia-smi', import.meta.url)), join(dir, 'nvidia-smi'));
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ''}`;
  return () => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  };
}

async function main(argv: string[]): Promise<void> {
  const seconds = Number(argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 30);
  const intervalMs = Number(argv.find((a) => a.startsWith('--interval='))?.slice(11) ?? 1_000);
  const warmupMs = Number(argv.find((a) => a.startsWith('--warmup='))?.slice(9) ?? 10) * 1000;
  const undo = argv.includes('--fake') ? useFakeNvidiaSmi() : () => undefined;
  try {
    const result = await benchGpuSampler({ seconds, intervalMs, warmupMs });
    console.log(formatGpuSamplerBench(result));
    console.log(JSON.stringify(result));
  } finally {
    undo();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
