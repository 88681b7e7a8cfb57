import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../src/core/paths.js';
import { startDiscordLab } from '../test/support/discord-lab.js';

export interface IdleMemory {
  workerMiB: number;
  botMiB: number;
  budgetWorkerMiB: number;
  budgetBotMiB: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * Idle RSS of `labops worker` and of `labops bot` logged into Discord (the fake one on loopback),
 * after both have settled.
 */
export async function measureIdleMemory(settleMs = 10_000): Promise<IdleMemory> {
  const env = await startDiscordLab({ fake: { heartbeatIntervalMs: 5_000 } });
  const start = (args: string[]): ChildProcess =>
    spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), ...args], { env: { ...env.botEnv, LABOPS_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'ignore', 'inherit'] });
  const worker = start(['worker', '--host', 'gpu-1']);
  const bot = start(['bot']);
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    for (const p of [worker, bot]) if (p.exitCode !== null) throw new Error(`a process exited early (${p.exitCode})`);
    if (!env.fake.gatewayLog.some((r) => r.kind === 'out' && r.t === 'GUILD_CREATE')) throw new Error('the bot did not log in');
    return { workerMiB: rssMiB(worker.pid!), botMiB: rssMiB(bot.pid!), budgetWorkerMiB: 120, budgetBotMiB: 150 };
  } finally {
    for (const p of [worker, bot]) p.kill('SIGTERM');
    await Promise.all([worker, bot].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await env.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await measureIdleMemory();
  console.log(`idle RSS: worker ${m.workerMiB.toFixed(0)} MiB (budget ≤ ${m.budgetWorkerMiB}), bot on Discord ${m.botMiB.toFixed(0)} MiB (budget ≤ ${m.budgetBotMiB})`);
}
