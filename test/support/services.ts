import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, waitFor } from './engines-helpers.js';

/**
 * Redis and PostgreSQL instances of a test's own, for fault tests that stop and restart them
 * (the shared ones on 6379 and 5432 are never touched).
 */
export interface OwnRedis {
  url: string;
  port: number;
  /** stops it (losing everything unless it persists) and starts it again on the same port and folder */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(opts: { persist?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'labops-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', opts.persist ? 'yes' : 'no', '--appendfsync', 'always', '--dir', dir, '--maxmemory-policy', 'noeviction'];
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor(async () => ping(url), 10_000, `redis-server on ${port}`);
  };
  const halt = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    port,
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface OwnPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  drop(): Promise<void>;
}

/** A throw-away PostgreSQL cluster (`pg_createcluster … --auth=trust`), about 3 s to create. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const version = readdirSync('/etc/postgresql')[0]!;
  const port = await freePort();
  const name = `labops_t${port}`;
  execFileSync('pg_createcluster', [version, name, '--port', String(port), '--start', '--', '--auth=trust'], { stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/labops`;
  const ctl = (verb: 'start' | 'stop') => execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, verb], { stdio: 'ignore' });
  const ready = () => waitFor(async () => accepts(port), 15_000, `PostgreSQL on ${port}`);
  await ready();
  return {
    url,
    port,
    async stop() {
      ctl('stop');
    },
    async start() {
      ctl('start');
      await ready();
    },
    async drop() {
      execFileSync('pg_dropcluster', ['--stop', version, name], { stdio: 'ignore' });
    },
  };
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
