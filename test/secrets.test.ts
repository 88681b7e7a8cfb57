import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startWorkerProcess, type CliProcess, type CliResult } from './support/cli.js';
import { waitFor } from './support/engines-helpers.js';
import { auditRows } from './support/env.js';
import { createLifecycleLab, type LifecycleLab } from './support/lifecycle-lab.js';
import { startOwnRedis, type OwnRedis } from './support/services.js';

/**
 * Every kind of secret planted at once — the Discord token, LiteLLM's master and salt keys, a
 * database password with an unencoded `/`, a Redis password with `@` and `/` — then things made to
 * fail; no reply, log line, audit row or model server environment may hold any of them.
 */
const SECRETS = {
  token: 'MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB',
  master: 'sk-master-Secret-1234567890',
  salt: 'salt/with@odd:chars-987654',
  dbPassword: 'DbPw/Secret_42',
  redisPassword: 'Re@dis/pw-55',
  wrongRedisPassword: 'Wr@ng/pw-66',
};
const OK = 'chat-ok-llamacpp';
const LEAKY = 'chat-leaky-script';

let redis: OwnRedis;
let lab: LifecycleLab;
let worker: CliProcess;
const outputs: string[] = [];

beforeAll(async () => {
  redis = await startOwnRedis();
  await runRedis(['CONFIG', 'SET', 'requirepass', SECRETS.redisPassword]);
  lab = await createLifecycleLab({
    models: { [OK]: { fakeVramMiB: 1000, config: { vramMiB: 1000 } } },
    litellm: { masterKey: 'env:LITELLM_MASTER_KEY', saltKey: 'env:LITELLM_SALT_KEY', databaseUrl: 'env:LITELLM_DATABASE_URL', url: 'http://127.0.0.1:1' },
  });
  // a start script that prints its whole environment into the model's log, then fails
  const script = join(lab.dir, 'leaky.sh');
  writeFileSync(script, "#!/usr/bin/env node\nfor (const [k, v] of Object.entries(process.env)) console.log(`${k}=${v}`);\nconsole.log('model failed to load');\nprocess.exit(1);\n");
  chmodSync(script, 0o755);
  const config = readFileSync(lab.configFile, 'utf8').replace(
    '    models:\n',
    `    models:\n      ${LEAKY}:\n        type: chat\n        engine: { kind: script, start: ${script}, pidFile: ${join(lab.dir, 'leaky.pid')}, logFile: ${join(lab.dir, 'leaky.log')} }\n        health: { url: "http://127.0.0.1:1/health", startTimeout: 5s }\n`,
  );
  writeFileSync(lab.configFile, config);
  Object.assign(lab.env, {
    LABOPS_REDIS_URL: `redis://:${encodeURIComponent(SECRETS.redisPassword)}@127.0.0.1:${redis.port}`,
    DISCORD_TOKEN: '',
    LITELLM_MASTER_KEY: SECRETS.master,
    LITELLM_SALT_KEY: SECRETS.salt,
    LITELLM_DATABASE_URL: `postgres://llm:${encodeURIComponent(SECRETS.dbPassword)}@127.0.0.1:1/litellm`,
    LABOPS_LOG_LEVEL: 'debug',
  });
  worker = await startWorkerProcess(lab, 'gpu-1', {}, lab.env.LABOPS_REDIS_URL);
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await lab?.dispose();
  await redis?.stop();
});

async function runRedis(args: string[]): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  try {
    await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function exec(line: string, env: NodeJS.ProcessEnv = lab.env, flags: string[] = []): Promise<CliResult> {
  const result = await runCli(['exec', line, ...flags], { ...env, DISCORD_TOKEN: SECRETS.token }, { timeoutMs: 40_000 });
  outputs.push(result.stdout, result.stderr);
  return result;
}

describe('secrets never leave', () => {
  it('a model that fails and prints its environment shows no secret in its log lines', async () => {
    const started = await exec(`/start ${LEAKY}`, lab.env, ['--json']);
    expect(started.code).toBe(1);
    expect(started.stdout).toContain('model failed to load');
    expect(started.stdout).toContain('PATH=');
    expect(started.stdout).not.toContain('LITELLM_MASTER_KEY');
    expect(started.stdout).not.toContain('LABOPS_REDIS_URL');
    outputs.push(readFileSync(join(lab.dir, 'leaky.log'), 'utf8'));
  });

  it('a running model server was given none of labops\' secrets', async () => {
    expect((await exec(`/start ${OK}`)).code).toBe(0);
    const [pid] = await waitFor(() => (lab.servers(OK).length > 0 ? lab.servers(OK) : null), 10_000, 'the model server');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    outputs.push(environ.join('\n'));
    expect(environ.some((v) => v.startsWith('PATH='))).toBe(true);
    expect(environ.filter((v) => /^(LITELLM_|LABOPS_|DISCORD_)/.test(v))).toEqual([]);
  });

  it('failures that name URLs and keys say what failed without the secret', async () => {
    const badRedis = await exec('/status', { ...lab.env, LABOPS_REDIS_URL: `redis://:${SECRETS.wrongRedisPassword}@127.0.0.1:${redis.port}` });
    expect(badRedis.code).toBe(1);
    const badDb = await exec('/log', { ...lab.env, LABOPS_DATABASE_URL: `postgres://postgres:${encodeURIComponent(SECRETS.dbPassword)}@127.0.0.1:1/labops` });
    expect(badDb.code).toBe(1);
    expect(badDb.stdout).toContain('postgres://postgres:***@127.0.0.1:1/labops');
    const unparsable = await exec('/status', { ...lab.env, LITELLM_DATABASE_URL: `postgres://llm:${SECRETS.dbPassword}@127.0.0.1:1/litellm` });
    expect(unparsable.code).toBe(2);
    await exec(`/log n:5 host:${SECRETS.master}`);
    const check = await runCli(['config', 'check', lab.configFile], { ...lab.env, LITELLM_DATABASE_URL: `postgres://x:${SECRETS.dbPassword}@h/db` });
    outputs.push(check.stdout, check.stderr);
  }, 120_000);

  it('nothing anywhere holds a secret: replies, log lines, audit rows, model environments', async () => {
    outputs.push(worker.stdout, worker.stderr);
    outputs.push(JSON.stringify(await auditRows(lab)));
    const everything = outputs.join('\n');
    expect(everything.length).toBeGreaterThan(1_000);
    for (const [kind, secret] of Object.entries(SECRETS)) {
      for (const form of new Set([secret, encodeURIComponent(secret)])) {
        expect(everything.includes(form), `${kind} (${form}) leaked`).toBe(false);
      }
    }
  });
});
