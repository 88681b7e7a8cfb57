import type { RunResult } from '../process/spawn.js';
import { failedError, unavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { run } from '../process/spawn.js';
import { outputLines, said, type Env } from './command.js';
import type { Engine, EngineState } from './engine.js';
import { processTree } from '../host/proc.js';

const QUERY_TIMEOUT = 10_000;
const NO_DAEMON = /Cannot connect to the Docker daemon|error during connect/i;
/** 0, or SIGINT/SIGTERM as `docker stop` sends them */
const CLEAN_EXIT = [0, 130, 143];
const NO_SUCH = /No such (object|container)/i;

export interface DockerOptions {
  container: string;
  logger: Logger;
  env?: Env;
}

interface ContainerState {
  Status?: string;
  Running?: boolean;
  Restarting?: boolean;
  OOMKilled?: boolean;
  Pid?: number;
  ExitCode?: number;
  Error?: string;
  Health?: { Status?: string };
}

/** A container that already exists (created by compose or by hand), started and stopped by name. */
export class DockerEngine implements Engine {
  readonly kind = 'docker' as const;

  constructor(private readonly opts: DockerOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    await this.act('start', signal);
  }

  async stop(signal: AbortSignal): Promise<void> {
    await this.act('stop', signal);
  }

  async state(signal?: AbortSignal): Promise<EngineState> {
    const result = await this.docker(['inspect', '--format', '{{json .State}}', this.opts.container], signal);
    if (result.missing) return { state: 'unknown', pids: [], detail: 'docker not available' };
    if (NO_DAEMON.test(result.stderr)) return { state: 'unknown', pids: [], detail: 'docker daemon not reachable' };
    if (NO_SUCH.test(result.stderr)) return { state: 'unknown', pids: [], detail: `container ${this.opts.container} does not exist` };
    if (result.exitCode !== 0) return { state: 'unknown', pids: [], detail: `docker inspect failed: ${said(result)}` };
    return fromState(JSON.parse(result.stdout) as ContainerState);
  }

  /** The container's stdout and stderr interleaved by docker's own timestamps. */
  async logs(lines: number, signal?: AbortSignal): Promise<string[]> {
    const n = Math.max(1, Math.floor(lines));
    const result = await this.docker(['logs', '--tail', String(n), '--timestamps', this.opts.container], signal);
    if (result.exitCode !== 0) return [];
    return [...outputLines(result.stdout), ...outputLines(result.stderr)].sort().slice(-n);
  }

  private async act(verb: 'start' | 'stop', signal: AbortSignal): Promise<void> {
    this.opts.logger.info({ container: this.opts.container }, `docker ${verb}`);
    const result = await this.docker([verb, this.opts.container], signal, verb === 'stop' ? 60_000 : 120_000);
    if (result.missing) throw unavailableError(`docker is not available on this host, so ${this.opts.container} cannot be managed.`);
    if (NO_DAEMON.test(result.stderr)) throw unavailableError(`The docker daemon is not reachable: ${said(result)}`);
    if (result.exitCode !== 0) throw failedError(`docker ${verb} ${this.opts.container} failed: ${said(result)}`);
  }

  private docker(args: string[], signal: AbortSignal | undefined, timeoutMs = QUERY_TIMEOUT): Promise<RunResult> {
    return run('docker', args, { signal, timeoutMs, env: this.opts.env });
  }
}

async function fromState(s: ContainerState): Promise<EngineState> {
  const pids = s.Pid && s.Pid > 0 ? await processTree([s.Pid]) : [];
  if (s.Restarting) return { state: 'starting', pids, detail: `restarting (exit code ${s.ExitCode ?? '?'})` };
  if (s.Running) return s.Health?.Status === 'starting' ? { state: 'starting', pids } : { state: 'running', pids };
  if (s.OOMKilled) return { state: 'failed', pids: [], detail: 'killed: out of memory' };
  const code = s.ExitCode ?? 0;
  if (code === 137) return { state: 'stopped', pids: [], detail: 'killed (SIGKILL)' };
  if (!CLEAN_EXIT.includes(code) && s.Status !== 'created') return { state: 'failed', pids: [], detail: `exited with ${code}` };
  return { state: 'stopped', pids: [], ...(s.Status && s.Status !== 'exited' ? { detail: s.Status } : {}) };
}
