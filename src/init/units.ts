import { parseProperties } from '../engines/systemd.js';
import { run } from '../process/spawn.js';
import { splitShellWords } from './command-line.js';

/** A systemd user unit as `systemctl --user show` describes it. */
export interface UserUnit {
  id: string;
  /** ExecStart's argv (the last ExecStart= when there are several) */
  argv: string[];
  activeState: string;
  unitFileState: string;
  mainPid: number;
  fragmentPath: string;
  environment: Record<string, string>;
  workingDirectory: string;
}

export type UnitsFound = { available: true; units: UserUnit[]; problems: string[] } | { available: false; reason: string };

/** Asked of every unit, in one `systemctl --user show` per batch. */
export const UNIT_PROPERTIES = ['Id', 'ExecStart', 'ActiveState', 'UnitFileState', 'MainPID', 'FragmentPath', 'Environment', 'WorkingDirectory'];
const BATCH = 64;
const TIMEOUT_MS = 15_000;
const NO_SYSTEMD = /Failed to connect to (user scope )?bus|System has not been booted with systemd|\$DBUS_SESSION_BUS_ADDRESS/;
const UNIT_NAME = /^[A-Za-z0-9][A-Za-z0-9@._:\\-]*\.service$/;

/**
 * The user's service units: `systemctl --user list-unit-files --type=service`, then their
 * properties in batches (one `show` per batch of units). Template units (`name@.service`) have no
 * command line of their own and are left out.
 */
export async function readUserUnits(opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<UnitsFound> {
  const systemctl = (args: string[]) => run('systemctl', ['--user', ...args], { env: opts.env, signal: opts.signal, timeoutMs: TIMEOUT_MS });
  const listed = await systemctl(['list-unit-files', '--type=service', '--no-legend', '--no-pager']);
  if (listed.missing) return { available: false, reason: 'systemctl is not installed' };
  if (NO_SYSTEMD.test(listed.stderr)) return { available: false, reason: 'no systemd user session (is this a login session, or is lingering on?)' };
  if (listed.exitCode !== 0) return { available: false, reason: `systemctl --user list-unit-files failed: ${firstLine(listed.stderr || listed.stdout) || `exit ${listed.exitCode}`}` };

  const names = parseUnitFileList(listed.stdout).filter((name) => !name.includes('@.'));
  const units: UserUnit[] = [];
  const problems: string[] = [];
  for (let i = 0; i < names.length; i += BATCH) {
    const batch = names.slice(i, i + BATCH);
    const shown = await systemctl(['show', '-p', UNIT_PROPERTIES.join(','), '--no-pager', ...batch]);
    if (shown.exitCode !== 0) {
      problems.push(`systemctl --user show ${batch.length > 1 ? `(${batch.length} units)` : batch[0]} failed: ${firstLine(shown.stderr) || `exit ${shown.exitCode}`}`);
      continue;
    }
    units.push(...parseShowOutput(shown.stdout, batch));
  }
  return { available: true, units, problems };
}

/** Unit names of `list-unit-files --no-legend` (a legend, if printed anyway, is skipped). */
export function parseUnitFileList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => UNIT_NAME.test(name));
}

/**
 * `show` of several units prints each unit's properties, in argument order, separated by a blank
 * line. Each block is matched by its `Id`, else by its place.
 */
export function parseShowOutput(text: string, asked: readonly string[]): UserUnit[] {
  const blocks = text.split(/\n[ \t]*\n/).filter((b) => b.trim() !== '');
  return blocks.map((block, i) => {
    const props = parseProperties(block);
    const execStarts = block.split('\n').filter((l) => l.startsWith('ExecStart='));
    return {
      id: props.Id || asked[i] || `unit-${i}`,
      argv: parseExecStart(execStarts.at(-1)?.slice('ExecStart='.length) ?? ''),
      activeState: props.ActiveState ?? 'unknown',
      unitFileState: props.UnitFileState ?? '',
      mainPid: Number(props.MainPID ?? 0) || 0,
      fragmentPath: props.FragmentPath ?? '',
      environment: parseEnvironment(props.Environment ?? ''),
      workingDirectory: (props.WorkingDirectory ?? '').replace(/^!+/, ''),
    };
  });
}

/**
 * systemd prints ExecStart as `{ path=/usr/bin/x ; argv[]=/usr/bin/x --port 8080 ; ignore_errors=no ; … }`
 * (newer releases: `flags=` instead of `ignore_errors=`); argv[] is the words joined by spaces.
 */
export function parseExecStart(value: string): string[] {
  const m = /argv\[\]=(.*?) ; (?:ignore_errors|flags)=/.exec(value);
  if (m) return splitShellWords(m[1]!).filter((w) => w !== ';' && w !== '&' && w !== '|');
  const path = /path=(\S+)/.exec(value);
  return path ? [path[1]!] : [];
}

/** `A=1 B="two words"` as systemd prints Environment=. */
export function parseEnvironment(value: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of splitShellWords(value)) {
    const eq = word.indexOf('=');
    if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
