#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js';
import { createLogger, type Logger } from './core/logger.js';
import { VERSION } from './core/version.js';
import { EXAMPLE_CONFIG } from './core/paths.js';
import { isUserError, usageError } from './core/errors.js';
import { commandListProblems } from './config/command-lists.js';
import { assertSigningConfigured } from './config/security.js';
import type { AnyCommand } from './chat/command.js';
import type { AnyJob } from './worker/define-job.js';

const USAGE = `labops ${VERSION} — chat-ops for a self-hosted LLM lab

Usage:
  labops [all] [--host <name>]          bot and worker in one process (what npm start runs)
  labops bot                            the chat side: Discord when a token is set, else the local shell
  labops worker --host <name>           the worker of one GPU host
  labops shell [--user <u>] [--role <r>]
                                        an interactive console
  labops exec "<command>" [--as <role>] [--user <u>] [--yes] [--json] [--out <file>]
                                        one command; exit 0 ok, 1 failed or declined, 2 usage or permission;
                                        --out writes the reply's file (the /vram chart, a PNG)
  labops config check [<file>]          validate a config file
  labops demo [--dir <dir>]             a whole lab on this machine (stand-ins seeded with the LiteLLM incident) and the shell on it
  labops init [--out labops.yaml] [--dry-run] [--litellm-config <path>] [--host <name>]
                                        discover this GPU host and write a commented labops.yaml
  labops deploy-commands --guild <id> | --global
                                        register the slash commands with Discord (bulk overwrite)

Options:
  --config <file>   the config (default: $LABOPS_CONFIG, ./labops.yaml, the shipped example)
  -h, --help        this text
  -v, --version     the version`;

type Flags = {
  config?: string;
  host?: string;
  user?: string;
  role?: string;
  as?: string;
  out?: string;
  dir?: string;
  'dry-run'?: boolean;
  'litellm-config'?: string;
  yes?: boolean;
  json?: boolean;
  guild?: string;
  global?: boolean;
  help?: boolean;
  version?: boolean;
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', multiple: true },
        host: { type: 'string', multiple: true },
        user: { type: 'string', multiple: true },
        role: { type: 'string', multiple: true },
        as: { type: 'string', multiple: true },
        yes: { type: 'boolean', short: 'y' },
        json: { type: 'boolean' },
        out: { type: 'string', multiple: true },
        dir: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        'litellm-config': { type: 'string', multiple: true },
        guild: { type: 'string', multiple: true },
        global: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  // a flag given twice is a mistake, not "the last one wins"
  const flags: Flags = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (Array.isArray(value)) {
      if (value.length > 1) return print(`--${name} is given ${value.length} times; give it once.`, 2, true);
      (flags as Record<string, unknown>)[name] = value[0];
    } else (flags as Record<string, unknown>)[name] = value;
  }
  if (flags.as !== undefined && flags.role !== undefined) return print('--as and --role mean the same; give one of them.', 2, true);
  const [verb = 'all', ...rest] = parsed.positionals;
  if (flags.help) return print(USAGE, 0);
  if (flags.version) return print(VERSION, 0);

  if (verb === 'config') {
    if (rest[0] !== 'check') return print(`labops config: expected "check"\n\n${USAGE}`, 2, true);
    const file = rest[1] ?? flags.config;
    const loaded = tryLoad(file);
    if (!loaded) return 2;
    const problems = commandListProblems(loaded.config, (await loadCommands()).map((c) => c.name));
    if (problems.length > 0) return print(`Invalid configuration ${new ConfigError(loaded.file, problems).message}`, 2, true);
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
    const hosts = Object.entries(loaded.config.hosts);
    const unsigned =
      hosts.length > 1 && !loaded.config.security.jobKey
        ? `\nnote: ${hosts.length} hosts and no security.jobKey here (LABOPS_JOB_KEY is not set): the bot and the workers will not start without it`
        : '';
    return print(`${loaded.file}: ok — ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${hosts.reduce((n, [, h]) => n + Object.keys(h.models).length, 0)} models${loaded.warnings.length > 0 ? ` (${loaded.warnings.length} warning${loaded.warnings.length === 1 ? '' : 's'} above)` : ''}${unsigned}`, 0);
  }

  if (verb === 'init') {
    if (rest.length > 0) return print(`labops init: unexpected "${rest.join(' ')}"\n\n${USAGE}`, 2, true);
    const { runInit } = await import('./init/run.js');
    return await runInit({ out: flags.out, dryRun: Boolean(flags['dry-run']), litellmConfig: flags['litellm-config'], host: flags.host });
  }

  const loaded = tryLoad(flags.config);
  if (!loaded) return 2;
  const { config } = loaded;
  // the interactive shell (no Discord token): readable log lines above the prompt, warnings and worse only
  const shellConsole = (verb === 'all' || verb === 'bot' || verb === 'shell' || verb === 'demo') && !config.discord.token;
  const quietConsole = shellConsole && !process.env.LABOPS_LOG_LEVEL;
  const logger = createLogger({
    level: verb === 'exec' || quietConsole ? 'warn' : undefined,
    pretty: shellConsole || (verb === 'exec' && Boolean(process.stderr.isTTY)),
  });
  for (const warning of loaded.warnings) logger.info({ config: loaded.file }, warning);
  if (shellConsole && verb !== 'demo' && loaded.file === EXAMPLE_CONFIG) {
    process.stdout.write(
      'Using the shipped example configuration (examples/labops.yaml). It describes a lab that is not on this machine, so its models will not start here.\n' +
        'On your GPU host, `labops init` writes a labops.yaml from what runs there (see "Start from your own lab" in the README).\n',
    );
  }

  try {
    if (['exec', 'shell', 'worker', 'bot', 'all'].includes(verb)) assertSigningConfigured(config, verb);
    switch (verb) {
      case 'exec':
        return await exec(config, logger, rest, flags);
      case 'shell':
        return await shell(config, logger, flags);
      case 'worker':
        return await worker(config, logger, flags);
      case 'bot':
        return await botAndMaybeWorker(config, logger, flags, false);
      case 'all':
        return await botAndMaybeWorker(config, logger, flags, true);
      case 'demo':
        return await demo(config, logger, flags);
      case 'deploy-commands': {
        const { deployCommands } = await import('./chat/discord/deploy.js');
        return await deployCommands(config, logger, { guild: flags.guild, global: Boolean(flags.global) }, { commands: await loadCommands() });
      }
      default:
        return print(`Unknown verb "${verb}".\n\n${USAGE}`, 2, true);
    }
  } catch (err) {
    if (isUserError(err)) return print(`${err.message}${err.hint ? `\n→ ${err.hint}` : ''}`, err.kind === 'usage' || err.kind === 'permission' ? 2 : 1, true);
    logger.error({ err }, 'labops stopped on an unexpected error');
    return print(`labops stopped on an unexpected error: ${(err as Error).message}`, 1, true);
  }
}

function tryLoad(file?: string): LoadedConfig | null {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Invalid configuration ${err.message}\n`);
      return null;
    }
    throw err;
  }
}

function print(text: string, code: number, toStderr = false): number {
  (toStderr ? process.stderr : process.stdout).write(`${text}\n`);
  return code;
}

async function exec(config: LoadedConfig['config'], logger: Logger, rest: string[], flags: Flags): Promise<number> {
  const line = rest.join(' ').trim();
  if (!line) return print(`labops exec: which command? e.g. labops exec "/status" --as viewer\n\n${USAGE}`, 2, true);
  const [{ localCaller }, { createBotContext }, { runExec }] = await Promise.all([
    import('./chat/shell/local-caller.js'),
    import('./bot/context.js'),
    import('./chat/shell/exec.js'),
  ]);
  const caller = localCaller(config, 'exec', { user: flags.user, role: flags.as ?? flags.role });
  const ctx = await createBotContext(config, logger, await loadCommands(config));
  try {
    return await runExec(ctx, caller, line, { yes: Boolean(flags.yes), json: Boolean(flags.json), ...(flags.out !== undefined ? { out: flags.out } : {}) });
  } finally {
    await ctx.close();
  }
}

async function shell(config: LoadedConfig['config'], logger: Logger, flags: Flags): Promise<number> {
  const [{ localCaller }, { createBotContext }, { runShell }] = await Promise.all([
    import('./chat/shell/local-caller.js'),
    import('./bot/context.js'),
    import('./chat/shell/shell.js'),
  ]);
  const caller = localCaller(config, 'shell', { user: flags.user, role: flags.role ?? flags.as });
  const ctx = await createBotContext(config, logger, await loadCommands(config));
  try {
    await runShell(ctx, caller);
    return 0;
  } finally {
    await ctx.close();
  }
}

function hostFor(config: LoadedConfig['config'], flags: Flags): string {
  return flags.host ?? process.env.LABOPS_HOST ?? Object.keys(config.hosts)[0]!;
}

async function worker(config: LoadedConfig['config'], logger: Logger, flags: Flags): Promise<number> {
  if (!flags.host && !process.env.LABOPS_HOST) return print(`labops worker: which host? --host ${Object.keys(config.hosts).join(' | ')}`, 2, true);
  const { startWorker } = await import('./worker/start.js');
  const { onShutdown } = await import('./core/shutdown.js');
  const running = await startWorker(config, hostFor(config, flags), logger, await loadJobs());
  onShutdown(logger, config.worker.shutdownTimeout + 5_000, [() => running.close()]);
  return await new Promise<number>(() => undefined); // runs until a signal
}

/** `labops demo`: the demo's lab, then bot and worker on it; its lab is stopped last, on /quit or a signal. */
async function demo(config: LoadedConfig['config'], logger: Logger, flags: Flags): Promise<number> {
  const { startDemo } = await import('./demo/run.js');
  // Ctrl-C while the lab starts: what started is stopped before the process ends
  const starting = new AbortController();
  const abort = () => starting.abort();
  process.once('SIGINT', abort).once('SIGTERM', abort);
  let lab;
  try {
    lab = await startDemo(config, { dir: flags.dir, logger, signal: starting.signal });
  } catch (err) {
    process.off('SIGINT', abort).off('SIGTERM', abort);
    if (starting.signal.aborted) return 130;
    throw err;
  }
  process.stdout.write(lab.intro);
  // from here the shutdown handler stops the lab; a signal that came before it is honoured by it
  const signalsTaken = () => {
    process.off('SIGINT', abort).off('SIGTERM', abort);
    return starting.signal.aborted;
  };
  try {
    return await botAndMaybeWorker(lab.config, logger, { ...flags, host: Object.keys(lab.config.hosts)[0] }, true, [() => lab.stop()], signalsTaken);
  } catch (err) {
    await lab.stop();
    throw err;
  }
}

async function botAndMaybeWorker(
  config: LoadedConfig['config'],
  logger: Logger,
  flags: Flags,
  withWorker: boolean,
  closeLast: (() => Promise<void>)[] = [],
  /** called once the shutdown handler is in place; true: a signal came before, so shut down now */
  signalsTaken: () => boolean = () => false,
): Promise<number> {
  const { onShutdown } = await import('./core/shutdown.js');
  // the closers run in order: chat, worker, bot context, then what the caller must close last
  const closers: (() => Promise<void>)[] = [...closeLast];
  const beforeLast = (close: () => Promise<void>) => closers.splice(closers.length - closeLast.length, 0, close);
  const shutdown = onShutdown(logger, config.worker.shutdownTimeout + 5_000, closers);
  if (signalsTaken()) return await shutdown(130);
  const [{ createBotContext }, { startChat }] = await Promise.all([import('./bot/context.js'), import('./bot/chat.js')]);
  if (withWorker) {
    const { startWorker } = await import('./worker/start.js');
    const running = await startWorker(config, hostFor(config, flags), logger, await loadJobs());
    beforeLast(() => running.close());
  }
  const ctx = await createBotContext(config, logger, await loadCommands(config));
  const { serveMetrics } = await import('./core/metrics-server.js');
  const metrics = config.metrics.bot ? await serveMetrics(ctx.metrics.registry, config.metrics.bot, logger, 'bot') : null;
  const chat = await startChat(ctx, config, logger, { user: flags.user, role: flags.role ?? flags.as });
  closers.unshift(() => chat.close());
  beforeLast(async () => await metrics?.close());
  beforeLast(() => ctx.close());
  const code = await chat.done;
  return await shutdown(code);
}

/**
 * The composition root. `commands/` and `jobs/` are loaded by path when a process needs them, the
 * way a plugin folder is: nothing in src/ imports them, the bot never loads the job processors (and
 * with them the engines), and a worker never loads the commands.
 */
async function loadCommands(config?: LoadedConfig['config']): Promise<readonly AnyCommand[]> {
  const { commands } = (await import(new URL('../commands/index.js', import.meta.url).href)) as { commands: readonly AnyCommand[] };
  // config lists of command names are checked against the commands that exist
  const problems = config ? commandListProblems(config, commands.map((c) => c.name)) : [];
  if (problems.length > 0) throw usageError(`Invalid configuration: ${problems.join('; ')}`, 'Fix labops.yaml (`labops config check` shows every problem).');
  return commands;
}

async function loadJobs(): Promise<readonly AnyJob[]> {
  const { jobs } = (await import(new URL('../jobs/index.js', import.meta.url).href)) as { jobs: readonly AnyJob[] };
  return jobs;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // open handles (ioredis reconnect timers) must not keep a finished one-shot command alive
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    process.stderr.write(`labops: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
