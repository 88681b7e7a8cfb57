import { parseArgs } from 'node:util';
import { startFakeLiteLLM } from './litellm-stand-in.js';

/**
 * The LiteLLM stand-in as a process of its own (the demo's `litellm` model, a test's proxy unit):
 * `node litellm-stand-in-main.js --port <n> --config <config.yaml> [--database-url <url>]`, the keys
 * from LITELLM_MASTER_KEY and LITELLM_SALT_KEY, the database also from LITELLM_DATABASE_URL. It
 * stops on SIGTERM or SIGINT.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      config: { type: 'string' },
      'database-url': { type: 'string' },
      // on the command line only, so the process can be found (and cleaned up) by it
      tag: { type: 'string' },
    },
  });
  const masterKey = process.env.LITELLM_MASTER_KEY;
  if (!masterKey) throw new Error('LITELLM_MASTER_KEY is not set');
  const proxy = await startFakeLiteLLM({
    masterKey,
    saltKey: process.env.LITELLM_SALT_KEY || undefined,
    configPath: values.config,
    databaseUrl: values['database-url'] ?? process.env.LITELLM_DATABASE_URL,
    port: values.port ? Number(values.port) : 0,
    watchConfig: true,
  });
  process.stdout.write(`LiteLLM stand-in (not a proxy) listening on ${proxy.url}\n`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`LiteLLM stand-in: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
