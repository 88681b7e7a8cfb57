/**
 * The configuration of a lab on a network: Redis credentials and TLS, PostgreSQL sslmode, the job
 * key; that no secret reaches a message; and the compose file (Docker cannot run here, so it is
 * checked as YAML: its ports, Redis's command and the variables it refuses to start without).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { assertSigningConfigured, jobSigning } from '../src/config/security.js';
import { redact } from '../src/core/redact.js';
import { pgConnection } from '../src/db/pool.js';
import { redisTarget } from '../src/redis/connection.js';
import { ROOT } from './support/env.js';

const JOB_KEY = 'k3y-for-tests-0123456789-abcdefghij';
const hosts = (n: number) => `hosts:\n${Array.from({ length: n }, (_, i) => `  gpu-${i + 1}: {}\n`).join('')}`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'labops.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const dir = mkdtempSync(join(tmpdir(), 'labops-netcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Redis on the network', () => {
  it('takes a password and an ACL user from env:, beside a URL without credentials', () => {
    const config = parseConfig(`redis:\n  url: redis://redis.lab:6379\n  username: labops\n  password: env:REDIS_PW\n${hosts(1)}`, 'x', { REDIS_PW: 'pw-from-env-123' });
    expect(redisTarget(config.redis)).toEqual({ url: 'redis://redis.lab:6379', username: 'labops', password: 'pw-from-env-123' });
    // LABOPS_REDIS_PASSWORD overrides, as LABOPS_REDIS_URL does
    const over = parseConfig(hosts(1), 'x', { LABOPS_REDIS_URL: 'redis://10.0.0.5:6379', LABOPS_REDIS_PASSWORD: 'other-pw-456' });
    expect(redisTarget(over.redis)).toMatchObject({ url: 'redis://10.0.0.5:6379', password: 'other-pw-456' });
  });

  it('rediss:// with a CA, a client certificate and a server name; certificates are checked unless told otherwise', () => {
    for (const f of ['ca.pem', 'client.pem', 'client.key']) writeFileSync(join(dir, f), `-----BEGIN ${f}-----\n`);
    const config = parseConfig(
      `redis:\n  url: rediss://redis.lab:6380\n  tls:\n    ca: ${dir}/ca.pem\n    cert: ${dir}/client.pem\n    key: ${dir}/client.key\n    servername: redis.lab\n${hosts(1)}`,
    );
    expect(redisTarget(config.redis).tls).toEqual({
      rejectUnauthorized: true,
      ca: '-----BEGIN ca.pem-----\n',
      cert: '-----BEGIN client.pem-----\n',
      key: '-----BEGIN client.key-----\n',
      servername: 'redis.lab',
    });
    expect(redisTarget(parseConfig(`redis:\n  url: rediss://redis.lab:6380\n${hosts(1)}`).redis).tls).toEqual({ rejectUnauthorized: true });
    expect(() => redisTarget(parseConfig(`redis:\n  url: rediss://r:1\n  tls: { ca: ${dir}/missing.pem }\n${hosts(1)}`).redis)).toThrow(`redis.tls.ca: cannot read ${dir}/missing.pem (ENOENT).`);
  });

  it('says what is wrong with TLS options and credentials given twice', () => {
    expect(problems(`redis:\n  url: redis://r:6379\n  tls: { servername: r }\n${hosts(1)}`)).toEqual(['redis.tls: TLS options are set but redis.url is redis://: use a rediss:// URL for TLS']);
    expect(problems(`redis:\n  url: rediss://r:6379\n  tls: { cert: /a.pem }\n${hosts(1)}`)).toEqual(['redis.tls: expected both cert and key, or neither']);
    expect(problems(`redis:\n  url: rediss://r:6379\n  tls: { ca: "-----BEGIN CERTIFICATE-----" }\n${hosts(1)}`)).toEqual(['redis.tls.ca: expected the path of a PEM file, not its content']);
    expect(problems(`redis:\n  url: redis://:inurl-secret@r:6379\n  password: also-set\n${hosts(1)}`)).toEqual([
      'redis.password: the credentials are given twice: in redis.url and in redis.username/password; keep one',
    ]);
  });
});

describe('PostgreSQL on the network', () => {
  it('sslmode and the CA come from the URL or from database.ssl; the URL wins; pg never sees the libpq parameters', () => {
    writeFileSync(join(dir, 'pg-ca.pem'), 'CA');
    expect(pgConnection('postgres://u@db/x')).toEqual({ connectionString: 'postgres://u@db/x', ssl: false });
    expect(pgConnection('postgres://u@db/x?sslmode=require')).toEqual({ connectionString: 'postgres://u@db/x', ssl: { rejectUnauthorized: false } });
    expect(pgConnection('postgres://u@db/x?sslmode=verify-full')).toEqual({ connectionString: 'postgres://u@db/x', ssl: { rejectUnauthorized: true } });
    // a CA alone means verify-full
    expect(pgConnection('postgres://u@db/x', { ca: join(dir, 'pg-ca.pem') })).toEqual({ connectionString: 'postgres://u@db/x', ssl: { rejectUnauthorized: true, ca: 'CA' } });
    const verifyCa = pgConnection(`postgres://u@db/x?sslmode=verify-ca&sslrootcert=${join(dir, 'pg-ca.pem')}&application_name=labops`, { mode: 'disable' });
    expect(verifyCa.connectionString).toBe('postgres://u@db/x?application_name=labops');
    expect(verifyCa.ssl).toMatchObject({ rejectUnauthorized: true, ca: 'CA' });
    expect((verifyCa.ssl as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined();
    // like libpq: require with a CA checks the chain
    expect(pgConnection('postgres://u@db/x?sslmode=require', { ca: join(dir, 'pg-ca.pem') }).ssl).toMatchObject({ rejectUnauthorized: true, ca: 'CA' });
    expect(() => pgConnection('postgres://u@db/x', { ca: join(dir, 'nope.pem') })).toThrow(`Cannot read the PostgreSQL CA file ${join(dir, 'nope.pem')} (ENOENT).`);
  });

  it('refuses sslmode values that would fall back to plain text, and verify-ca without a CA, for labops\' and LiteLLM\'s database', () => {
    expect(problems(`database: { url: "postgres://u:pw1234@db/x?sslmode=prefer" }\n${hosts(1)}`)).toEqual([
      'database.url: sslmode=prefer is not supported: labops never falls back to an unencrypted connection; use disable, require, verify-ca or verify-full',
    ]);
    expect(problems(`litellm: { databaseUrl: "postgres://u@db/l?sslmode=verify-ca" }\n${hosts(1)}`)).toEqual([
      expect.stringMatching(/^litellm\.databaseUrl: sslmode verify-ca needs a CA/),
    ]);
    expect(problems(`litellm: { databaseUrl: "postgres://u@db/l?sslmode=verify-ca", databaseSsl: { ca: /ca.pem } }\n${hosts(1)}`)).toEqual([]);
    expect(problems(`database: { ssl: { mode: verify-ca, ca: /ca.pem } }\n${hosts(1)}`)).toEqual([]);
  });
});

describe('no password or key in a message', () => {
  it('a URL that does not parse is not quoted, and its password is redacted wherever it shows', () => {
    const bad = problems(`database: { url: "postgres//labops:S3cr/t@pw@db:5432/labops" }\nredis: { url: "redis:/:R3d1s-pw@host" }\n${hosts(1)}`);
    expect(bad).toEqual(['redis.url: expected a redis:// or rediss:// URL', 'database.url: expected a postgres:// URL']);
    expect(redact('connect to postgres//labops:S3cr/t@pw@db:5432 failed')).not.toContain('S3cr/t@pw');
    expect(redact('redis:/:R3d1s-pw@host')).not.toContain('R3d1s-pw');
    const unparsable = problems(`database: { url: "postgres://labops:a b#c@db/x" }\n${hosts(1)}`);
    expect(unparsable.join('\n')).not.toContain('a b#c');
    expect(redact('{"url":"redis://:p/a:s@s@h:1","x":"a@b"}')).toBe('{"url":"redis://:***@h:1","x":"a@b"}');
  });

  it('a key that is too short is refused without being quoted', () => {
    const [problem] = problems(`security: { jobKey: env:K }\n${hosts(1)}`, { K: 'short-key-9' });
    expect(problem).toBe('security.jobKey: expected at least 32 characters (make one with: openssl rand -base64 32)');
    expect(problems(`security: { jobKey: 12345 }\n${hosts(1)}`)).toEqual(['security.jobKey: expected string, got a value not shown here (it may be secret)']);
  });

  it('the job keys are registered as secrets once loaded', () => {
    parseConfig(hosts(2), 'x', { LABOPS_JOB_KEY: JOB_KEY, LABOPS_PREVIOUS_JOB_KEY: `prev-${JOB_KEY}` });
    expect(redact(`key ${JOB_KEY} and prev-${JOB_KEY}`)).toBe('key *** and ***');
  });
});

describe('who must sign', () => {
  it('a lab of more than one host does not start without LABOPS_JOB_KEY, and says so', () => {
    const config = parseConfig(hosts(2), 'x', {});
    expect(() => assertSigningConfigured(config, 'worker')).toThrow(
      'labops worker: this config has 2 hosts (gpu-1, gpu-2), so jobs must be signed, and no key is set: set LABOPS_JOB_KEY (security.jobKey).',
    );
    expect(() => assertSigningConfigured(parseConfig(hosts(2), 'x', { LABOPS_JOB_KEY: JOB_KEY }), 'worker')).not.toThrow();
    expect(() => assertSigningConfigured(parseConfig(hosts(1), 'x', {}), 'all')).not.toThrow();
    expect(() => assertSigningConfigured(parseConfig(hosts(1), 'x', { LABOPS_PREVIOUS_JOB_KEY: JOB_KEY }), 'bot')).toThrow(/previousJobKey is set but security.jobKey/);
  });

  it('security.jobKey, previousJobKey and maxJobAge', () => {
    const config = parseConfig(`security:\n  jobKey: env:LABOPS_JOB_KEY\n  previousJobKey: env:OLD_KEY\n  maxJobAge: 2m\n${hosts(2)}`, 'x', { LABOPS_JOB_KEY: JOB_KEY, OLD_KEY: `old-${JOB_KEY}` });
    const signing = jobSigning(config);
    expect(signing.maxJobAgeMs).toBe(120_000);
    expect(signing.keys?.hasPrevious).toBe(true);
    expect(jobSigning(parseConfig(hosts(1), 'x', {}))).toEqual({ keys: null, maxJobAgeMs: 600_000 });
    expect(problems(`security: { maxJobAge: 1s }\n${hosts(1)}`)).toEqual(['security.maxJobAge: expected a duration from 10 s to 7 d, got "1s"']);
  });
});

describe('docker-compose.yml (checked as YAML: Docker does not run here)', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { command?: string[]; ports?: string[]; environment?: Record<string, string> }>;
  };
  const { redis, postgres, bot } = compose.services;

  it('Redis asks for a password it refuses to start without, keeps its append-only file, and listens on LABOPS_BIND', () => {
    const command = redis!.command!;
    const pass = command.indexOf('--requirepass');
    expect(pass).toBeGreaterThan(0);
    expect(command[pass + 1]).toMatch(/^\$\{REDIS_PASSWORD:\?.+\}$/);
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual(['--appendonly', 'yes']);
    expect(command.slice(command.indexOf('--maxmemory-policy'), command.indexOf('--maxmemory-policy') + 2)).toEqual(['--maxmemory-policy', 'noeviction']);
    expect(redis!.ports).toEqual(['${LABOPS_BIND:-127.0.0.1}:6379:6379']);
  });

  it('PostgreSQL needs its password set and listens on LABOPS_BIND', () => {
    expect(postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{LABOPS_DB_PASSWORD:\?.+\}$/);
    expect(postgres!.ports).toEqual(['${LABOPS_BIND:-127.0.0.1}:5432:5432']);
  });

  it('the bot logs in to Redis and signs its jobs', () => {
    const env = bot!.environment!;
    expect(env.LABOPS_REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?.+\}$/);
    expect(env.LABOPS_JOB_KEY).toMatch(/^\$\{LABOPS_JOB_KEY:\?.+\}$/);
    expect(env.LABOPS_DATABASE_URL).toContain('${LABOPS_DB_PASSWORD:?');
  });
});
