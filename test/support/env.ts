import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { deletePrefix } from '../../src/redis/delete-prefix.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/labops_test';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** A name no other test (or test run) uses: Redis prefix, PostgreSQL schema, queue names. */
export function uniqueName(kind = 't'): string {
  return `${kind}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestLab {
  dir: string;
  configFile: string;
  prefix: string;
  schema: string;
  config: Record<string, unknown>;
  /** environment for child processes: the config, and a PATH that holds only `node` and what `link` put there */
  env: NodeJS.ProcessEnv;
  /** the folder on the lab's PATH */
  binDir: string;
  /** puts a program (a stand-in such as the fake nvidia-smi) on the lab's PATH under `name` */
  link(name: string, target: string): void;
  cleanup(): Promise<void>;
}

/**
 * A temporary lab: a config file with its own Redis prefix and PostgreSQL schema, removed (keys,
 * schema, files) by `cleanup`.
 */
export function createTestLab(overrides: { hosts?: Record<string, unknown>; local?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): TestLab {
  const dir = mkdtempSync(join(tmpdir(), 'labops-test-'));
  const prefix = uniqueName('lt');
  const schema = uniqueName('lt');
  const config = {
    local: overrides.local ?? { defaultRole: 'admin', users: {} },
    redis: { url: REDIS_URL, prefix },
    database: { url: DATABASE_URL, schema },
    worker: { heartbeatInterval: '1s', shutdownTimeout: '5s', concurrency: 4 },
    // test processes would fight over the default ports; test/metrics.test.ts turns them on, on port 0
    metrics: false,
    hosts: overrides.hosts ?? {
      'gpu-1': {
        modelDir: dir,
        models: {
          'chat-hermes-3-llama-3.1-8b': {
            aliases: ['chat-hermes'],
            type: 'chat',
            engine: { kind: 'script', cwd: dir, start: 'bin/start.sh', pidFile: 'run/hermes.pid', logFile: 'logs/hermes.log' },
            vramMiB: 9500,
            idleTtl: '30m',
          },
          'embeddings-default': {
            type: 'embeddings',
            engine: { kind: 'systemd', unit: 'litellm-embed-arctic.service' },
            vramMiB: 1800,
          },
        },
      },
    },
    ...(overrides.extra ?? {}),
  };
  const configFile = join(dir, 'labops.yaml');
  writeFileSync(configFile, stringify(config));
  // No /usr/bin: this machine's systemctl, docker or nvidia-smi must not answer for the lab.
  const binDir = join(dir, 'bin-path');
  mkdirSync(binDir);
  symlinkSync(process.execPath, join(binDir, 'node'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LABOPS_CONFIG: configFile,
    LABOPS_LOG_LEVEL: process.env.LABOPS_LOG_LEVEL ?? 'warn',
    PATH: binDir,
    DISCORD_TOKEN: '',
    // one-host test labs run unsigned unless a test sets a key (multi-host.test.ts does)
    LABOPS_JOB_KEY: '',
    LABOPS_PREVIOUS_JOB_KEY: '',
    LABOPS_REDIS_PASSWORD: '',
  };
  return {
    dir,
    configFile,
    prefix,
    schema,
    config,
    env,
    binDir,
    link(name, target) {
      symlinkSync(target, join(binDir, name));
    },
    async cleanup() {
      await deleteKeys(prefix);
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Rows of the lab's audit log, oldest first. */
export async function auditRows(lab: TestLab): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT * FROM ${pg.escapeIdentifier(lab.schema)}.audit_log ORDER BY started_at, finished_at`);
    return rows;
  } finally {
    await client.end();
  }
}
