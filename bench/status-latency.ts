import { spawn, type ChildProcess } from 'node:child_process';
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
  hosts: number;
  runs: number;
  p50Ms: number;
  p99Ms: number;
  budgetP50Ms: number;
}

const DB_URL = 'postgres://postgres@127.0.0.1:5432/labops_bench';

/**
 * A lab of `hosts` GPU hosts with `models` models each (a third systemd units, the rest scripts) on 8
 * GPUs: its labops.yaml, and a PATH with the stand-ins (the fake nvidia-smi reporting 8 H100s, the fake
 * systemctl and journalctl, which are real processes, so a unit's state has its real cost).
 */
export function benchLab(hosts: number, models = 30, overrides: { worker?: Record<string, unknown>; gpu?: Record<string, unknown> } = {}): { dir: string; prefix: string; configFile: string; env: NodeJS.ProcessEnv; hostNames: string[]; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'labops-bench-'));
  const prefix = `bench_${Date.now().toString(36)}`;
  const xdg = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'runtime') };
  mkdirSync(join(xdg.XDG_CONFIG_HOME, 'systemd', 'user'), { recursive: true });
  mkdirSync(xdg.XDG_RUNTIME_DIR, { recursive: true });
  const hostNames = Array.from({ length: hosts }, (_, h) => `gpu-${h + 1}`);
  const inventory = (host: string) =>
    Object.fromEntries(
      Array.from({ length: models }, (_, i) => {
        const unit = `${host}-model-${i}.service`;
        if (i % 3 === 0) {
          writeFileSync(join(xdg.XDG_CONFIG_HOME, 'systemd', 'user', unit), `[Unit]\nDescription=bench model ${i}\n\n[Service]\nType=simple\nExecStart=${process.execPath} -e "setInterval(()=>{},1000)"\n`);
          return [`chat-model-${i}`, { type: 'chat', engine: { kind: 'systemd', unit }, vramMiB: 4000 }];
        }
        return [`chat-model-${i}`, { type: 'chat', engine: { kind: 'script', cwd: dir, start: 'start.sh', pidFile: `run/${host}-m${i}.pid` }, vramMiB: 4000 }];
      }),
    );
  const configFile = join(dir, 'labops.yaml');
  writeFileSync(
    configFile,
    stringify({
      local: { defaultRole: 'admin' },
      redis: { url: 'redis://127.0.0.1:6379', prefix },
      database: { url: DB_URL, schema: prefix },
      worker: { heartbeatInterval: '1s', ...overrides.worker },
      ...(hosts > 1 ? { security: { jobKey: 'bench-job-key-0123456789abcdef0123456789' } } : {}),
      hosts: Object.fromEntries(hostNames.map((h) => [h, { modelDir: dir, models: inventory(h), alerts: { bootServices: { enabled: false } }, ...(overrides.gpu ? { gpu: overrides.gpu } : {}) }])),
    }),
  );
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(join(ROOT, 'test/support/fake-nvidia-smi'), join(bin, 'nvidia-smi'));
  symlinkSync(join(ROOT, 'test/support/fake-systemd/systemctl'), join(bin, 'systemctl'));
  symlinkSync(join(ROOT, 'test/support/fake-systemd/journalctl'), join(bin, 'journalctl'));
  const state = join(dir, 'gpu.json');
  writeFileSync(state, JSON.stringify({ mode: 'ok', gpus: 8, profile: 'loaded' }));
  const env = { ...process.env, ...xdg, LABOPS_CONFIG: configFile, PATH: bin, FAKE_NVIDIA_SMI_STATE: state, LABOPS_LOG_LEVEL: 'warn' };
  return {
    dir,
    prefix,
    configFile,
    env,
    hostNames,
    async cleanup() {
      const redis = new Redis('redis://127.0.0.1:6379');
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      const db = new pg.Client({ connectionString: DB_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(prefix)} CASCADE`);
      await db.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `/status` from command to final reply: the real bot side in this process, a real worker per host
 * as a child process, each keeping its host's live state; /status reads it from Redis.
 */
export async function measureStatusLatency(runs = 40, hosts = 1): Promise<StatusLatency> {
  const lab = benchLab(hosts);
  const workers: ChildProcess[] = lab.hostNames.map((host) =>
    spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'worker', '--host', host], { env: lab.env, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  const redis = new Redis('redis://127.0.0.1:6379');
  const ctx = await createBotContext(loadConfig(lab.configFile, {}).config, silentLogger(), commands);
  try {
    for (const host of lab.hostNames) while (!(await redis.exists(`${lab.prefix}:heartbeat:${host}`))) await new Promise((r) => setTimeout(r, 50));
    const caller = { id: 'bench', name: 'bench', role: 'viewer' as const, adapter: 'exec' as const, channelId: 'local', inDM: false };
    const once = async () => {
      const started = performance.now();
      const reply = await dispatch(ctx, { caller, command: 'status', raw: {}, progress: () => undefined, confirm: async () => false });
      if (reply.outcome !== 'ok') throw new Error(`/status answered ${reply.outcome}: ${reply.title}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 5; i++) await once(); // warm-up: connections, JIT
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    return { hosts, runs, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), budgetP50Ms: hosts > 1 ? 100 : 50 };
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        w.kill('SIGTERM');
        if (w.exitCode === null) await new Promise((r) => w.once('exit', r));
      }),
    );
    await ctx.close();
    redis.disconnect();
    await lab.cleanup();
  }
}

export function formatStatusLatency(r: StatusLatency): string {
  return `${r.runs} runs, ${r.hosts} host${r.hosts === 1 ? '' : 's'} × 30 models: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms — budget p50 ≤ ${r.budgetP50Ms} ms: ${r.p50Ms <= r.budgetP50Ms ? 'within' : 'OVER'}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatStatusLatency(await measureStatusLatency(Number(process.argv[2] ?? 40), Number(process.argv[3] ?? 1))));
}
