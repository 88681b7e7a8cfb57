import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Inventory } from '../config/inventory.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { usageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { safeUrl } from '../core/redact.js';
import { createEngine, waitHealthy } from '../engines/index.js';
import { commandClient, ensureRedis, redisTarget } from '../redis/connection.js';
import { deletePrefix } from '../redis/delete-prefix.js';
import { CLOUD, DEMO_HOST, EMBEDDER, HERMES, labopsConfig, labopsConfigPath, litellmConfig, litellmConfigPath, OLD_NAME, PROXY, STARTED_AT_LAUNCH, VISION, type DemoPorts } from './lab.js';
import { endTagged } from './processes.js';
import { resetDemoDatabase, withSearchPath } from './seed.js';

export interface RunningDemo {
  /** the demo's labops.yaml, for `LABOPS_CONFIG=… labops exec` from another terminal */
  configFile: string;
  config: Config;
  /** what the demo says before the shell opens */
  intro: string;
  /** stops every process the demo's lab runs (the models started since included) */
  stop(): Promise<void>;
}

/** Variables that would point the demo's processes at the real lab's keys and tables. */
const OVERRIDES = ['LABOPS_REDIS_URL', 'LABOPS_REDIS_PREFIX', 'LABOPS_DATABASE_URL', 'LABOPS_DATABASE_SCHEMA'];

/**
 * `labops demo`: a whole lab on this machine, made fresh on every run from the Redis and PostgreSQL
 * of `base` (its own key prefix and schemas): the LiteLLM stand-in, a chat model, an embedder and a
 * "vision" model run by script engines, and LiteLLM's database and config.yaml seeded with the
 * incident. Leftovers of an earlier run in `dir` are stopped and removed first.
 */
export async function startDemo(base: Config, opts: { dir?: string; logger: Logger; signal?: AbortSignal }): Promise<RunningDemo> {
  assertPlainConnections(base);
  const dir = resolve(opts.dir ?? join(tmpdir(), `labops-demo-${userInfo().uid}`));
  const tag = demoTag(dir);
  await endTagged(tag);
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ['litellm', 'run', 'logs']) mkdirSync(join(dir, sub), { recursive: true });

  const ports: DemoPorts = { proxy: await freePort(), hermes: await freePort(), embedder: await freePort(), vision: await freePort() };
  const schemas = { labops: `${base.database.schema}_demo`, litellm: `${base.database.schema}_demo_litellm` };
  const redisPrefix = `${base.redis.prefix}-demo`;
  const litellmDbUrl = withSearchPath(base.database.url, schemas.litellm);
  await resetDemoDatabase(base.database.url, schemas, `http://127.0.0.1:${ports.vision}/v1`);
  await deleteKeys(base, redisPrefix);

  const configFile = labopsConfigPath(dir);
  writeFileSync(litellmConfigPath(dir), litellmConfig(ports));
  const discord = base.discord.token ? { token: 'env:DISCORD_TOKEN', ...discordIds(base) } : {};
  writeFileSync(configFile, labopsConfig({ dir, tag, ports, redisUrl: base.redis.url, redisPrefix, databaseUrl: base.database.url, schema: schemas.labops, litellmDbUrl, discord, roles: base.discord.token ? { ...base.roles } : {} }));
  const env = { ...process.env };
  for (const name of OVERRIDES) delete env[name];
  const { config } = loadConfig(configFile, env);

  const inventory = new Inventory(config);
  const engines = inventory.models(DEMO_HOST).map((ref) => ({ ref, engine: createEngine(ref, { logger: opts.logger, stateDir: join(dir, 'logs') }) }));
  const stop = async () => {
    const signal = AbortSignal.timeout(20_000);
    await Promise.allSettled(engines.map(({ engine }) => engine.stop(signal)));
    await endTagged(tag);
  };
  try {
    const signal = AbortSignal.any([AbortSignal.timeout(60_000), ...(opts.signal ? [opts.signal] : [])]);
    await Promise.all(
      engines
        .filter(({ ref }) => (STARTED_AT_LAUNCH as readonly string[]).includes(ref.name))
        .map(async ({ ref, engine }) => {
          await engine.start(signal);
          await waitHealthy(ref, engine, { signal });
        }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { configFile, config, intro: intro(configFile, ports, base.database.url, schemas.litellm), stop };
}

/** On the command line of every process the demo's lab in `dir` runs: a later run, or a test, finds them by it. */
export function demoTag(dir: string): string {
  return `labops-demo-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12)}`;
}

function intro(configFile: string, ports: DemoPorts, databaseUrl: string, litellmSchema: string): string {
  return [
    'labops demo — a whole lab on this machine, for trying labops; nothing here touches a real lab.',
    `  ${PROXY}: a LiteLLM stand-in (not a proxy) on http://127.0.0.1:${ports.proxy}, reading schema ${litellmSchema} of ${safeUrl(databaseUrl)}`,
    `  running: ${EMBEDDER}, ${VISION} (tiny model servers, script engines); stopped: ${HERMES} (/start chat-hermes)`,
    `  seeded with the incident: ${VISION}'s provider stored as ciphertext of an old salt key, no admin user,`,
    `  ${OLD_NAME} under its old name while a fallback already names ${HERMES}, ${EMBEDDER} without timeout and rpm;`,
    `  chat-default falls back to ${CLOUD} while the local chat model is off.`,
    'Try /doctor, the /repair lines it names, /smoke, /start chat-hermes, /smoke again (the README\'s first section walks through it).',
    `From another terminal: LABOPS_CONFIG=${configFile} labops exec "/doctor"`,
    '/quit (or Ctrl-C) stops everything the demo started.',
    '',
  ].join('\n');
}

/** The demo writes the URLs into its own labops.yaml: it runs on a development machine's Redis and PostgreSQL, without passwords. */
function assertPlainConnections(base: Config): void {
  const withPassword = (url: string) => {
    try {
      return new URL(url).password !== '';
    } catch {
      return false;
    }
  };
  if (base.redis.password || withPassword(base.redis.url) || withPassword(base.database.url) || base.database.ssl) {
    throw usageError(
      'labops demo runs on a Redis and PostgreSQL of this machine without passwords or TLS, and this configuration has some.',
      'Point it at local ones: LABOPS_REDIS_URL=redis://127.0.0.1:6379 LABOPS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/labops labops demo',
    );
  }
}

function discordIds(base: Config): Record<string, unknown> {
  const { applicationId, guildId, alertChannelId, logChannelId, commandChannelIds } = base.discord as Record<string, unknown>;
  return Object.fromEntries(Object.entries({ applicationId, guildId, alertChannelId, logChannelId, commandChannelIds }).filter(([, v]) => v !== undefined));
}

async function deleteKeys(base: Config, prefix: string): Promise<void> {
  const redis = commandClient(redisTarget(base.redis));
  try {
    await ensureRedis(redis, base.redis.url, 5_000);
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

