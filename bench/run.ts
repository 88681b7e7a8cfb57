import { benchDiscordAck, formatDiscordAckBench } from './discord-ack.js';
import { execFileSync } from 'node:child_process';
import { benchGpuSampler, formatGpuSamplerBench, useFakeNvidiaSmi } from './gpu-sampler.js';
import { benchDoctor, benchSmoke, formatDoctorBench, formatSmokeBench } from './litellm.js';
import { measureIdleMemory } from './memory.js';
import { formatStatusLatency, measureStatusLatency } from './status-latency.js';
import { formatWorkerCpu, measureWorkerCpu } from './worker-cpu.js';

/**
 * `npm run bench`: the performance budgets of DESIGN.md, measured here (real Redis and PostgreSQL,
 * the fake Discord, the fake nvidia-smi). The VRAM sampler's budget is about the real nvidia-smi;
 * with the stand-in (a Node script) it measures our side of the pipe only.
 */
const sections: [string, () => Promise<string>][] = [
  ['ack of a slash command (50 in flight)', async () => formatDiscordAckBench(await benchDiscordAck({ rounds: 3, concurrency: 50 }))],
  ['/status with 30 models on 8 GPUs (stand-in systemctl on PATH)', async () => formatStatusLatency(await measureStatusLatency(40, 1))],
  ['/status with 10 hosts × 30 models (10 worker processes)', async () => formatStatusLatency(await measureStatusLatency(40, 10))],
  [
    'live state: worker CPU with 30 models',
    async () => [formatWorkerCpu(await measureWorkerCpu({ windowS: 60 })), formatWorkerCpu(await measureWorkerCpu({ windowS: 60, passesOff: true }))].join('\n'),
  ],
  [
    'VRAM sampler CPU',
    async () => {
      const real = hasNvidiaSmi();
      const undo = real ? () => undefined : useFakeNvidiaSmi();
      try {
        const text = formatGpuSamplerBench(await benchGpuSampler({ seconds: 10 }));
        if (real) return text;
        // the stand-in is a Node process: its own start-up and JSON reads are what is measured, not nvidia-smi's
        return `(no nvidia-smi here: the stand-in, a Node script, replaces it)\n${text.replace(/: (within budget|OVER BUDGET)$/, ': not judged here — the budget is about the real nvidia-smi')}`;
      } finally {
        undo();
      }
    },
  ],
  [
    '/smoke over 30 models through the proxy (~200 ms each)',
    async () => [formatSmokeBench(await benchSmoke({ n: 30, delayMs: 200 })), formatSmokeBench(await benchSmoke({ n: 30, delayMs: 200, concurrency: 8 }))].join('\n'),
  ],
  ['/doctor over 500 DB model rows', async () => formatDoctorBench(await benchDoctor({ rows: 500 }))],
  [
    'idle memory',
    async () => {
      const m = await measureIdleMemory();
      return `worker ${m.workerMiB.toFixed(0)} MiB (budget ≤ ${m.budgetWorkerMiB}: ${m.workerMiB <= m.budgetWorkerMiB ? 'within' : 'OVER'}), bot on Discord ${m.botMiB.toFixed(0)} MiB (budget ≤ ${m.budgetBotMiB}: ${m.botMiB <= m.budgetBotMiB ? 'within' : 'OVER'})`;
    },
  ],
];

function hasNvidiaSmi(): boolean {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const only = process.argv.slice(2);
for (const [name, run] of sections) {
  if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
  process.stdout.write(`\n## ${name}\n`);
  try {
    process.stdout.write(`${await run()}\n`);
  } catch (err) {
    process.stdout.write(`failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
