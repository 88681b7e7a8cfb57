/**
 * A lab of several hosts on a network, with real processes: a redis-server of the test's own with
 * `--requirepass` and (where this machine's build has it) a TLS port that wants client
 * certificates, from a CA made now with openssl; a worker for gpu-1 on the plain port, a worker
 * for gpu-2 with its own config that reaches Redis only over TLS, and `labops bot` (the shell, as
 * no Discord token is set) printing the alerts it receives.
 *
 * Keys: K1 is the lab's key, K2 the one it is moving to. The bot is in step 1 of a rotation (signs
 * with K1, accepts K2), gpu-2 in step 2 (signs with K2, accepts K1), gpu-1 not yet touched (K1).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createEnvelope, checkEnvelope } from '../src/contracts/job-envelope.js';
import { statusSnapshot } from '../src/contracts/status-snapshot.js';
import { silentLogger } from '../src/core/logger.js';
import { SigningKeys } from '../src/core/signing-keys.js';
import { signNotice } from '../src/notify/signed-notice.js';
import { JobClient } from '../src/queue/job-client.js';
import { commandClient } from '../src/redis/connection.js';
import { CliProcess, runCli, type CliResult } from './support/cli.js';
import { createTestLab, DATABASE_URL, type TestLab } from './support/env.js';
import { startOwnRedis, type OwnRedis } from './support/redis-server.js';
import { makeTestCa, type TestCa } from './support/test-ca.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const KX = randomBytes(32).toString('base64');
const REDIS_PASSWORD = randomBytes(24).toString('hex');
const SECRETS = { K1, K2, KX, REDIS_PASSWORD };

const ADAM = { id: '400000000000000004', name: 'adam', role: 'admin', adapter: 'discord', channel: 'ops' };
const OLGA = { id: '400000000000000002', name: 'olga', role: 'operator', adapter: 'discord', channel: 'ops' };

let ca: TestCa;
let redis: OwnRedis;
let lab: TestLab;
let admin: Redis;
let botEnv: NodeJS.ProcessEnv;
let bot: CliProcess;
let worker1: CliProcess;
let worker2: CliProcess;
const queues: Queue[] = [];
/** everything any process printed, checked for secrets at the end */
const outputs: string[] = [];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const exec = async (args: string[], env: NodeJS.ProcessEnv = botEnv): Promise<CliResult> => {
  const result = await runCli(args, env, { timeoutMs: 30_000 });
  outputs.push(result.stdout, result.stderr);
  return result;
};

function queue(name: string): Queue {
  const q = new Queue(name, { connection: admin, prefix: lab.prefix });
  queues.push(q);
  return q;
}

async function startWorker(host: string, env: NodeJS.ProcessEnv): Promise<CliProcess> {
  const worker = new CliProcess(['worker', '--host', host], env);
  const started = Date.now();
  for (;;) {
    if (worker.child.exitCode !== null) throw new Error(`worker ${host} exited (${worker.child.exitCode}): ${worker.stderr}`);
    const [beat, pid] = await admin.hmget(`${lab.prefix}:heartbeat:${host}`, 'lastBeat', 'pid');
    if (Number(beat) >= started && Number(pid) === worker.child.pid) break;
    if (Date.now() - started > 20_000) throw new Error(`worker ${host} did not heartbeat within 20 s: ${worker.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return worker;
}

async function auditRow(jobId: string): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT * FROM ${pg.escapeIdentifier(lab.schema)}.audit_log WHERE job_id = $1`, [jobId]);
    return rows[0] as Record<string, unknown> | undefined;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  lab = createTestLab({
    hosts: {
      'gpu-1': { gpu: { enabled: false }, models: {} },
      'gpu-2': {
        gpu: { enabled: false },
        models: { 'chat-big': { type: 'chat', engine: { kind: 'script', cwd: 'DIR', start: 'bin/start.sh', pidFile: 'run/big.pid' }, vramMiB: 1000 } },
      },
      // no worker: where a deduplicated submit is looked at
      'gpu-3': { gpu: { enabled: false }, models: {} },
    },
  });
  ca = makeTestCa(join(lab.dir, 'ca'), ['redis.lab.test']);
  redis = await startOwnRedis(REDIS_PASSWORD, ca);
  // never silent: the reason is in the test output
  if (redis.tlsSkipped) console.warn(`multi-host.test: TLS NOT TESTED — ${redis.tlsSkipped}`);

  // the script would leave this file if it ever ran
  mkdirSync(join(lab.dir, 'bin'));
  writeFileSync(join(lab.dir, 'bin/start.sh'), `#!/bin/sh\ntouch ${join(lab.dir, 'STARTED')}\nsleep 60\n`);
  chmodSync(join(lab.dir, 'bin/start.sh'), 0o755);
  const hosts = lab.config.hosts as Record<string, { models: Record<string, { engine: { cwd?: string } }> }>;
  hosts['gpu-2']!.models['chat-big']!.engine.cwd = lab.dir;

  const security = { jobKey: 'env:LABOPS_JOB_KEY', previousJobKey: 'env:LABOPS_PREVIOUS_JOB_KEY', maxJobAge: '1m' };
  const plainRedis = { url: `redis://127.0.0.1:${redis.port}`, password: 'env:LAB_REDIS_PASSWORD', prefix: lab.prefix };
  writeFileSync(lab.configFile, stringify({ ...lab.config, redis: plainRedis, security }));
  // gpu-2 has its own labops.yaml, as a GPU host does: Redis over TLS with a client certificate
  const gpu2Config = join(lab.dir, 'gpu-2.yaml');
  const tlsRedis = redis.tlsPort
    ? { url: `rediss://127.0.0.1:${redis.tlsPort}`, password: 'env:LAB_REDIS_PASSWORD', prefix: lab.prefix, tls: { ca: ca.ca, cert: ca.clientCert, key: ca.clientKey, servername: 'redis.lab.test' } }
    : plainRedis;
  writeFileSync(gpu2Config, stringify({ ...lab.config, redis: tlsRedis, security }));

  admin = new Redis({ port: redis.port, host: '127.0.0.1', password: REDIS_PASSWORD, maxRetriesPerRequest: null });
  const base = { ...lab.env, LAB_REDIS_PASSWORD: REDIS_PASSWORD, LABOPS_REDIS_URL: '', LABOPS_LOG_LEVEL: 'warn' };
  botEnv = { ...base, LABOPS_JOB_KEY: K1, LABOPS_PREVIOUS_JOB_KEY: K2 };
  [worker1, worker2] = await Promise.all([
    startWorker('gpu-1', { ...base, LABOPS_JOB_KEY: K1, LABOPS_PREVIOUS_JOB_KEY: '' }),
    startWorker('gpu-2', { ...base, LABOPS_CONFIG: gpu2Config, LABOPS_JOB_KEY: K2, LABOPS_PREVIOUS_JOB_KEY: K1 }),
  ]);
  bot = new CliProcess(['bot'], botEnv);
  await bot.waitFor(/labops> /);
});

afterAll(async () => {
  await bot?.stop();
  await Promise.all([worker1?.stop(), worker2?.stop()]);
  for (const p of [bot, worker1, worker2]) if (p) outputs.push(p.stdout, p.stderr);
  await Promise.allSettled(queues.map((q) => q.close()));
  admin?.disconnect();
  await redis?.stop();
  await lab?.cleanup();
});

describe('a lab on a network: Redis with a password and TLS, signed jobs', () => {
  it('Redis answers only a client that logs in (and, on the TLS port, shows a certificate of the lab\'s CA)', async () => {
    const anonymous = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on('error', () => undefined);
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    if (redis.tlsPort) {
      const noCert = commandClient({ url: `rediss://127.0.0.1:${redis.tlsPort}`, password: REDIS_PASSWORD, tls: { ca: ca.ca, servername: 'redis.lab.test' } });
      noCert.on('error', () => undefined);
      await expect(noCert.ping()).rejects.toThrow();
      noCert.disconnect();
    }
    // a wrong password is told as such, and shown nowhere
    const wrong = await exec(['exec', '/status'], { ...botEnv, LAB_REDIS_PASSWORD: 'not-the-password-1234' });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout + wrong.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ refused the login: WRONGPASS/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password-1234');
  });

  it('signed jobs run on both hosts: /status through the authenticated (and TLS) Redis, and it says jobs are signed', async () => {
    const result = await exec(['exec', '/status', '--json']);
    expect(result.code).toBe(0);
    const { data } = JSON.parse(result.stdout) as {
      data: { hosts: { host: string; snapshot: unknown; problem: string | null }[]; security: Record<string, unknown> };
    };
    const byHost = Object.fromEntries(data.hosts.map((h) => [h.host, h]));
    expect(byHost['gpu-1']).toMatchObject({ problem: null, snapshot: expect.anything() });
    expect(byHost['gpu-2']).toMatchObject({ problem: null, snapshot: expect.anything() });
    expect(byHost['gpu-3']).toMatchObject({ snapshot: null, problem: 'no worker has reported yet' });
    const [k1, k2] = [new SigningKeys(K1).kid, new SigningKeys(K2).kid];
    expect(data.security).toEqual({
      jobSigning: 'on',
      keyId: k1,
      previousKeyAccepted: true,
      droppedNotices: 0,
      unsignedWorkers: [],
      // what each worker says it accepts: the way to follow a rotation
      workerKeys: { 'gpu-1': k1, 'gpu-2': `${k2}+${k1}` },
    });
  });

  it('a job put on the queue directly is refused without running unless the bot signed it: audited with what it claimed, alerted', async () => {
    const gpu2 = queue('host.gpu-2');
    const forgedAdmin = { payload: { model: 'chat-big', force: true }, requestedBy: ADAM };
    const signed = (keys: SigningKeys, jobId: string, createdAt = Date.now()) =>
      createEnvelope(keys, { kind: 'model.start', host: 'gpu-2', jobId, createdAt, requestedBy: OLGA, payload: { model: 'chat-big', force: false } });
    const cases: { jobId: string; data: unknown; reason: string }[] = [
      { jobId: 'forged-unsigned', data: forgedAdmin, reason: 'not signed' },
      { jobId: 'forged-stranger', data: { ...signed(new SigningKeys(KX), 'forged-stranger'), requestedBy: ADAM }, reason: `signed with an unknown key (key id ${new SigningKeys(KX).kid})` },
      {
        jobId: 'forged-role',
        data: { ...signed(new SigningKeys(K1), 'forged-role'), requestedBy: { ...OLGA, role: 'admin' }, payload: { model: 'chat-big', force: true } },
        reason: 'the signature does not match the content (altered after signing)',
      },
      { jobId: 'replayed', data: signed(new SigningKeys(K1), 'replayed', Date.now() - 61_000), reason: 'too old: signed 1 min ' },
    ];
    const from = bot.stdout.length;
    for (const c of cases) await gpu2.add('model.start', c.data, { jobId: c.jobId, attempts: 3 });

    for (const c of cases) {
      await expect.poll(async () => (await Job.fromId(gpu2, c.jobId))?.failedReason ?? '', { timeout: 15_000 }).toMatch(/bad signature/);
      const job = (await Job.fromId(gpu2, c.jobId))!;
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(1); // not retried, though 3 attempts were allowed
      expect(job.failedReason).toContain(`The worker on gpu-2 refused job ${c.jobId} (model.start): bad signature`);
      await expect.poll(() => auditRow(c.jobId), { timeout: 10_000 }).toBeDefined();
      const row = (await auditRow(c.jobId))!;
      expect(row).toMatchObject({ outcome: 'refused', host: 'gpu-2', command: 'model.start' });
      expect(row.error).toMatch(new RegExp(`^bad signature: ${escape(c.reason)}`));
      // what it claimed, as claimed
      const claimed = (c.data as { requestedBy: typeof ADAM }).requestedBy;
      expect(row).toMatchObject({ actor_name: claimed.name, role: claimed.role });
    }
    expect((await auditRow('forged-unsigned'))!.args).toEqual({ model: 'chat-big', force: true });
    // raised by gpu-2's worker, signed with its key (K2), posted by the bot (which accepts K2)
    for (const c of cases) await bot.waitFor(new RegExp(`\\[alert\\] ✖ gpu-2 refused a model\\.start job: bad signature — ${escape(c.reason)}`), { from });
    expect(bot.stdout.slice(from)).toMatch(/Refused today: +4/);
    expect(bot.stdout.slice(from)).toMatch(/too old: signed 1 min \d+ s ago, the bound is 1 min \(security\.maxJobAge\)/);
    expect(existsSync(join(lab.dir, 'STARTED'))).toBe(false);
    expect(existsSync(join(lab.dir, 'run/big.pid'))).toBe(false);
    const logLine = worker2.stderr.split('\n').find((l) => l.includes('refused job forged-unsigned'));
    expect(logLine).toContain('"claimedRole":"admin"');
    expect(logLine).toContain('refused job forged-unsigned (model.start): bad signature — not signed');
  });

  it('a job signed with the lab\'s key runs even when put on the queue directly; a copy of it under another id does not', async () => {
    const gpu2 = queue('host.gpu-2');
    const data = createEnvelope(new SigningKeys(K1), { kind: 'status.snapshot', host: 'gpu-2', jobId: 'signed-direct', createdAt: Date.now(), requestedBy: OLGA, payload: {} });
    await gpu2.add('status.snapshot', data, { jobId: 'signed-direct' });
    await expect.poll(async () => await (await Job.fromId(gpu2, 'signed-direct'))?.getState(), { timeout: 15_000 }).toBe('completed');
    await gpu2.add('status.snapshot', data, { jobId: 'copied' });
    await expect.poll(async () => (await Job.fromId(gpu2, 'copied'))?.failedReason ?? '', { timeout: 15_000 }).toMatch(/signed as job signed-direct, queued as job copied \(a copy\)/);
    // and one for gpu-2 moved to gpu-1's queue
    const gpu1 = queue('host.gpu-1');
    await gpu1.add('status.snapshot', { ...data, jobId: 'moved' }, { jobId: 'moved' });
    await expect.poll(async () => (await Job.fromId(gpu1, 'moved'))?.failedReason ?? '', { timeout: 15_000 }).toMatch(/bad signature — (signed for host gpu-2, not gpu-1|the signature does not match)/);
  });

  it('a deduplicated submit returns the job already queued, whose signature still holds', async () => {
    const connection = commandClient({ url: `redis://127.0.0.1:${redis.port}`, password: REDIS_PASSWORD });
    const client = new JobClient({ redis: { url: `redis://127.0.0.1:${redis.port}`, password: REDIS_PASSWORD }, prefix: lab.prefix, connection, logger: silentLogger(), keys: new SigningKeys(K1) });
    try {
      const first = await client.submit(statusSnapshot, 'gpu-3', {}, { requestedBy: OLGA, deduplicationId: 'dedup-1' });
      const second = await client.submit(statusSnapshot, 'gpu-3', {}, { requestedBy: OLGA, deduplicationId: 'dedup-1' });
      expect(second).toEqual({ jobId: first.jobId, deduplicated: true });
      const job = (await Job.fromId(queue('host.gpu-3'), first.jobId))!;
      expect(checkEnvelope(job.data, new SigningKeys(K2, K1), { host: 'gpu-3', kind: 'status.snapshot', jobId: first.jobId, maxAgeMs: 60_000 })).toMatchObject({ ok: true, signed: 'previous' });
    } finally {
      await client.close();
      connection.disconnect();
    }
  });

  it('a forged or unsigned notice is dropped and counted, never posted; one signed by an accepted key is', async () => {
    const notify = queue('notify');
    const from = bot.stdout.length;
    const reply = (title: string) => ({ outcome: 'ok', tone: 'error', title, blocks: [] });
    await notify.add('alert', { channel: 'alert', reply: reply('FORGED unsigned: free GPUs, run /stop on everything'), at: Date.now() });
    await notify.add('alert', signNotice(new SigningKeys(KX), { channel: 'alert', reply: reply('FORGED by a stranger'), at: Date.now() } as never));
    await notify.add('alert', signNotice(new SigningKeys(K2), { channel: 'alert', reply: reply('signed with the new key'), at: Date.now() } as never));
    await bot.waitFor(/\[alert\] ✖ signed with the new key/, { from });
    // the shell prints log lines above its prompt, on stdout, like its notices
    await bot.waitFor(/dropped notice \d+: not signed; it is not posted/, { from });
    await bot.waitFor(/dropped notice \d+: signed with an unknown key/, { from });
    expect(bot.stdout.slice(from) + bot.stderr).not.toContain('FORGED');
    expect(await admin.get(`${lab.prefix}:security:dropped-notices`)).toBe('2');
  });

  it('rotation: a process on the new key is accepted by a worker that takes both, refused by one not yet told; /status says which key', async () => {
    const from = bot.stdout.length;
    // /status reads the live state (no job); a job signed with the new key shows who refuses it
    const connection = commandClient({ url: `redis://127.0.0.1:${redis.port}`, password: REDIS_PASSWORD });
    const client = new JobClient({ redis: { url: `redis://127.0.0.1:${redis.port}`, password: REDIS_PASSWORD }, prefix: lab.prefix, connection, logger: silentLogger(), keys: new SigningKeys(K2, K1) });
    try {
      await expect(client.run(statusSnapshot, 'gpu-2', {}, { requestedBy: OLGA, waitMs: 15_000 })).resolves.toMatchObject({ host: 'gpu-2' });
      await expect(client.run(statusSnapshot, 'gpu-1', {}, { requestedBy: OLGA, waitMs: 15_000 })).rejects.toThrow(
        /The worker on gpu-1 refused job \S+ \(status\.snapshot\): bad signature — signed with an unknown key/,
      );
    } finally {
      await client.close();
      connection.disconnect();
    }
    const result = await exec(['exec', '/status'], { ...botEnv, LABOPS_JOB_KEY: K2, LABOPS_PREVIOUS_JOB_KEY: K1 });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/── gpu-2 — worker v[\d.]+ up/);
    expect(result.stdout).toContain(`Jobs: signed (HMAC-SHA-256, key ${new SigningKeys(K2).kid}, previous key still accepted)`);
    expect(result.stdout).toContain('⚠ 2 notices dropped: not signed by this lab\'s key');
    const [k1, k2] = [new SigningKeys(K1).kid, new SigningKeys(K2).kid];
    expect(result.stdout).toContain(`Worker keys: gpu-1 ${k1} · gpu-2 ${k2} (also accepts ${k1})`);
    // gpu-1 (K1) alerts; the bot (K1) posts it
    await bot.waitFor(/\[alert\] ✖ gpu-1 refused a status\.snapshot job: bad signature — signed with an unknown key/, { from });
  });

  it('a config of several hosts does not start without a key, and says which variable to set', async () => {
    const env = { ...botEnv, LABOPS_JOB_KEY: '', LABOPS_PREVIOUS_JOB_KEY: '' };
    const results = await Promise.all([['worker', '--host', 'gpu-1'], ['bot'], ['all', '--host', 'gpu-1'], ['exec', '/status']].map((args) => exec(args, env)));
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/this config has 3 hosts \(gpu-1, gpu-2, gpu-3\), so jobs must be signed, and no key is set: set LABOPS_JOB_KEY \(security\.jobKey\)/);
    }
  });

  it('no key or password reached a log line or a message', async () => {
    for (const p of [bot, worker1, worker2]) outputs.push(p.stdout, p.stderr);
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(`SELECT * FROM ${pg.escapeIdentifier(lab.schema)}.audit_log`);
    await client.end();
    outputs.push(JSON.stringify(rows));
    const everything = outputs.join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const [name, secret] of Object.entries(SECRETS)) expect(everything.includes(secret), `${name} appears in the output`).toBe(false);
  });
});
