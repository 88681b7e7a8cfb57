/**
 * A short check on a real NVIDIA machine (no Redis, no internet; python3 with PyTorch):
 *
 *   node dist/bench/device-check.js [allocGiB=60]
 *
 * Samples the GPUs through one long-lived nvidia-smi for ~25 s and prints each sample; a python3
 * child holds ~60 GiB for ~10 s, which must take the "VRAM high" alert (threshold set halfway to
 * the expected load, `for` 3 s) through pending → firing → resolved; prints the compute apps while
 * loaded, then the sampler's CPU cost against polling si.graphics(). Exits 0 when every check passes.
 *
 * It needs dist/ plus the runtime packages it imports (execa, pino, systeminformation and their
 * dependencies, about 5 MB); a machine without Node also needs a node binary brought along.
 */
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NoticeSink } from '../src/notify/notice.js';
import { MemoryAlertStore } from '../src/alerts/store.js';
import { VramAlerts } from '../src/worker/alerts/vram-alerts.js';
import type { Reply } from '../src/core/reply.js';
import type { GpuProcess, GpuSnapshot } from '../src/gpu/monitor.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { createLogger } from '../src/core/logger.js';
import { benchGpuSampler, formatGpuSamplerBench } from './gpu-sampler.js';

const INTERVAL_MS = 1_000;
const FOR_MS = 3_000;
const HOLD_S = 10;
const MIN_RUN_MS = 25_000;

const t0 = Date.now();
const stamp = (at = Date.now()) => `t+${((at - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => console.log(`${stamp()} ${line}`);

/** The in-memory alert sink: the same `post` as the Notifier's. */
class PrintingSink implements NoticeSink {
  readonly posted: { key: string; reply: Reply; at: number }[] = [];
  async post(_channel: 'alert', reply: Reply, opts: { key: string }): Promise<void> {
    this.posted.push({ key: opts.key, reply, at: Date.now() });
    say(`ALERT ${opts.key} [${reply.tone}] ${reply.title}`);
  }
}

/** Live descendants of this process whose command line names nvidia-smi. */
function nvidiaSmiChildren(): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') parent.set(Number(entry), Number(ppid));
    } catch {
      // gone
    }
  }
  const mine = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    try {
      return mine(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nvidia-smi');
    } catch {
      return false;
    }
  });
}

const TORCH = `
import sys, time, torch
n = int(float(sys.argv[1]) * 2**30)
x = torch.empty(n, dtype=torch.uint8, device='cuda')
x.fill_(1)
torch.cuda.synchronize()
print('allocated', flush=True)
time.sleep(float(sys.argv[2]))
`;

const checks: [string, boolean, string][] = [];
const check = (name: string, ok: boolean, detail = '') => {
  checks.push([name, ok, detail]);
  say(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
};

async function main(): Promise<number> {
  const logger = createLogger({ level: 'warn', name: 'device-check' });
  const monitor = new NvidiaSmiMonitor('device', { enabled: true, sampleInterval: INTERVAL_MS, appsInterval: 10_000 }, logger);
  const first = await monitor.snapshot();
  if (!first.available) {
    check('nvidia-smi answers', false, `${first.reason} ${first.detail ?? ''}`);
    return 1;
  }
  const gpu0 = first.gpus[0]!;
  say(`GPUs: ${first.gpus.map((g) => `${g.index} ${g.name} ${g.uuid} ${g.usedMiB}/${g.totalMiB} MiB`).join('; ')}`);

  const allocGiB = Math.min(Number(process.argv[2] ?? 60), Math.floor((gpu0.freeMiB * 0.85) / 1024));
  const basePct = (gpu0.usedMiB / gpu0.totalMiB) * 100;
  const loadedPct = ((gpu0.usedMiB + allocGiB * 1024) / gpu0.totalMiB) * 100;
  const highPct = Math.round((basePct + loadedPct) / 2);
  say(`allocating ${allocGiB} GiB on GPU 0: ${basePct.toFixed(1)} % → ~${loadedPct.toFixed(1)} %; alert at ≥ ${highPct} % for ${FOR_MS / 1000} s, resolve under ${highPct - 5} %`);

  const samples: GpuSnapshot[] = [];
  const childCounts = new Set<number>();
  let firstBreachAt: number | null = null;
  monitor.onSample((s) => {
    if (!s.available) return;
    samples.push(s);
    childCounts.add(nvidiaSmiChildren().length);
    const g = s.gpus[0]!;
    const pct = (g.usedMiB / g.totalMiB) * 100;
    if (pct >= highPct && firstBreachAt === null) firstBreachAt = s.at;
    say(s.gpus.map((x) => `gpu${x.index} ${x.usedMiB}/${x.totalMiB} MiB ${((x.usedMiB / x.totalMiB) * 100).toFixed(1)} % util ${x.utilPct ?? '-'} % ${x.tempC ?? '-'} °C ${x.powerW ?? '-'} W`).join(' | '));
  });
  const sink = new PrintingSink();
  const alerts = new VramAlerts({
    host: 'device',
    settings: { enabled: true, percent: highPct, resolvePercent: highPct - 5, for: FOR_MS, repeatEvery: 3_600_000 },
    monitor,
    sink,
    store: new MemoryAlertStore(),
    logger,
  });
  alerts.start();
  monitor.start();
  await sleep(3_000);

  say(`spawning python3 (torch) to hold ${allocGiB} GiB for ${HOLD_S} s`);
  const py = execa('python3', ['-c', TORCH, String(allocGiB), String(HOLD_S)], { reject: false, timeout: 90_000, stdin: 'ignore' });
  const pyPid = py.pid;
  let apps: GpuProcess[] = [];
  py.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (!chunk.includes('allocated')) return;
    say('python3: allocated');
    void sleep(2 * INTERVAL_MS)
      .then(() => monitor.processes(AbortSignal.timeout(10_000)))
      .then((list) => {
        apps = list;
        say(`compute apps: ${list.map((a) => `${a.pid} ${a.name} ${a.usedMiB} MiB on ${a.gpuUuid}`).join('; ') || '(none)'}`);
      })
      .catch((err: Error) => say(`compute apps failed: ${err.message}`));
  });
  const pyResult = await py;
  say(`python3 exited ${pyResult.exitCode}${pyResult.stderr ? `: ${pyResult.stderr.split('\n').slice(-3).join(' / ')}` : ''}`);

  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && (!sink.posted.some((p) => transition(p.reply) === 'resolved') || Date.now() - t0 < MIN_RUN_MS)) await sleep(200);
  await alerts.stop();
  const childrenWhileSampling = [...childCounts];
  await monitor.stop();

  const seen = sink.posted.map((p) => transition(p.reply));
  const firing = sink.posted.find((p) => transition(p.reply) === 'firing');
  check('python3 held the memory', pyResult.exitCode === 0, `exit ${pyResult.exitCode}`);
  check('one sample per interval', samples.length >= 20 && samples.every((s) => s.available && s.gpus.length === first.gpus.length), `${samples.length} samples in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  check('exactly one nvidia-smi child while sampling', childrenWhileSampling.length === 1 && childrenWhileSampling[0] === 1, `counts seen: ${childrenWhileSampling.join(', ')}`);
  check('alert went pending → firing → resolved', JSON.stringify(seen) === JSON.stringify(['pending', 'firing', 'resolved']), seen.join(' → '));
  if (firing && firstBreachAt !== null) {
    const latency = firing.at - firstBreachAt;
    check('firing within for + 2 × interval of the first sample over the threshold', latency <= FOR_MS + 2 * INTERVAL_MS, `${latency} ms (budget ${FOR_MS + 2 * INTERVAL_MS} ms)`);
  }
  const python = apps.find((a) => a.pid === pyPid);
  check('compute apps list the python3 child', Boolean(python && python.usedMiB >= allocGiB * 1024), python ? `${python.usedMiB} MiB` : `pids: ${apps.map((a) => a.pid).join(', ')}`);
  check('no nvidia-smi left after stop()', nvidiaSmiChildren().length === 0);

  say('measuring CPU: sampler vs si.graphics(), 10 s each after 10 s to settle');
  const cost = await benchGpuSampler({ seconds: 10, intervalMs: INTERVAL_MS });
  console.log(formatGpuSamplerBench(cost));
  console.log(JSON.stringify({ bench: cost }));
  check('sampler ≤ 0.5 % of a core and ≥ 50× cheaper than si.graphics()', cost.withinBudget, `${cost.sampler.pctOfCore} % vs ${cost.siGraphics.pctOfCore} %, ${cost.ratio}×`);

  const failed = checks.filter(([, ok]) => !ok);
  console.log(JSON.stringify({ checks: checks.map(([name, ok, detail]) => ({ name, ok, detail })) }));
  say(failed.length ? `${failed.length} check(s) failed` : 'all checks passed');
  return failed.length ? 1 : 0;
}

const transition = (reply: Reply) => (reply.data as { transition?: string } | undefined)?.transition;

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
