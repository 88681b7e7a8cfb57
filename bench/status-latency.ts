import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { createBotContext } from '../src/bot/context.js';
import { commands } from '../commands/index.js';
import { dispatch } from '../src/chat/dispatch.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { ROOT } from '../src/core/paths.js';
import { percentile } from './stats.js';

export interface StatusLatency {
  runs: number;
  p50Ms: number;
  p99Ms: number;
  budgetP50Ms: number;
}

/**
 * `/status` from command to final reply with 30 models on 8 GPUs: the real bot side in this
 * process, a real worker as a child process, the fake nvidia-smi reporting 8 H100s.
 */
export async function measureStatusLatency(runs = 40): Promise<StatusLatency> {
  const dir = mkdtempSync(join(tmpdir(), 'labops-bench-'));
  const prefix = `bench_${Date.now().toString(36)}`;
  const models = Object.fromEntries(
    Array.from({ length: 30 }, (_, i) => [
      `chat-model-${i}`,
      i % 3 === 0
        ? { type: 'chat', engine: { kind: 'systemd', unit: `model-${i}.service` }, vramMiB: 4000 }
        : { type: 'chat', engine: { kind: 'script', cwd: dir, start: 'start.sh', pidFile: `run/m${i}.pid` }, vramMiB: 4000 },
    ]),
  );
  const configFile = join(dir, 'labops.yaml');
  writeFileSync(
    configFile,
    stringify({
      local: { defaultRole: 'admin' },
      redis: { url: 'redis://127.0.0.1:6379', prefix },
      database: { url: 'postgres://postgres@127.0.0.1:5432/labops_bench', schema: prefix },
      worker: { heartbeatInterval: '1s' },
      hosts: { 'gpu-1': { modelDir: dir, models } },
    }),
  );
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(join(ROOT, 'test/support/fake-nvidia-smi'), join(bin, 'nvidia-smi'));
  const state = join(dir, 'gpu.json');
  writeFileSync(state, JSON.stringify({ mode: 'ok', gpus: 8, profile: 'loaded' }));
  const worker = spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'worker', '--host', 'gpu-1'], {
    env: { ...process.env, LABOPS_CONFIG: configFile, PATH: bin, FAKE_NVIDIA_SMI_STATE: state, LABOPS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const redis = new Redis('redis://127.0.0.1:6379');
  const ctx = await createBotContext(loadConfig(configFile, {}).config, silentLogger(), commands);
  try {
    while (!(await redis.exists(`${prefix}:heartbeat:gpu-1`))) await new Promise((r) => setTimeout(r, 50));
    const caller = { id: 'bench', name: 'bench', role: 'viewer' as const, adapter: 'exec' as const, channelId: 'local', inDM: false };
    const once = async () => {
      const started = performance.now();
      const reply = await dispatch(ctx, { caller, command: 'status', raw: {}, progress: () => undefined, confirm: async () => false });
      if (reply.outcome !== 'ok') throw new Error(`/status answered ${reply.outcome}: ${reply.title}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 5; i++) await once(); // warm-up: first currentLoad(), connections, JIT
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    return { runs, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), budgetP50Ms: 250 };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await ctx.close();
    const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/labops_bench' });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(prefix)} CASCADE`);
    await db.end();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureStatusLatency(Number(process.argv[2] ?? 40));
  console.log(`/status, 30 models on 8 GPUs, ${r.runs} runs: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms (budget p50 ≤ ${r.budgetP50Ms} ms)`);
}
