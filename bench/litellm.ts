import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import { commands } from '../commands/index.js';
import { dispatch } from '../src/chat/dispatch.js';
import { loadConfig } from '../src/config/load.js';
import type { DoctorResult } from '../src/contracts/doctor.js';
import type { SmokeResult } from '../src/contracts/smoke.js';
import { silentLogger } from '../src/core/logger.js';
import { ROOT } from '../src/core/paths.js';
import { deriveKeys, encryptValue, type WriteFormat } from '../src/litellm/crypto.js';
import type { DbModel } from '../src/litellm/db.js';
import { checkStoredParams } from '../src/litellm/doctor/stored-params.js';
import { startFakeLiteLLM, type FakeLiteLLM } from '../test/support/fake-litellm.js';
import { createLiteLLMTestDb } from '../test/support/litellm-db.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const DB_URL = 'postgres://postgres@127.0.0.1:5432/labops_bench';
const MASTER_KEY = 'sk-bench-master-key-0123456789';
const SALT_KEY = 'sk-bench-salt-key-9876543210';

/** A real worker (child process) and the bot side in this process, for one config. */
interface Bench {
  ctx: OwnedBotContext;
  run(command: string, raw?: Record<string, unknown>): Promise<{ ms: number; data: unknown; outcome: string; title: string }>;
  close(): Promise<void>;
}

async function startBench(litellm: Record<string, unknown>, models: Record<string, unknown>): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'labops-bench-litellm-'));
  const prefix = `bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const configFile = join(dir, 'labops.yaml');
  writeFileSync(
    configFile,
    stringify({
      local: { defaultRole: 'admin' },
      redis: { url: REDIS_URL, prefix },
      database: { url: DB_URL, schema: prefix },
      worker: { heartbeatInterval: '1s' },
      litellm: { host: 'gpu-1', ...litellm },
      hosts: { 'gpu-1': { modelDir: dir, gpu: { enabled: false }, models } },
    }),
  );
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const worker: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'worker', '--host', 'gpu-1'], {
    env: { ...process.env, LABOPS_CONFIG: configFile, PATH: bin, LABOPS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const redis = new Redis(REDIS_URL);
  const ctx = await createBotContext(loadConfig(configFile, {}).config, silentLogger(), commands);
  while (!(await redis.exists(`${prefix}:heartbeat:gpu-1`))) await new Promise((r) => setTimeout(r, 50));
  const caller = { id: 'bench', name: 'bench', role: 'admin' as const, adapter: 'exec' as const, channelId: 'local', inDM: false };
  return {
    ctx,
    async run(command, raw = {}) {
      const t0 = performance.now();
      const reply = await dispatch(ctx, { caller, command, raw, progress: () => undefined, confirm: async () => false });
      return { ms: performance.now() - t0, data: reply.data, outcome: reply.outcome, title: reply.title };
    },
    async close() {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await ctx.close();
      const db = new pg.Client({ connectionString: DB_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(prefix)} CASCADE`);
      await db.end();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SmokeBench {
  models: number;
  concurrency: number;
  /** from the first request sent to the last answer */
  wallMs: number;
  /** the whole smoke job (asking the proxy what it serves and the models' states included) */
  jobMs: number;
  /** from the command to its reply (queue round trip included) */
  commandMs: number;
  slowestMs: number;
  maxInFlight: number;
  ok: number;
}

/**
 * `/smoke` over `n` models through the fake proxy, each answering after ~`delayMs`: the wall time
 * against the slowest single request shows how well it is parallelised within the limit.
 */
export async function benchSmoke(opts: { n?: number; delayMs?: number; concurrency?: number } = {}): Promise<SmokeBench> {
  const n = opts.n ?? 30;
  const dir = mkdtempSync(join(tmpdir(), 'labops-bench-proxy-'));
  const configPath = join(dir, 'config.yaml');
  const names = Array.from({ length: n }, (_, i) => `chat-bench-${String(i).padStart(2, '0')}-cloud`);
  writeFileSync(configPath, stringify({ model_list: names.map((name) => ({ model_name: name, litellm_params: { model: `openai/${name}` } })) }));
  let proxy: FakeLiteLLM | undefined;
  let bench: Bench | undefined;
  try {
    proxy = await startFakeLiteLLM({ masterKey: MASTER_KEY, configPath, delayMs: opts.delayMs ?? 200 });
    // Ollama engines on a closed port: their state is "unknown" at once, so each is asked
    const models = Object.fromEntries(names.map((name) => [name, { type: 'chat', engine: { kind: 'ollama', url: 'http://127.0.0.1:9', model: name } }]));
    bench = await startBench({ url: proxy.url, masterKey: MASTER_KEY, ...(opts.concurrency ? { smoke: { concurrency: opts.concurrency } } : {}) }, models);
    await bench.run('smoke', { model: names[0] }); // warm-up: connections, JIT
    const r = await bench.run('smoke');
    const result = r.data as SmokeResult;
    if (result.results.length !== n) throw new Error(`/smoke answered ${r.outcome}: ${r.title}`);
    return {
      models: n,
      concurrency: result.concurrency,
      wallMs: Math.round(Math.max(...result.results.map((x) => x.at)) - Math.min(...result.results.map((x) => x.at - (x.latencyMs ?? 0)))),
      jobMs: result.elapsedMs,
      commandMs: r.ms,
      slowestMs: Math.max(...result.results.map((x) => x.latencyMs ?? 0)),
      maxInFlight: result.maxInFlight,
      ok: result.results.filter((x) => x.ok).length,
    };
  } finally {
    await bench?.close();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSmokeBench(r: SmokeBench): string {
  const ratio = r.wallMs / r.slowestMs;
  return (
    `${r.models} models (${r.ok} ok), limit ${r.concurrency}: requests ${r.wallMs} ms wall = ${ratio.toFixed(2)}× the slowest request (${Math.round(r.slowestMs)} ms), ` +
    `at most ${r.maxInFlight} in flight${r.maxInFlight <= r.concurrency ? ' (within the limit)' : ' (OVER THE LIMIT)'}; the job ${r.jobMs} ms, command to reply ${Math.round(r.commandMs)} ms` +
    ` — budget ≤ 1.5×: ${ratio <= 1.5 ? 'within' : r.concurrency < r.models ? 'not reachable with this limit' : 'OVER'}`
  );
}

export interface DoctorBench {
  rows: number;
  values: number;
  /** the worker's decryption of every row (stats of doctor.run) */
  workerDecryptMs: number;
  /** /doctor from command to reply */
  commandMs: number;
  /** the same decryption in this process, best of 5 */
  inProcessMs: number;
  findings: number;
}

const FORMATS: WriteFormat[] = ['nacl-urlsafe', 'nacl-std', 'v2-gcm', 'v3-gcm'];

/** `/doctor` over `rows` DB model rows (every format, 6 string params each; one in 50 broken). */
export async function benchDoctor(opts: { rows?: number } = {}): Promise<DoctorBench> {
  const count = opts.rows ?? 500;
  const keys = deriveKeys(SALT_KEY);
  const other = deriveKeys('sk-another-salt-key');
  const db = await createLiteLLMTestDb({ baseUrl: DB_URL });
  let bench: Bench | undefined;
  try {
    const rows: DbModel[] = [];
    for (let i = 0; i < count; i++) {
      const format = FORMATS[i % FORMATS.length]!;
      const enc = (v: string) => encryptValue(v, keys, format);
      const params = {
        model: enc(`hosted_vllm/bench/model-${i}`),
        custom_llm_provider: i % 50 === 7 ? encryptValue('hosted_vllm', other) : enc('hosted_vllm'),
        api_base: enc(`http://10.0.${i % 250}.1:8000/v1`),
        api_key: enc(`sk-bench-upstream-${i}`),
        api_version: enc('2024-10-21'),
        organization: enc('lab'),
        timeout: 120,
        rpm: 60,
      };
      rows.push({ modelId: `m-${i}`, modelName: `chat-bench-${i}-vllm`, litellmParams: params, paramsStorage: 'object', modelInfo: null, blocked: false, createdAt: new Date(), createdBy: 'x', updatedAt: new Date(), updatedBy: 'x' });
    }
    await db.query(
      `INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, created_by, updated_by)
       SELECT r->>'id', r->>'name', r->'params', 'bench', 'bench' FROM jsonb_array_elements($1::jsonb) AS r`,
      [JSON.stringify(rows.map((r) => ({ id: r.modelId, name: r.modelName, params: r.litellmParams })))],
    );
    await db.insertUser({ user_id: 'default_user_id', user_role: 'proxy_admin' });

    const inProcess: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      checkStoredParams(rows, keys);
      inProcess.push(performance.now() - t0);
    }

    bench = await startBench({ databaseUrl: db.url, saltKey: SALT_KEY }, {});
    await bench.run('doctor'); // warm-up
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = await bench.run('doctor');
      const data = r.data as { findings: unknown[]; hosts: { stats: DoctorResult['stats'] | null }[] };
      const stats = data.hosts[0]?.stats;
      if (!stats || stats.dbModels !== count) throw new Error(`/doctor answered ${r.outcome}: ${r.title}`);
      runs.push({ ms: r.ms, stats, findings: data.findings.length });
    }
    const best = runs.reduce((a, b) => (b.stats.decryptMs < a.stats.decryptMs ? b : a));
    const median = [...runs].sort((a, b) => a.ms - b.ms)[1]!;
    return { rows: count, values: best.stats.decrypted, workerDecryptMs: best.stats.decryptMs, commandMs: median.ms, inProcessMs: Math.min(...inProcess), findings: best.findings };
  } finally {
    await bench?.close();
    await db.drop();
  }
}

export function formatDoctorBench(r: DoctorBench): string {
  const perSecond = (ms: number) => Math.round((r.rows / ms) * 1000).toLocaleString('en-US');
  const worker = (r.rows / r.workerDecryptMs) * 1000;
  return (
    `${r.rows} DB rows (${r.values} encrypted values, every format): /doctor ${Math.round(r.commandMs)} ms from command to reply (median of 3) (${r.findings} findings); ` +
    `decryption in the worker (best of 3) ${r.workerDecryptMs} ms = ${perSecond(r.workerDecryptMs)} rows/s, in-process best of 5 ${r.inProcessMs.toFixed(1)} ms = ${perSecond(r.inProcessMs)} rows/s` +
    ` — budget ≥ 5,000 rows/s: ${worker >= 5_000 ? 'within' : 'OVER'}`
  );
}
