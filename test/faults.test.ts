import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startWorkerProcess, type CliProcess } from './support/cli.js';
import { waitFor } from './support/engines-helpers.js';
import { createLifecycleLab, type LifecycleLab } from './support/lifecycle-lab.js';
import { startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from './support/services.js';
import { auditRows, createTestLab, type TestLab } from './support/env.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Faults of the real services, each on instances of the test's own: Redis restarted (with and
 * without persistence) in the middle of a job, PostgreSQL stopped and started, SIGTERM during a
 * long job, and both stores down at once. Nothing is lost or done twice, and where something could
 * not be done the user is told so, at once.
 */
const SLOW = 'chat-slow-llamacpp';

describe('Redis restarted in the middle of a /start', () => {
  let lab: LifecycleLab;
  let redis: OwnRedis;
  const workers: CliProcess[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
    await lab?.dispose();
    await redis?.stop();
  });

  async function setUp(persist: boolean) {
    redis = await startOwnRedis({ persist });
    lab = await createLifecycleLab({ models: { [SLOW]: { fakeVramMiB: 1000, slowStartMs: 5000, startTimeout: '30s', config: { vramMiB: 1000 } } } });
    lab.env.LABOPS_REDIS_URL = redis.url;
    workers.push(await startWorkerProcess({ env: lab.env, prefix: lab.prefix }, 'gpu-1', {}, redis.url));
  }

  it('without persistence: the job is gone, and the caller is told at once instead of waiting minutes', async () => {
    await setUp(false);
    const exec = runCli(['exec', `/start ${SLOW}`, '--json'], lab.env, { timeoutMs: 60_000 });
    await waitFor(() => lab.servers(SLOW).length === 1, 15_000, 'the model server to start');
    const restarted = Date.now();
    await redis.restart();
    const result = await exec;
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const json = JSON.parse(result.stdout) as { outcome: string; title: string; hint: string };
    expect(json.title).toMatch(/^Job .* on gpu-1 is gone from Redis before it finished: Redis lost its data/);
    expect(json.hint).toContain('/status host:gpu-1');
    expect(Date.now() - restarted).toBeLessThan(15_000);
    // the worker reconnected: it heartbeats into the new Redis, and the model it was starting is there
    const status = await waitFor(async () => {
      const r = await runCli(['exec', '/status', '--json'], lab.env);
      return r.stdout.includes('"online": true') ? r : null;
    }, 20_000, 'the worker to be back');
    expect(status.code).toBe(0);
  }, 90_000);

  it('with persistence (AOF): the start goes on and is answered once', async () => {
    await setUp(true);
    const exec = runCli(['exec', `/start ${SLOW}`, '--json'], lab.env, { timeoutMs: 60_000 });
    await waitFor(() => lab.servers(SLOW).length === 1, 15_000, 'the model server to start');
    await redis.restart();
    const result = await exec;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { title: string }).title).toMatch(new RegExp(`^${SLOW} is ready on gpu-1`));
    expect(lab.servers(SLOW)).toHaveLength(1);
  }, 90_000);
});

describe('PostgreSQL stopped and started again', () => {
  let db: OwnPostgres | undefined;
  let lab: TestLab | undefined;

  afterAll(async () => {
    await db?.drop();
    await lab?.cleanup();
  });

  it('commands still run; their audit rows wait and are written once each, in order, when it is back', async () => {
    db = await startOwnPostgres();
    lab = createTestLab();
    const env = { ...lab.env, LABOPS_DATABASE_URL: db.url };
    expect((await runCli(['exec', '/help'], env)).code).toBe(0);
    await db.stop();
    for (const n of [1, 2, 3]) expect((await runCli(['exec', `/log n:${n}`], env)).code).toBe(1); // the log itself is unavailable
    const status = await runCli(['exec', '/status'], env);
    expect(status.stdout).toMatch(/Audit log: degraded — PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/labops is unreachable/);
    await db.start();
    // the next process writes what waited
    expect((await runCli(['exec', '/help'], env)).code).toBe(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = await waitFor(async () => {
        const { rows } = await client.query<{ command: string; args: { n?: number } }>(`SELECT command, args FROM ${pg.escapeIdentifier(lab!.schema)}.audit_log ORDER BY started_at, finished_at`);
        return rows.length >= 6 ? rows : null;
      }, 20_000, 'the waiting rows');
      expect(rows.map((r) => r.command)).toEqual(['help', 'log', 'log', 'log', 'status', 'help']);
      expect(rows.filter((r) => r.command === 'log').map((r) => Number(r.args.n))).toEqual([1, 2, 3]);
    } finally {
      await client.end();
    }
  }, 90_000);
});

describe('SIGTERM during a long job', () => {
  let lab: LifecycleLab | undefined;
  let worker: CliProcess | undefined;

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await lab?.dispose();
  });

  it('the worker stops within its shutdown deadline, and the caller hears why', async () => {
    lab = await createLifecycleLab({
      models: { [SLOW]: { fakeVramMiB: 1000, slowStartMs: 20_000, startTimeout: '60s', config: { vramMiB: 1000 } } },
      worker: { shutdownTimeout: '1s' },
    });
    worker = await startWorkerProcess(lab);
    const exec = runCli(['exec', `/start ${SLOW}`, '--json'], lab.env, { timeoutMs: 60_000 });
    await waitFor(() => lab!.servers(SLOW).length === 1, 15_000, 'the model server to start');
    const started = Date.now();
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const result = await exec;
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { title: string }).title).toBe('model.start on gpu-1 stopped: worker shutting down.');
  }, 90_000);
});

describe('Redis and PostgreSQL both down', () => {
  let lab: TestLab | undefined;
  let state: string | undefined;
  let proxy: TcpProxy | undefined;

  afterAll(async () => {
    await proxy?.close();
    await lab?.cleanup();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('an exec keeps its audit row in a local spool file, written by the next process that reaches PostgreSQL', async () => {
    lab = createTestLab();
    state = mkdtempSync(join(tmpdir(), 'labops-spool-'));
    proxy = new TcpProxy(5432);
    const port = await proxy.open();
    const env = { ...lab.env, XDG_STATE_HOME: state, LABOPS_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/labops_test` };
    expect((await runCli(['exec', '/help'], env)).code).toBe(0);

    await proxy.close();
    const noRedis = { ...env, LABOPS_REDIS_URL: 'redis://127.0.0.1:1' };
    const help = await runCli(['exec', '/help', '--as', 'viewer'], noRedis);
    expect(help.code).toBe(0);
    expect(readdirSync(join(state, 'labops')).filter((f) => f.startsWith('audit-spool-'))).toHaveLength(1);

    await proxy.open();
    expect((await runCli(['exec', '/help'], noRedis)).code).toBe(0);
    const rows = await waitFor(async () => {
      const all = await auditRows(lab!);
      return all.length >= 3 ? all : null;
    }, 10_000, 'the spooled row');
    expect(rows.map((r) => [r.command, r.role])).toEqual([
      ['help', 'admin'],
      ['help', 'viewer'],
      ['help', 'admin'],
    ]);
    expect(readdirSync(join(state, 'labops')).filter((f) => f.startsWith('audit-spool-'))).toHaveLength(0);
  });
});
