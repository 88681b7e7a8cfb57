import { userInfo } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { auditRows, createTestLab, REDIS_URL, type TestLab } from './support/env.js';
import { TcpProxy } from './support/tcp-proxy.js';

let lab: TestLab;
let proxy: TcpProxy;
let redis: Redis;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  lab = createTestLab();
  proxy = new TcpProxy(5432);
  const port = await proxy.open();
  env = { ...lab.env, LABOPS_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/labops_test` };
  // first contact creates the database and the schema while PostgreSQL is reachable
  expect((await runCli(['exec', '/help'], env)).code).toBe(0);
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await proxy?.close();
  await lab?.cleanup();
});

describe('audit log while PostgreSQL is down', () => {
  it('commands still run, rows wait in Redis, /status says degraded, and nothing is lost when it is back', async () => {
    await proxy.close();

    const help = await runCli(['exec', '/help', '--user', 'while-down'], env);
    expect(help.code).toBe(0);
    expect(await redis.llen(`${lab.prefix}:audit:pending`)).toBe(1);

    const log = await runCli(['exec', '/log'], env);
    expect(log.code).toBe(1);
    expect(log.stdout).toMatch(/✖ The audit log is unavailable: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/labops_test is unreachable/);
    expect(log.stdout).toContain('rows wait in Redis and are written when PostgreSQL is back');

    const status = await runCli(['exec', '/status'], env);
    expect(status.stdout).toMatch(/Audit log: degraded — .*; 2 rows waiting to be written/);

    await proxy.open();
    const after = await runCli(['exec', '/help', '--user', 'after'], env);
    expect(after.code).toBe(0);
    expect(await redis.llen(`${lab.prefix}:audit:pending`)).toBe(0);

    const rows = await auditRows(lab);
    const names = rows.map((r) => `${String(r.actor_name)} ${String(r.command)}`);
    expect(names).toEqual(expect.arrayContaining([`while-down (by ${userInfo().username}) help`, `after (by ${userInfo().username}) help`]));
    expect(rows.filter((r) => r.command === 'log' && r.outcome === 'failed')).toHaveLength(1);
    expect(rows.filter((r) => r.command === 'status')).toHaveLength(1);
    // written once each, in the order they happened
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(names.indexOf(`while-down (by ${userInfo().username}) help`)).toBeLessThan(names.indexOf(`after (by ${userInfo().username}) help`));
  });
});
