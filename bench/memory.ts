import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ROOT } from '../src/paths.js';

export interface IdleMemory {
  workerMiB: number;
  botMiB: number;
  botMode: string;
  budgetWorkerMiB: number;
  budgetBotMiB: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * Idle RSS of `labops worker` and `labops bot` after they settle. The bot is measured in the
 * mode it gets here: Discord against `discordEnv` when given (the fake's URL and token), else
 * the local shell.
 */
export async function measureIdleMemory(settleMs = 8_000, discordEnv?: NodeJS.ProcessEnv): Promise<IdleMemory> {
  const dir = mkdtempSync(join(tmpdir(), 'labops-mem-'));
  const prefix = `benchmem_${Date.now().toString(36)}`;
  const configFile = join(dir, 'labops.yaml');
  const example = readFileSync(join(ROOT, 'examples/labops.yaml'), 'utf8');
  writeFileSync(configFile, example);
  const env = {
    ...process.env,
    LABOPS_CONFIG: configFile,
    LABOPS_REDIS_PREFIX: prefix,
    LABOPS_DATABASE_SCHEMA: prefix,
    LABOPS_LOG_LEVEL: 'warn',
    ...(discordEnv ?? { DISCORD_TOKEN: '' }),
  };
  const start = (args: string[]): ChildProcess =>
    spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), ...args], { env, stdio: ['pipe', 'ignore', 'inherit'] });
  const worker = start(['worker', '--host', 'gpu-1']);
  const bot = start(['bot']);
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    for (const p of [worker, bot]) if (p.exitCode !== null) throw new Error(`a process exited early (${p.exitCode})`);
    return {
      workerMiB: rssMiB(worker.pid!),
      botMiB: rssMiB(bot.pid!),
      botMode: discordEnv ? 'Discord' : 'local shell',
      budgetWorkerMiB: 120,
      budgetBotMiB: 150,
    };
  } finally {
    for (const p of [worker, bot]) p.kill('SIGTERM');
    await Promise.all([worker, bot].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await measureIdleMemory();
  console.log(`idle RSS: worker ${m.workerMiB.toFixed(0)} MiB (budget ≤ ${m.budgetWorkerMiB}), bot (${m.botMode}) ${m.botMiB.toFixed(0)} MiB (budget ≤ ${m.budgetBotMiB})`);
}
