import { failedError, unavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { run } from '../process/spawn.js';
import { outputLines, said, type Env } from './command.js';
import type { Engine, EngineState } from './engine.js';
import { processTree, type ProcessList } from '../host/proc.js';

const QUERY_TIMEOUT = 10_000;
const SHOWN = 'Id,LoadState,ActiveState,SubState,MainPID,ExecMainStatus';
/** systemd's default TimeoutStopSec is 90 s; systemctl waits for it */
const STOP_TIMEOUT = 120_000;
const NO_SYSTEMD = /Failed to connect to (user scope )?bus|System has not been booted with systemd|\$DBUS_SESSION_BUS_ADDRESS/;

export interface SystemdOptions {
  unit: string;
  logger: Logger;
  env?: Env;
  /** how long `systemctl start` may block (Type=notify units return when ready) */
  startTimeoutMs?: number;
}

/** A systemd user unit, driven with `systemctl --user` and read with `journalctl --user`. */
export class SystemdEngine implements Engine {
  readonly kind = 'systemd' as const;
  readonly unit: string;

  constructor(private readonly opts: SystemdOptions) {
    this.unit = opts.unit;
  }

  async start(signal: AbortSignal): Promise<void> {
    await this.act('start', signal, this.opts.startTimeoutMs ?? 120_000);
  }

  async stop(signal: AbortSignal): Promise<void> {
    await this.act('stop', signal, STOP_TIMEOUT);
  }

  async state(signal?: AbortSignal): Promise<EngineState> {
    return (await unitStates([this.unit], { signal, env: this.opts.env })).get(this.unit)!;
  }

  async logs(lines: number, signal?: AbortSignal): Promise<string[]> {
    const result = await run(
      'journalctl',
      ['--user', '-u', this.unit, '-n', String(Math.max(1, Math.floor(lines))), '--no-pager', '-o', 'short-iso'],
      { signal, timeoutMs: QUERY_TIMEOUT, env: this.opts.env },
    );
    if (result.missing || result.exitCode !== 0) return [];
    return outputLines(result.stdout).filter((line) => !line.startsWith('-- '));
  }

  /** Whether the unit starts at boot (`enabled` or `enabled-runtime`); `static` and the rest are not. */
  async isEnabled(signal?: AbortSignal): Promise<boolean> {
    const result = await this.systemctl(['is-enabled', this.unit], signal, QUERY_TIMEOUT);
    this.assertAvailable(result);
    const state = result.stdout.trim();
    if (result.exitCode !== 0 && state === '') throw failedError(`systemctl --user is-enabled ${this.unit} failed: ${said(result)}`);
    return state === 'enabled' || state === 'enabled-runtime';
  }

  /** Stops the unit from starting at boot; returns what systemctl said ("Removed …"). */
  async disable(signal?: AbortSignal): Promise<string[]> {
    const result = await this.systemctl(['disable', this.unit], signal, QUERY_TIMEOUT);
    this.assertAvailable(result);
    if (result.exitCode !== 0) throw failedError(`systemctl --user disable ${this.unit} failed: ${said(result)}`);
    return outputLines(`${result.stdout}\n${result.stderr}`);
  }

  private async act(verb: 'start' | 'stop', signal: AbortSignal, timeoutMs: number): Promise<void> {
    this.opts.logger.info({ unit: this.unit }, `systemctl --user ${verb}`);
    const result = await this.systemctl([verb, this.unit], signal, timeoutMs);
    this.assertAvailable(result);
    if (result.exitCode !== 0) {
      throw failedError(`systemctl --user ${verb} ${this.unit} failed: ${said(result)}`, `Its log: journalctl --user -u ${this.unit}`);
    }
  }

  private systemctl(args: string[], signal: AbortSignal | undefined, timeoutMs: number) {
    return run('systemctl', ['--user', ...args], { signal, timeoutMs, env: this.opts.env });
  }

  private unavailable(result: { missing: boolean; stderr: string }): boolean {
    return result.missing || NO_SYSTEMD.test(result.stderr);
  }

  private assertAvailable(result: { missing: boolean; stderr: string }): void {
    if (this.unavailable(result)) {
      throw unavailableError(`systemd is not available on this host, so ${this.unit} cannot be managed.`, 'Is the worker running under a systemd user session (loginctl enable-linger)?');
    }
  }
}

/** `Key=value` lines as `systemctl show` prints them. */
export function parseProperties(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return props;
}

/**
 * The state of many units from ONE `systemctl --user show u1 u2 … -p …` (systemctl prints each unit's
 * properties in argument order, separated by a blank line). `procs`: a process list shared by a pass.
 */
export async function unitStates(
  units: readonly string[],
  opts: { signal?: AbortSignal | undefined; env?: Env | undefined; procs?: ProcessList } = {},
): Promise<Map<string, EngineState>> {
  const out = new Map<string, EngineState>();
  if (units.length === 0) return out;
  const result = await run('systemctl', ['--user', 'show', ...units, '-p', SHOWN], { signal: opts.signal, timeoutMs: QUERY_TIMEOUT, env: opts.env });
  const failed = (detail: string) => new Map(units.map((u) => [u, { state: 'unknown' as const, pids: [], detail }]));
  if (result.missing || NO_SYSTEMD.test(result.stderr)) return failed('systemd not available');
  const blocks = result.stdout.split(/\n\s*\n/).map(parseProperties);
  if (result.exitCode !== 0 || blocks.length < units.length) return failed(`systemctl show failed: ${said(result)}`);
  for (const [i, unit] of units.entries()) out.set(unit, await stateOf(unit, blocks[i]!, opts.procs));
  return out;
}

async function stateOf(unit: string, props: Record<string, string>, procs: ProcessList | undefined): Promise<EngineState> {
  const mainPid = Number(props.MainPID ?? 0);
  const shared = mainPid > 0 && procs ? await procs() : undefined;
  const pids = mainPid > 0 ? await processTree([mainPid], undefined, shared?.some((p) => p.pid === mainPid) ? shared : undefined) : [];
  const status = props.ExecMainStatus ?? '0';
  if (props.LoadState === 'not-found') return { state: 'unknown', pids: [], detail: `unit ${unit} is not installed` };
  switch (props.ActiveState) {
    case 'active':
    case 'reloading':
      return props.SubState === 'running' || props.SubState === 'reload'
        ? { state: 'running', pids }
        : { state: 'stopped', pids, detail: `active (${props.SubState}), no process running` };
    case 'activating':
      return { state: 'starting', pids, ...(props.SubState === 'auto-restart' ? { detail: `restarting after exit status ${status}` } : {}) };
    case 'deactivating':
      return { state: 'running', pids, detail: 'stopping' };
    case 'failed':
      return { state: 'failed', pids, detail: `exited with ${status}` };
    case 'inactive':
      return { state: 'stopped', pids };
    default:
      return { state: 'unknown', pids, detail: `ActiveState=${props.ActiveState ?? '?'}` };
  }
}
