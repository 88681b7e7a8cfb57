import { constants } from 'node:fs';
import { access, link, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { EngineConfig } from '../config/schema.js';
import { errorMessage, failedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { run } from '../process/spawn.js';
import { said, type Env } from './command.js';
import { engineEnv } from './environment.js';
import { spawnDetached } from '../process/spawn.js';
import type { Engine, EngineState } from './engine.js';
import { bootTimeMs, isAlive, procStat, processTree, type ProcessList } from '../host/proc.js';
import { sleep } from '../core/sleep.js';
import { tailFile } from '../core/tail.js';

type ScriptConfig = Extract<EngineConfig, { kind: 'script' }>;

export interface ScriptOptions {
  config: ScriptConfig;
  /** where the engine is in the config (`hosts.gpu-1.models.chat-x.engine`), for messages about its paths */
  configKey?: string;
  logger: Logger;
  env?: Env;
  /** where the log goes when the config names no logFile */
  defaultLogFile: string;
}

const POLL_MS = 100;
const FIX_HINT = 'Fix the path in labops.yaml, or put the script there. On a GPU host, `labops init` writes a labops.yaml from what runs there.';
const KILL_WAIT_MS = 3_000;

/**
 * A start script (and optional stop script) with a pid file, like `bin/start_llamacpp.sh`.
 *
 * The pid file is trusted while its pid is alive, whatever that process's command line is: start
 * scripts often `exec` into the server or background it, so the command line cannot prove that a
 * process is or is not ours. A pid file written before the last boot is stale, which covers the
 * common case of a pid reused after a reboot.
 */
export class ScriptEngine implements Engine {
  readonly kind = 'script' as const;
  readonly cwd: string;
  readonly startPath: string;
  readonly stopPath: string | undefined;
  readonly pidFile: string;
  readonly logFile: string;

  constructor(private readonly opts: ScriptOptions) {
    const c = opts.config;
    this.cwd = resolve(c.cwd ?? process.cwd());
    this.startPath = resolve(this.cwd, c.start);
    this.stopPath = c.stop === undefined ? undefined : resolve(this.cwd, c.stop);
    this.pidFile = resolve(this.cwd, c.pidFile);
    this.logFile = resolve(this.cwd, c.logFile ?? opts.defaultLogFile);
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if ((await this.state(signal)).state === 'running') return;
    await mkdir(dirname(this.pidFile), { recursive: true });
    await mkdir(dirname(this.logFile), { recursive: true });
    await rm(this.pidFile, { force: true });

    await this.checkRunnable();
    const log = await open(this.logFile, 'a');
    let pid: number;
    try {
      pid = await spawnDetached(this.startPath, this.opts.config.args, { cwd: this.cwd, env: this.env(), logFd: log.fd });
    } catch (err) {
      throw await this.cannotRun(err);
    } finally {
      await log.close();
    }
    // a script that writes its own pid file (the server's pid) wins, before or after this
    await createExclusive(this.pidFile, `${pid}\n`);
    this.opts.logger.info({ pid, script: this.startPath, log: this.logFile }, 'started script');
  }

  /** A missing folder or script is named with the config key that names it, not as a spawn error. */
  private async checkRunnable(): Promise<void> {
    const key = this.opts.configKey ?? 'engine';
    const folder = await stat(this.cwd).catch(() => null);
    if (!folder?.isDirectory()) {
      throw failedError(`${key}.cwd: ${this.cwd} ${folder ? 'is not a folder' : 'does not exist'}.`, FIX_HINT);
    }
    const script = await stat(this.startPath).catch(() => null);
    if (!script) throw failedError(`${key}.start: ${this.startPath} does not exist.`, FIX_HINT);
    if (script.isDirectory()) throw failedError(`${key}.start: ${this.startPath} is a folder, not a program.`, FIX_HINT);
    try {
      await access(this.startPath, constants.X_OK);
    } catch {
      throw failedError(`${key}.start: ${this.startPath} is not executable.`, `Make it executable: chmod +x ${this.startPath}`);
    }
  }

  /** The file is there and executable, yet it did not start: most often its #! interpreter is missing. */
  private async cannotRun(err: unknown): Promise<Error> {
    const key = this.opts.configKey ?? 'engine';
    const code = (err as { code?: string }).code ?? /\b(ENOENT|EACCES|ENOEXEC|E2BIG)\b/.exec(errorMessage(err))?.[1];
    if (code === 'ENOENT') {
      const firstLine = (await readFile(this.startPath, 'utf8').catch(() => '')).split('\n')[0] ?? '';
      const interpreter = firstLine.startsWith('#!') ? firstLine.slice(2).trim() : '';
      return failedError(`${key}.start: ${this.startPath} cannot be run: ${interpreter ? `its interpreter (${interpreter}) was not found` : 'a file it needs was not found'}.`);
    }
    return failedError(`${key}.start: ${this.startPath} cannot be run${code ? ` (${code})` : ''}.`);
  }

  async stop(signal: AbortSignal): Promise<void> {
    const found = await this.find();
    if (found && found.pids.length > 0) {
      const stopped = (this.stopPath && (await this.runStopScript(found.pids, signal))) || (await this.terminate(found.pids, found.pgrp, signal));
      if (!stopped) throw failedError(`Processes ${found.pids.join(', ')} of ${this.startPath} did not exit after SIGKILL.`);
    }
    await rm(this.pidFile, { force: true });
  }

  async state(_signal?: AbortSignal, procs?: ProcessList): Promise<EngineState> {
    const found = await this.find(procs);
    if (!found) return { state: 'stopped', pids: [] };
    if (found.stale) return { state: 'stopped', pids: [], detail: `stale pid file (${found.stale})` };
    if (found.pids.length === 0) return { state: 'stopped', pids: [], detail: `not running (stale pid file, pid ${found.pid})` };
    return { state: 'running', pids: found.pids };
  }

  async logs(lines: number): Promise<string[]> {
    return tailFile(this.logFile, lines);
  }

  /** The pid from the pid file and the processes that belong to it. */
  private async find(procs?: ProcessList): Promise<{ pid: number; pgrp: number | undefined; pids: number[]; stale?: string } | null> {
    const pid = await this.readPid();
    if (pid === null) return null;
    const boot = await bootTimeMs();
    const written = (await stat(this.pidFile).catch(() => null))?.mtimeMs;
    if (boot !== null && written !== undefined && written < boot) return { pid, pgrp: undefined, pids: [], stale: 'written before the last boot' };

    const alive = await isAlive(pid);
    // a dead leader's group may live on: a script that backgrounds the server and exits
    const group = alive ? (await procStat(pid))?.pgrp : pid;
    const own = (await procStat(process.pid))?.pgrp;
    const pgrp = group !== undefined && group > 1 && group !== own ? group : undefined;
    // a list read before this pid was born does not know it: read /proc again
    const shared = procs ? await procs() : undefined;
    const list = shared && (!alive || shared.some((p) => p.pid === pid)) ? shared : undefined;
    return { pid, pgrp, pids: await processTree(alive ? [pid] : [], pgrp, list) };
  }

  /** An empty pid file is being written (`echo $! > pid` truncates first): read it again shortly. */
  private async readPid(): Promise<number | null> {
    for (let attempt = 0; ; attempt++) {
      let text: string;
      try {
        text = (await readFile(this.pidFile, 'utf8')).trim();
      } catch {
        return null;
      }
      if (text === '' && attempt < 3) {
        await sleep(30);
        continue;
      }
      const pid = Number.parseInt(text, 10);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    }
  }

  private async runStopScript(pids: number[], signal: AbortSignal): Promise<boolean> {
    const timeoutMs = this.opts.config.stopTimeout;
    const result = await run(this.stopPath!, [], { cwd: this.cwd, env: this.env(), signal, timeoutMs });
    if (result.exitCode !== 0) {
      const what = result.missing ? `${this.opts.configKey ?? 'engine'}.stop: ${this.stopPath} does not exist` : said(result);
      this.opts.logger.warn({ script: this.stopPath, said: what }, 'stop script failed; sending signals instead');
      return false;
    }
    return waitGone(pids, timeoutMs, signal);
  }

  /** SIGTERM to the group and every process of the model, SIGKILL after `stopTimeout`. */
  private async terminate(pids: number[], pgrp: number | undefined, signal: AbortSignal): Promise<boolean> {
    send(pids, pgrp, 'SIGTERM');
    if (await waitGone(pids, this.opts.config.stopTimeout, signal)) return true;
    this.opts.logger.warn({ pids, script: this.startPath }, 'still running after stopTimeout; sending SIGKILL');
    send(pids, pgrp, 'SIGKILL');
    return waitGone(pids, KILL_WAIT_MS, signal);
  }

  private env(): Env {
    return { ...(this.opts.env ?? engineEnv()), ...this.opts.config.env };
  }
}

/** Creates the file with its content in one step (a link), and leaves an existing one alone. */
async function createExclusive(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

function send(pids: number[], pgrp: number | undefined, sig: NodeJS.Signals): void {
  const targets = pgrp === undefined ? pids : [-pgrp, ...pids];
  for (const target of targets) {
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  }
}

async function waitGone(pids: number[], timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(pids.map(isAlive));
    if (!alive.includes(true)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS, signal);
  }
}
